#include "net/router.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/container/small_vector.hpp>
#include <cstdio>

#include "net/json_response.hpp"
#include "net/log.hpp"

namespace net {

namespace {

// On the stack for the paths this API has (a few segments): no allocation per request.
using segments = boost::container::small_vector<std::string_view, 8>;

segments split_path(std::string_view p) {
    segments out;
    std::size_t i = 0;
    while (i < p.size()) {
        if (p[i] == '/') { ++i; continue; }
        auto j = p.find('/', i);
        if (j == std::string_view::npos) j = p.size();
        out.push_back(p.substr(i, j - i));
        i = j;
    }
    return out;
}

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::string percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') out += ' ';
        else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else out += s[i];
    }
    return out;
}

std::string_view request_context::param(std::string_view name) const {
    for (auto& [k, v] : params)
        if (k == name) return v;
    return {};
}

std::optional<std::string> request_context::query_param(std::string_view name) const {
    std::string_view q = query;
    while (!q.empty()) {
        auto amp = q.find('&');
        auto pair = q.substr(0, amp);
        auto eq = pair.find('=');
        auto key = pair.substr(0, eq);
        if (percent_decode(key) == name)
            return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
        if (amp == std::string_view::npos) break;
        q.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

void router::add(http::verb method, std::string pattern, handler h) {
    route r{method, pattern, {}, std::move(h)};
    for (auto s : split_path(pattern)) r.segments.emplace_back(s);
    routes_.push_back(std::move(r));
}

boost::asio::awaitable<response> router::dispatch(request_context& ctx) const {
    auto parts = split_path(ctx.path);
    std::string allow;
    const route* match = nullptr;
    for (auto& r : routes_) {
        if (r.segments.size() != parts.size()) continue;
        bool ok = true;
        for (std::size_t i = 0; i < parts.size() && ok; ++i) {
            auto& seg = r.segments[i];
            if (!(seg.size() > 1 && seg.front() == '{' && seg.back() == '}')) ok = seg == parts[i];
        }
        if (!ok) continue;
        if (r.method == ctx.req.method()) {
            match = &r;
            break;
        }
        if (!allow.empty()) allow += ", ";
        allow += std::string(http::to_string(r.method));
    }
    if (!match) {
        if (allow.empty()) co_return error_response(http::status::not_found, "NOT_FOUND", "no such route");
        http_error e(http::status::method_not_allowed, "METHOD_NOT_ALLOWED", "method not allowed on this route");
        e.headers.emplace_back("Allow", allow);
        co_return error_response(e);
    }
    ctx.route = match->pattern;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        auto& seg = match->segments[i];
        if (seg.front() == '{') ctx.params.emplace_back(std::string_view(seg).substr(1, seg.size() - 2), parts[i]);
    }
    // Read before the handler runs: whether a failure is the server cancelling the handler
    // (request deadline, shutdown) or a real error decides how loudly it is logged.
    auto cancellation = co_await boost::asio::this_coro::cancellation_state;
    try {
        co_return co_await match->h(ctx);
    } catch (const http_error& e) {
        co_return error_response(e);
    } catch (const std::exception& e) {
        if (cancellation.cancelled() != boost::asio::cancellation_type::none)
            log::debug("request {} {} cancelled: {}", ctx.request_id, ctx.route, e.what());
        else
            log::error("request {} {} failed: {}", ctx.request_id, ctx.route, e.what());
    } catch (...) {
        log::error("request {} {} failed with a non-standard exception", ctx.request_id, ctx.route);
    }
    co_return error_response(http::status::internal_server_error, "INTERNAL", "internal server error");
}

}  // namespace net
