// net/http_error.hpp — an error that becomes an API.md error body:
// {"error": message, "code": code, "details": [...]}. Handlers throw it; the router
// turns it into the response. Anything else thrown becomes 500 INTERNAL.
#pragma once

#include <boost/json/array.hpp>
#include <stdexcept>
#include <string>

#include "net/http.hpp"

namespace net {

class http_error : public std::runtime_error {
public:
    http_error(http::status status, std::string code, std::string message, boost::json::array details = {})
        : std::runtime_error(message), status_(status), code_(std::move(code)), details_(std::move(details)) {}

    http::status status() const noexcept { return status_; }
    const std::string& code() const noexcept { return code_; }
    const boost::json::array& details() const noexcept { return details_; }

    // Extra headers for the response (Retry-After on 503, Allow on 405).
    std::vector<std::pair<std::string, std::string>> headers;

private:
    http::status status_;
    std::string code_;
    boost::json::array details_;
};

}  // namespace net
