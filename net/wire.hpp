// net/wire.hpp — a response as bytes on the wire. The server writes responses itself
// rather than through Beast's serializer: one contiguous append into the connection's
// output buffer, so answers to pipelined requests share one send() and nothing is
// allocated per header.
#pragma once

#include <string>
#include <string_view>

#include "net/http.hpp"

namespace net {

// What the server adds to every response besides the handler's own headers (and Server,
// X-Content-Type-Options: nosniff, which are the same for all).
struct wire_headers {
    std::string_view date;        // IMF-fixdate
    std::string_view request_id;  // X-Request-Id
    bool keep_alive = true;       // false: Connection: close
    bool http10_client = false;   // keep-alive must then be said out loud
    bool head = false;            // HEAD: the headers of the GET answer, no body
};

// Appends `res` as an HTTP/1.1 response. Content-Length is computed from the body
// (absent for 1xx, 204 and 304, which have no body); any Content-Length, Connection or
// Transfer-Encoding the handler set is replaced.
void append_response(std::string& out, const response& res, const wire_headers& extra);

}  // namespace net
