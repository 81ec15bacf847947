#include "domain/health/health.hpp"

#include <boost/json/object.hpp>
#include <pgcoro/timeout.hpp>

#include "net/json_response.hpp"

namespace domain {

namespace {

boost::json::object pool_json(const pgcoro::pool_stats& s) {
    return {{"total", s.total},       {"idle", s.idle},
            {"in_use", s.in_use},     {"waiting", s.waiting},
            {"max", s.max},           {"acquire_count", s.acquire_count},
            {"acquire_timeouts", s.acquire_timeouts}};
}

}  // namespace

void register_health(net::router& r, services& svc) {
    // Not through domain::route: a failing database is an answer here, not an error.
    r.add(net::http::verb::get, "/health", [&svc](net::request_context& ctx) -> boost::asio::awaitable<net::response> {
        auto start = std::chrono::steady_clock::now();
        bool up = true;
        try {
            co_await pgcoro::with_timeout(svc.pool(ctx.worker).read_query("SELECT 1"), std::chrono::seconds(2));
        } catch (const std::exception&) {
            up = false;
        }
        auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        boost::json::object database;
        if (up) {
            database = {{"status", "up"}, {"latency_ms", static_cast<std::int64_t>(ms + 0.5)}};
        } else {
            database = {{"status", "down"}, {"error", "database unreachable"}};
        }
        boost::json::object body{{"status", up ? "healthy" : "unhealthy"},
                                 {"checks",
                                  {{"database", database},
                                   {"pool", pool_json(svc.pool_stats())},
                                   {"cluster", {{"status", "single-node"}}}}}};
        auto res = net::json_body(up ? net::http::status::ok : net::http::status::service_unavailable, body);
        if (!up) res.set("Retry-After", "1");
        co_return res;
    });
}

}  // namespace domain
