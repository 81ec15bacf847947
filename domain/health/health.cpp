#include "domain/health/health.hpp"

#include <boost/json/object.hpp>

#include "domain/health/probe.hpp"
#include "net/json_response.hpp"

namespace domain {

namespace {

using clock_type = std::chrono::steady_clock;

// How recent an answer on a pool connection must be to vouch for the database.
constexpr auto trust_answers_for = std::chrono::seconds(1);
// A probe's limit: an unreachable database is reported well within 2 s.
constexpr auto probe_limit = std::chrono::milliseconds(1500);

boost::json::object pool_json(const pgcoro::pool_stats& s) {
    return {{"total", s.total},
            {"idle", s.idle},
            {"in_use", s.in_use},
            {"waiting", s.waiting},
            {"max", s.max},
            {"acquire_count", s.acquire_count},
            {"acquire_timeouts", s.acquire_timeouts},
            {"acquire_rejections", s.acquire_rejections},
            // Every connection busy and callers queued: requests wait (and, past the
            // acquire timeout, get 503 OVERLOADED), yet the database is up.
            {"saturated", s.in_use >= s.max && s.waiting > 0}};
}

std::int64_t rounded_ms(std::chrono::microseconds d) { return (d.count() + 500) / 1000; }

}  // namespace

void register_health(net::router& r, services& svc) {
    // Public (access::anyone: load balancers poll it without a token). Not through
    // domain::route: a failing database is an answer here, not an error.
    r.add(net::http::verb::get, "/health", [&svc](net::request_context& ctx) -> boost::asio::awaitable<net::response> {
        using net::http::status;
        auto pools = svc.pool_stats();
        boost::json::object checks{{"pool", pool_json(pools)}, {"cluster", {{"status", "single-node"}}}};
        if (svc.draining.load(std::memory_order_relaxed)) {
            // First in a shutdown: a load balancer stops sending here before connections close.
            checks["database"] = {{"status", "not_checked"}};
            auto res = net::json_body(status::service_unavailable,
                                      boost::json::object{{"status", "draining"}, {"checks", std::move(checks)}});
            res.set("Retry-After", "1");
            co_return res;
        }

        auto& probe = *svc.probes.at(ctx.worker);
        const auto now = clock_type::now();
        const bool vouched = pools.last_answer > pools.last_failure && now - pools.last_answer < trust_answers_for;
        boost::json::object database;
        bool up = true;
        if (vouched) {
            auto last = probe.last();
            database = {{"status", "up"},
                        {"latency_ms", last && last->up ? rounded_ms(last->latency) : 0},
                        {"checked", "pool"}};
        } else {
            auto out = co_await probe.check(probe_limit);
            up = out.up;
            if (up) database = {{"status", "up"}, {"latency_ms", rounded_ms(out.latency)}, {"checked", "probe"}};
            else database = {{"status", "down"}, {"error", "database unreachable"}};
        }
        checks["database"] = std::move(database);
        auto res = net::json_body(up ? status::ok : status::service_unavailable,
                                  boost::json::object{{"status", up ? "healthy" : "unhealthy"}, {"checks", std::move(checks)}});
        if (!up) res.set("Retry-After", "1");
        co_return res;
    });
}

}  // namespace domain
