// net: graceful shutdown of the server binary on SIGTERM, with real sockets: in-flight
// requests finish, idle keep-alive connections close, new connections are refused, and
// the process exits 0 within the grace period; requests still running when the grace
// period ends are cut.
#define BOOST_TEST_MODULE net_shutdown
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <thread>

#include "net/prometheus_text.hpp"
#include "support/pg_env.hpp"
#include "support/raw_socket.hpp"
#include "support/server_process.hpp"

using namespace test_support;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

std::map<std::string, std::string> server_env(std::string grace_ms) {
    return {{"DATABASE_URL", database_url()},
            {"WORKERS", "2"},
            {"PGCORO_TEST_ROUTES", "1"},
            {"SHUTDOWN_GRACE_MS", std::move(grace_ms)},
            {"REQUEST_DEADLINE_MS", "60000"}};
}

// Polls until connecting fails with ECONNREFUSED; false at the deadline.
bool refused_within(unsigned short port, std::chrono::milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    while (clock_type::now() < deadline) {
        if (raw_socket::try_connect(port) == ECONNREFUSED) return true;
        std::this_thread::sleep_for(5ms);  // polling interval, bounded by the deadline
    }
    return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(sigterm_lets_100_in_flight_requests_finish_and_exits_0_within_the_grace_period) {
    constexpr auto grace = 10s;
    server_process srv(PGCORO_SERVER_BIN, server_env("10000"));
    auto port = srv.port();
    std::vector<raw_socket> clients;
    for (int i = 0; i < 100; ++i) {
        clients.emplace_back(port);
        BOOST_REQUIRE(clients.back().send(http_get("/debug/sleep?ms=1500")));
    }
    // All 100 are inside their handlers (the scrape is the 101st request in flight).
    BOOST_REQUIRE(prom::wait_for(port, "http_requests_in_flight", 101, 5s));

    auto t0 = clock_type::now();
    srv.signal(SIGTERM);
    BOOST_TEST(refused_within(port, 1s));
    auto refused_after = clock_type::now() - t0;

    int completed = 0;
    for (auto& c : clients) {
        auto res = c.read_response(grace);
        completed += res.result_int() == 200;
        BOOST_TEST(!res.keep_alive());  // answered, then closed
        BOOST_TEST(c.wait_closed(2s));
    }
    BOOST_TEST(completed == 100);
    // New connections were refused while the requests were still running.
    BOOST_TEST((refused_after < 1500ms));

    auto status = srv.wait_exit(grace);
    auto exited_after = clock_type::now() - t0;
    BOOST_REQUIRE(status.has_value());
    BOOST_TEST(*status == 0);
    BOOST_TEST((exited_after < grace));
    BOOST_TEST_MESSAGE("exited " << std::chrono::duration_cast<std::chrono::milliseconds>(exited_after).count()
                                 << " ms after SIGTERM");
}

BOOST_AUTO_TEST_CASE(sigterm_closes_idle_keep_alive_connections_at_once) {
    server_process srv(PGCORO_SERVER_BIN, server_env("10000"));
    std::vector<raw_socket> idle;
    for (int i = 0; i < 50; ++i) {
        idle.emplace_back(srv.port());
        BOOST_REQUIRE(idle.back().send(http_get("/debug/sleep?ms=0")));
        BOOST_TEST(idle.back().read_response().result_int() == 200);
    }
    auto t0 = clock_type::now();
    srv.signal(SIGTERM);
    for (auto& s : idle) BOOST_TEST(s.wait_closed(2s));
    auto status = srv.wait_exit(5s);
    BOOST_REQUIRE(status.has_value());
    BOOST_TEST(*status == 0);
    BOOST_TEST((clock_type::now() - t0 < 2s));  // nothing in flight: no reason to wait for the grace period
}

BOOST_AUTO_TEST_CASE(requests_still_running_when_the_grace_period_ends_are_cut) {
    server_process srv(PGCORO_SERVER_BIN, server_env("1000"));
    auto port = srv.port();
    std::vector<raw_socket> hanging;
    for (int i = 0; i < 10; ++i) {
        hanging.emplace_back(port);
        BOOST_REQUIRE(hanging.back().send(http_get("/debug/hang")));
    }
    BOOST_REQUIRE(prom::wait_for(port, "http_requests_in_flight", 11, 5s));
    auto t0 = clock_type::now();
    srv.signal(SIGTERM);
    for (auto& s : hanging) BOOST_TEST(s.wait_closed(5s));  // cut: closed without an answer
    auto status = srv.wait_exit(5s);
    BOOST_REQUIRE(status.has_value());
    BOOST_TEST(*status == 0);
    auto took = clock_type::now() - t0;
    BOOST_TEST((took >= 900ms));  // SHUTDOWN_GRACE_MS=1000
    BOOST_TEST((took < 3s));
}
