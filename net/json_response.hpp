// net/json_response.hpp — the one way to build JSON responses and to read JSON bodies.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "net/http.hpp"
#include "net/http_error.hpp"

namespace net {

// {"data": data} with the given status (most handlers).
response json_data(http::status status, boost::json::value data);
// The value as the whole body (health, and lists with next_cursor).
response json_body(http::status status, const boost::json::value& body);
// The API.md error body for an http_error.
response error_response(const http_error& e);
response error_response(http::status status, std::string_view code, std::string_view message);

// Parses the request body as a JSON object. Throws http_error: 415 when the
// Content-Type is not application/json, 400 MALFORMED_JSON when the body is empty, not
// JSON, too deep, or not an object. Numbers with a fraction or an exponent arrive as
// their exact source text (a JSON string), so decimals never pass through a double.
boost::json::object parse_json_object(const request& req);

}  // namespace net
