// test/fuzz/http_fuzz_target.hpp — one input through everything the server does with
// untrusted bytes before a domain handler's own logic: Beast's request parser with the
// server's limits (fed in two pieces, as a network would), the router (templates with
// parameters, 404/405, query parameters, percent-decoding) and the JSON body parser
// (net::parse_json_object, also run on the raw input so JSON is fuzzed directly), and
// the response written as the server writes it (net/wire.hpp), which must read back whole;
// and the first steps of every protected route on its untrusted headers (domain/auth):
// the bearer token of Authorization, and the client address of X-Forwarded-For.
//
// Shared by the libFuzzer target (http_fuzz.cpp, clang, scripts/fuzz) and the regression
// test that replays saved inputs in the normal build (test/net/fuzz_regressions_test.cpp).
// It must not crash, hang, leak or trip a sanitizer on any input.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/json/serialize.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include "domain/auth/client_address.hpp"
#include "domain/auth/tokens.hpp"
#include "net/json_response.hpp"
#include "net/log.hpp"
#include "net/router.hpp"
#include "net/wire.hpp"

namespace fuzz {

// Handlers that use what a real one does: parameters, query parameters, the JSON body.
inline boost::asio::awaitable<net::response> echo_handler(net::request_context& ctx) {
    boost::json::object out;
    for (auto& [k, v] : ctx.params) out[std::string(k)] = std::string(v);
    for (auto* q : {"limit", "cursor", "q", ""})
        if (auto v = ctx.query_param(q)) out[std::string("query_") + q] = *v;
    if (ctx.req.method() != net::http::verb::get) out["body"] = net::parse_json_object(ctx.req);
    co_return net::json_data(net::http::status::ok, std::move(out));
}

inline const net::router& router() {
    static const net::router r = [] {
        net::router r;
        using net::http::verb;
        r.add(verb::get, "/health", echo_handler);
        r.add(verb::get, "/users", echo_handler);
        r.add(verb::post, "/users", echo_handler);
        r.add(verb::get, "/users/{id}", echo_handler);
        r.add(verb::patch, "/users/{id}", echo_handler);
        r.add(verb::delete_, "/users/{id}", echo_handler);
        r.add(verb::patch, "/orders/{id}/status", echo_handler);
        r.add(verb::put, "/inventory/{product_id}", echo_handler);
        r.add(verb::get, "/accounts/{id}/transfers", echo_handler);
        r.add(verb::get, "/a/{x}/b/{y}", echo_handler);
        return r;
    }();
    return r;
}

// The server's limits (net::server_options defaults).
constexpr std::uint32_t header_limit = 16 * 1024;
constexpr std::uint64_t body_limit = 1024 * 1024;

inline void json_only(std::string_view input) {
    net::request req{net::http::verb::post, "/", 11};
    req.set(net::http::field::content_type, "application/json; charset=utf-8");
    req.body() = input;
    try {
        auto o = net::parse_json_object(req);
        (void)boost::json::serialize(o);
    } catch (const net::http_error&) {  // 400 MALFORMED_JSON: the expected refusal
    }
}

// What domain/auth/access.cpp and login.cpp read from a request before any database.
inline void auth_headers(const net::request& req) {
    if (auto token = domain::bearer_token(req[net::http::field::authorization])) {
        // Only the shape make_token() gives gets this far, and its hash is 64 hex digits.
        if (token->size() != 43 || domain::token_hash(*token).size() != 64) std::terminate();
    }
    static const auto proxies = domain::trusted_proxies::parse("127.0.0.1/32, ::1, 10.0.0.0/8, fd00::/8");
    auto client = proxies->client("127.0.0.1", req["X-Forwarded-For"]);
    if (client.empty()) std::terminate();
    (void)proxies->client("203.0.113.9", req["X-Forwarded-For"]);
}

inline void parse_and_route(std::string_view input, std::size_t split) {
    net::http::request_parser<net::http::string_body> parser;
    parser.header_limit(header_limit);
    parser.body_limit(body_limit);
    parser.eager(true);
    std::string buffered;  // what a session's flat_buffer would hold
    auto feed = [&](std::string_view piece) {
        // Like Beast's read operations: put() again only once more bytes have arrived.
        if (piece.empty()) return true;
        buffered.append(piece);
        while (!parser.is_done() && !buffered.empty()) {
            boost::system::error_code ec;
            auto n = parser.put(boost::asio::buffer(buffered), ec);
            buffered.erase(0, n);
            if (ec == net::http::error::need_more) return true;
            if (ec) return false;
            if (n == 0) return true;
        }
        return true;
    };
    if (!feed(input.substr(0, split)) || !feed(input.substr(split))) return;
    if (!parser.is_done()) {
        // The end of the stream, as Beast's read operations report it: put_eof() only
        // after some bytes (it asserts so), else the stream simply ended.
        if (!parser.got_some()) return;
        boost::system::error_code ec;
        parser.put_eof(ec);
        if (ec || !parser.is_done()) return;
    }
    net::request req = parser.release();
    auth_headers(req);

    // Routing as the server does it.
    std::string_view target = req.target();
    auto q = target.find('?');
    net::request_context ctx{req,
                             target.substr(0, q),
                             q == std::string_view::npos ? std::string_view{} : target.substr(q + 1),
                             {},
                             "fuzz",
                             0,
                             {}};
    static boost::asio::io_context ioc;
    std::exception_ptr failure;
    net::response res;
    boost::asio::co_spawn(ioc, router().dispatch(ctx), [&](std::exception_ptr e, net::response r) {
        failure = e;
        res = std::move(r);
    });
    ioc.restart();
    ioc.run();
    // dispatch() turns every handler failure into a response: anything escaping is a bug.
    if (failure) std::rethrow_exception(failure);
    if (res.result_int() < 200 || res.result_int() > 599) std::terminate();

    // The response as the server writes it reads back whole, with the same body.
    std::string wire;
    net::append_response(wire, res, {"Thu, 01 Jan 2026 00:00:00 GMT", "fuzz", req.keep_alive(), req.version() < 11, false});
    net::http::response_parser<net::http::string_body> back;
    back.eager(true);
    back.body_limit(boost::none);
    boost::system::error_code ec;
    auto used = back.put(boost::asio::buffer(wire), ec);
    if (ec || !back.is_done() || used != wire.size() || back.get().body() != res.body()) std::terminate();
}

inline void run_one(const std::uint8_t* data, std::size_t size) {
    net::log::set_level(net::log::level::off);  // handler failures are logged; not here
    std::string_view input(reinterpret_cast<const char*>(data), size);
    json_only(input);
    // The first byte picks where the network splits the input.
    std::size_t split = size ? data[0] % (size + 1) : 0;
    parse_and_route(input, split);
}

}  // namespace fuzz
