// net/router.hpp — method + path templates ("/users/{id}") to coroutine handlers.
// Unknown paths answer 404 NOT_FOUND; a known path with another method answers 405
// METHOD_NOT_ALLOWED with an Allow header.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/container/small_vector.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http.hpp"

namespace net {

// What a handler gets: the request, the path parameters, the query string, and the
// worker (event loop) it runs on, to find that worker's resources.
struct request_context {
    const request& req;
    std::string_view path;   // without the query string
    std::string_view query;  // after '?', still percent-encoded
    // Path parameters by name; held inline (no allocation) up to 4.
    boost::container::small_vector<std::pair<std::string_view, std::string_view>, 4> params;
    std::string request_id;
    std::size_t worker = 0;
    std::string_view route;  // the matched template ("/users/{id}"), empty when none; for metrics and logs
    // The connection's socket, for peer_address() (set by the server; null in tests that
    // build a context by hand).
    const void* connection = nullptr;
    std::string (*peer_of)(const void* connection) = nullptr;

    // The address of the client's end of the connection ("203.0.113.7"), empty when
    // unknown. Costs a system call: for the few handlers that need it.
    std::string peer_address() const { return peer_of ? peer_of(connection) : std::string(); }
    std::string_view param(std::string_view name) const;
    // A query parameter, percent-decoded; nullopt when absent.
    std::optional<std::string> query_param(std::string_view name) const;
};

using handler = std::function<boost::asio::awaitable<response>(request_context&)>;

class router {
public:
    void add(http::verb method, std::string pattern, handler h);

    // Finds the handler and runs it; errors thrown become error responses (http_error
    // as described, anything else 500 INTERNAL, logged).
    boost::asio::awaitable<response> dispatch(request_context& ctx) const;

private:
    struct route {
        http::verb method;
        std::string pattern;
        std::vector<std::string> segments;
        handler h;
    };
    std::vector<route> routes_;
};

std::string percent_decode(std::string_view s);

}  // namespace net
