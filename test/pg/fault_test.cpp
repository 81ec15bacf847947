// pg layer through the fault proxy: pipelining against latency, connect timeouts
// against a silent server, and a COMMIT whose answer never arrives.
#define BOOST_TEST_MODULE pg_fault
#include <boost/test/unit_test.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pgcoro/pgcoro.hpp>

#include "support/fault_proxy.hpp"
#include "support/pg_env.hpp"

namespace asio = boost::asio;
using namespace pgcoro;
using namespace test_support;
using clock_type = std::chrono::steady_clock;

namespace {
struct proxied {
    proxied() : proxy(host_port(database_url()).first, host_port(database_url()).second) {}
    fault_proxy proxy;
    connect_options opts() {
        connect_options o;
        o.conninfo = proxied_url(database_url(), proxy.port());
        o.connect_timeout = std::chrono::milliseconds(500);
        return o;
    }
};
}  // namespace

BOOST_AUTO_TEST_CASE(twenty_pipelined_statements_cost_about_one_round_trip) {
    proxied px;
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto c = co_await connection::connect(ioc.get_executor(), px.opts());
        co_await c.query("SELECT $1::int", 0);  // prepared once, outside the measurement
        px.proxy.set_latency(std::chrono::milliseconds(50));  // 100 ms per round trip

        auto start = clock_type::now();
        int done = 0;
        for (int i = 0; i < 20; ++i)
            asio::co_spawn(
                ioc,
                [&, i]() -> asio::awaitable<void> {
                    BOOST_TEST((co_await c.query("SELECT $1::int", i)).scalar<int>() == i);
                    ++done;
                },
                asio::detached);
        co_await test_support::wait_until(ioc, [&] { return done >= 20; });
        auto pipelined = clock_type::now() - start;

        start = clock_type::now();
        for (int i = 0; i < 10; ++i) co_await c.query("SELECT $1::int", i);
        auto sequential = clock_type::now() - start;

        auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
        BOOST_TEST_MESSAGE("20 pipelined: " << ms(pipelined) << " ms; 10 sequential: " << ms(sequential) << " ms");
        BOOST_TEST(ms(pipelined) < 300);   // under 3 round trips
        BOOST_TEST(ms(sequential) >= 1000); // 10 round trips of 100 ms
    }());
}

// Auto-pipelining with every pipeline slot taken: a statement waits for a slot, FIFO,
// and is pipelined as soon as one frees up; it does not wait for a connection of its own
// (which would make the overflow run one statement per round trip).
BOOST_AUTO_TEST_CASE(statements_beyond_the_pipeline_depth_wait_for_a_slot_not_a_connection) {
    proxied px;
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool_options po;
        po.connection = px.opts();
        po.max_size = 1;
        po.pipeline_depth = 4;
        pool p(ioc.get_executor(), po);
        co_await p.query("SELECT $1::int", 0);  // connected and prepared outside the measurement
        px.proxy.set_latency(std::chrono::milliseconds(50));  // 100 ms per round trip

        auto start = clock_type::now();
        constexpr int n = 16;
        int ok = 0, done = 0;
        for (int i = 0; i < n; ++i)
            asio::co_spawn(
                ioc,
                [&, i]() -> asio::awaitable<void> {
                    if ((co_await p.query("SELECT $1::int", i)).scalar<int>() == i) ++ok;
                    ++done;
                },
                asio::detached);
        co_await test_support::wait_until(ioc, [&] { return done >= n; });
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start).count();
        BOOST_TEST_MESSAGE(n << " statements, 4 deep, one connection: " << ms << " ms");
        BOOST_TEST(ok == n);
        BOOST_TEST(p.stats().total == 1u);
        // The proxy delays each chunk in turn (libpq 15 sends each statement on its own),
        // so this takes ~0.7 s; one statement per round trip past the first 4 would
        // take ~1.4 s (12 more round trips of 100 ms).
        BOOST_TEST(ms < 1100);
    }());
}

BOOST_AUTO_TEST_CASE(connect_to_a_silent_server_times_out_without_blocking_the_loop) {
    proxied px;
    px.proxy.set_black_hole(true);
    asio::io_context ioc;
    auto start = clock_type::now();
    int ticks = 0;
    errc kind{};
    run(ioc, [&]() -> asio::awaitable<void> {
        bool finished = false;
        asio::co_spawn(
            ioc,
            [&]() -> asio::awaitable<void> {
                asio::steady_timer t(ioc);
                while (!finished) {
                    t.expires_after(std::chrono::milliseconds(10));
                    co_await t.async_wait(asio::use_awaitable);
                    ++ticks;
                }
            },
            asio::detached);
        try {
            co_await connection::connect(ioc.get_executor(), px.opts());
        } catch (const error& e) {
            kind = e.kind();
        }
        finished = true;
    }());
    auto took = clock_type::now() - start;
    BOOST_TEST((kind == errc::timeout));
    BOOST_TEST((took >= std::chrono::milliseconds(450) && took < std::chrono::milliseconds(1500)));
    BOOST_TEST(ticks >= 20);  // the loop kept running meanwhile
}

BOOST_AUTO_TEST_CASE(connection_dropped_after_commit_is_sent_is_outcome_unknown,
                     *boost::unit_test::precondition(plaintext_to_the_database{})) {
    proxied px;
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool_options po;
        po.connection = px.opts();
        po.max_size = 2;
        pool p(ioc.get_executor(), po);
        co_await p.query("DROP TABLE IF EXISTS fault_commit");
        co_await p.query("CREATE TABLE fault_commit (v int)");
        px.proxy.cut_when_client_sends("COMMIT", /*forward_first=*/true);
        int runs = 0;
        errc kind{};
        try {
            co_await p.transact([&](transaction& tx) -> asio::awaitable<void> {
                ++runs;
                co_await tx.query("INSERT INTO fault_commit VALUES (1)");
            });
        } catch (const error& e) {
            kind = e.kind();
        }
        BOOST_TEST(runs == 1);
        BOOST_TEST((kind == errc::commit_outcome_unknown));
        BOOST_TEST(p.tx_stats().unknown_outcomes == 1u);
    }());
}
