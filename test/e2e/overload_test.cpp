// e2e: overload is not outage, health cannot be starved, drain comes first, and slow
// statements are counted and logged without their parameters. Against the server binary
// with its test routes (/debug/db_sleep runs pg_sleep through the pool).
#define BOOST_TEST_MODULE e2e_overload
#include <boost/test/unit_test.hpp>

#include <boost/json/parse.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "net/prometheus_text.hpp"
#include "support/pg_env.hpp"
#include "support/server_process.hpp"

using namespace test_support;
using net::http::verb;
using clock_type = std::chrono::steady_clock;

namespace {

std::string code_of(const net::response& r) {
    return std::string(boost::json::parse(r.body()).at("code").as_string());
}

std::string status_of(const net::response& r) {
    return std::string(boost::json::parse(r.body()).at("status").as_string());
}

std::chrono::milliseconds since(clock_type::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_full_pool_answers_503_overloaded_and_health_stays_200) {
    // One connection: a transaction sleeping in the database holds all of it.
    server_process srv(PGCORO_SERVER_BIN, {{"DATABASE_URL", database_url()},
                                           {"WORKERS", "1"},
                                           {"DB_POOL_MAX", "1"},
                                           {"PGCORO_TEST_ROUTES", "1"}});
    auto hold = [&](int ms) {
        return std::async(std::launch::async, [&, ms] {
            return http_request(srv.port(), verb::get, "/debug/db_sleep?tx=1&ms=" + std::to_string(ms));
        });
    };
    // Untimed: the first API request also starts the OpenAPI validating proxy, when the
    // run has one (test/support/openapi_proxy.hpp), which takes a second or two.
    BOOST_TEST_REQUIRE(http_request(srv.port(), verb::get, "/health").result_int() == 200u);

    // 1. The second transaction waits the whole acquire timeout (2 s), then: overload.
    auto first = hold(3000);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // lets the first take the connection (not a race fix: the test asserts on what follows)
    auto t0 = clock_type::now();
    auto second = http_request(srv.port(), verb::get, "/debug/db_sleep?tx=1&ms=1");
    BOOST_TEST(second.result_int() == 503);
    BOOST_TEST(code_of(second) == "OVERLOADED");
    BOOST_TEST(second["Retry-After"] == "1");
    BOOST_TEST(since(t0).count() >= 1500);

    // Meanwhile /health answers at once, 200: the database is up, the pool saturated.
    t0 = clock_type::now();
    auto health = http_request(srv.port(), verb::get, "/health");
    BOOST_TEST(health.result_int() == 200);
    BOOST_TEST(since(t0).count() < 1000);
    auto body = boost::json::parse(health.body());
    BOOST_TEST(body.at("checks").at("database").at("status").as_string() == "up");
    BOOST_TEST(first.get().result_int() == 200);

    // 2. Now the pool knows a transaction holds its connection ~3 s: a caller that could
    // not be served within the acquire timeout is refused at once, not after 2 s.
    auto third = hold(3000);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    t0 = clock_type::now();
    auto refused = http_request(srv.port(), verb::get, "/debug/db_sleep?tx=1&ms=1");
    BOOST_TEST(refused.result_int() == 503);
    BOOST_TEST(code_of(refused) == "OVERLOADED");
    BOOST_TEST(since(t0).count() < 500);
    BOOST_TEST(third.get().result_int() == 200);

    auto m = prom::scrape(srv.port());
    BOOST_TEST(m.value("pgcoro_pool_acquire_timeouts_total") == 2);
    BOOST_TEST(m.value("pgcoro_pool_acquire_rejections_total") == 1);
}

BOOST_AUTO_TEST_CASE(a_slow_statement_is_counted_and_logged_once_without_its_parameters) {
    server_process srv(PGCORO_SERVER_BIN,
                       {{"DATABASE_URL", database_url()}, {"WORKERS", "1"}, {"PGCORO_TEST_ROUTES", "1"}});
    auto before = prom::scrape(srv.port());
    BOOST_TEST(before.value("pgcoro_slow_queries_total", {{"kind", "autocommit"}}) == 0);
    BOOST_TEST(http_request(srv.port(), verb::get, "/debug/db_sleep?ms=200&tag=secret-7f3a").result_int() == 200);
    BOOST_TEST(http_request(srv.port(), verb::get, "/debug/db_sleep?ms=1&tag=quick").result_int() == 200);

    auto after = prom::scrape(srv.port());
    BOOST_TEST(after.value("pgcoro_slow_queries_total", {{"kind", "autocommit"}}) == 1);
    BOOST_TEST(after.value("pgcoro_queries_duration_seconds_count", {{"kind", "autocommit"}}) >=
               before.value("pgcoro_queries_duration_seconds_count", {{"kind", "autocommit"}}) + 2);
    // The 0.2 s statement sits in the buckets above 0.1 s.
    BOOST_TEST(after.value("pgcoro_queries_duration_seconds_bucket", {{"kind", "autocommit"}, {"le", "0.1"}}) <
               after.value("pgcoro_queries_duration_seconds_bucket", {{"kind", "autocommit"}, {"le", "0.25"}}));

    auto log = srv.output();
    std::size_t lines = 0;
    for (auto at = log.find("slow statement"); at != std::string::npos; at = log.find("slow statement", at + 1)) ++lines;
    BOOST_TEST(lines == 1u);
    BOOST_TEST(log.find("SELECT pg_sleep($1::float8 / 1000), $2::text") != std::string::npos);
    BOOST_TEST(log.find(" warn ") != std::string::npos);
    BOOST_TEST(log.find("secret-7f3a") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(on_sigterm_health_says_draining_while_requests_are_still_served) {
    server_process srv(PGCORO_SERVER_BIN, {{"DATABASE_URL", database_url()},
                                           {"WORKERS", "2"},
                                           {"DRAIN_DELAY_MS", "1500"},
                                           {"PGCORO_TEST_ROUTES", "1"}});
    BOOST_TEST(http_request(srv.port(), verb::get, "/health").result_int() == 200);
    auto t0 = clock_type::now();
    srv.signal(SIGTERM);
    // The signal is handled on another thread: poll until the drain shows (bounded).
    net::response health;
    do {
        health = http_request(srv.port(), verb::get, "/health");
    } while (health.result_int() == 200 && since(t0).count() < 1000);
    BOOST_TEST(health.result_int() == 503);
    BOOST_TEST(status_of(health) == "draining");
    BOOST_TEST(health["Retry-After"] == "1");
    // Still serving during the drain.
    BOOST_TEST(http_request(srv.port(), verb::get, "/debug/db_sleep?ms=1").result_int() == 200);
    BOOST_TEST(since(t0).count() < 1500);
    BOOST_TEST(srv.wait_exit(std::chrono::seconds(10)).value_or(-2) == 0);
    BOOST_TEST(since(t0).count() >= 1500);  // it did wait the drain out
}
