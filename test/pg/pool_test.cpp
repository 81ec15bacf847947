// pg layer: the pool under concurrency, its limits, timeouts, and recovery.
#define BOOST_TEST_MODULE pg_pool
#include <boost/test/unit_test.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>
#include <pgcoro/pgcoro.hpp>
#include <set>

#include "support/pg_env.hpp"

namespace asio = boost::asio;
using namespace pgcoro;
using test_support::run;

namespace {

pool_options popts(std::size_t max) {
    pool_options o;
    o.connection.conninfo = test_support::database_url();
    o.connection.application_name = "pgcoro_pool_test";
    o.max_size = max;
    return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(thousand_coroutines_through_eight_connections) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool p(ioc.get_executor(), popts(8));
        constexpr int n = 1000;
        int ok = 0, done = 0;
        for (int i = 0; i < n; ++i)
            asio::co_spawn(
                ioc,
                [&, i]() -> asio::awaitable<void> {
                    // Counted done whatever happens: a failing query must fail the test,
                    // not leave it waiting forever.
                    try {
                        auto r = co_await p.query("SELECT $1::int * 2", i);
                        if (r.scalar<int>() == i * 2) ++ok;
                    } catch (const std::exception& e) {
                        BOOST_ERROR("query " << i << " failed: " << e.what());
                    }
                    ++done;
                },
                asio::detached);
        co_await test_support::wait_until(ioc, [&] { return done == n; });
        BOOST_TEST(ok == n);
        BOOST_TEST(p.stats().total <= 8u);
    }());
}

BOOST_AUTO_TEST_CASE(two_hundred_acquirers_never_exceed_max_and_are_served_in_order) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto o = popts(10);
        o.acquire_timeout = std::chrono::seconds(20);
        pool p(ioc.get_executor(), o);
        pool observer_pool(ioc.get_executor(), popts(1));
        constexpr int n = 200;
        std::vector<int> order;
        std::int64_t most_on_server = 0;
        int done = 0;
        for (int i = 0; i < n; ++i) {
            asio::co_spawn(
                ioc,
                [&, i]() -> asio::awaitable<void> {
                    try {
                        auto c = co_await p.acquire();
                        order.push_back(i);
                        co_await c->query("SELECT pg_sleep(0.005)");
                    } catch (const std::exception& e) {
                        BOOST_ERROR("acquirer " << i << " failed: " << e.what());
                    }
                    ++done;  // whatever happened: the loop below must end
                },
                asio::detached);
        }
        while (done < n) {
            auto r = co_await observer_pool.query(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgcoro_pool_test' AND pid <> "
                "pg_backend_pid()");
            most_on_server = std::max(most_on_server, r.scalar<std::int64_t>());
        }
        BOOST_TEST(most_on_server <= 10);
        BOOST_TEST(most_on_server >= 2);
        BOOST_TEST(p.stats().total <= 10u);
        // The first ten open connections of their own (in whatever order their connects
        // finish); everyone after them waits in the FIFO and is served in arrival order.
        std::vector<int> waited;
        for (int i : order)
            if (i >= 10) waited.push_back(i);
        BOOST_TEST(std::is_sorted(waited.begin(), waited.end()));
        BOOST_TEST(p.stats().acquire_count >= static_cast<std::uint64_t>(n));
    }());
}

BOOST_AUTO_TEST_CASE(acquire_timeout_is_its_own_error_kind) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto o = popts(1);
        o.acquire_timeout = std::chrono::milliseconds(100);
        pool p(ioc.get_executor(), o);
        auto held = co_await p.acquire();
        auto start = std::chrono::steady_clock::now();
        errc kind{};
        try {
            co_await p.acquire();
        } catch (const error& e) {
            kind = e.kind();
        }
        BOOST_TEST((kind == errc::pool_timeout));
        BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(1)));
        BOOST_TEST(p.stats().acquire_timeouts == 1u);
    }());
}

BOOST_AUTO_TEST_CASE(terminated_connection_is_replaced) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool p(ioc.get_executor(), popts(2));
        pool killer(ioc.get_executor(), popts(1));
        int pid = 0;
        {
            auto c = co_await p.acquire();
            pid = c->backend_pid();
        }
        co_await killer.query("SELECT pg_terminate_backend($1)", pid);
        // The pool notices the closed socket (or the failed statement) and hands out
        // another connection.
        bool lost = false;
        try {
            co_await p.query("SELECT 1");
        } catch (const error& e) {
            lost = e.kind() == errc::connection_lost;
        }
        auto r = co_await p.query("SELECT pg_backend_pid()");
        BOOST_TEST(r.scalar<int>() != pid);
        (void)lost;  // either outcome is correct, depending on whether the FATAL arrived first
    }());
}

// Waits until `done` holds or `limit` has passed; returns whether it holds.
asio::awaitable<bool> within(asio::io_context& ioc, std::chrono::milliseconds limit, std::function<bool()> done) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    co_await test_support::wait_until(ioc, [&] { return done() || std::chrono::steady_clock::now() > deadline; });
    co_return done();
}

BOOST_AUTO_TEST_CASE(idle_connections_above_min_size_close_after_the_idle_timeout) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto o = popts(4);
        o.connection.application_name = "pgcoro_pool_idle_test";
        o.min_size = 1;
        o.idle_timeout = std::chrono::milliseconds(200);
        pool p(ioc.get_executor(), o);
        pool observer(ioc.get_executor(), popts(1));
        const std::string count_sql =
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgcoro_pool_idle_test'";
        {
            auto a = co_await p.acquire();
            auto b = co_await p.acquire();
            auto c = co_await p.acquire();
            auto d = co_await p.acquire();
        }
        BOOST_TEST(p.stats().total == 4u);
        auto opened = co_await observer.query(count_sql);
        BOOST_TEST(opened.scalar<std::int64_t>() == 4);
        // The maintainer (once a second) closes the three above min_size...
        bool closed = co_await within(ioc, std::chrono::seconds(5), [&] { return p.stats().total == 1u; });
        BOOST_TEST(closed);
        // ...and their backends end (they notice the closed socket a moment later).
        std::int64_t left = 0;
        asio::steady_timer pause(ioc);
        for (int i = 0; i < 250; ++i) {
            auto r = co_await observer.query(count_sql);
            left = r.scalar<std::int64_t>();
            if (left == 1) break;
            pause.expires_after(std::chrono::milliseconds(20));
            co_await pause.async_wait(asio::use_awaitable);
        }
        BOOST_TEST(left == 1);
    }());
}

BOOST_AUTO_TEST_CASE(a_shared_connection_past_its_lifetime_is_replaced_under_continuous_load) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto o = popts(1);
        o.max_lifetime = std::chrono::milliseconds(300);
        pool p(ioc.get_executor(), o);
        std::set<int> pids;
        int answered = 0, errors = 0, running = 0;
        bool stop = false;
        // Twenty coroutines keep the one connection busy with pipelined statements, so
        // the maintainer never finds it idle.
        for (int i = 0; i < 20; ++i) {
            ++running;
            asio::co_spawn(
                ioc,
                [&]() -> asio::awaitable<void> {
                    while (!stop) {
                        try {
                            auto r = co_await p.query("SELECT pg_backend_pid()");
                            pids.insert(r.scalar<int>());
                            ++answered;
                        } catch (const std::exception&) {
                            ++errors;
                        }
                    }
                    --running;
                },
                asio::detached);
        }
        bool replaced = co_await within(ioc, std::chrono::seconds(10), [&] { return pids.size() >= 3; });
        BOOST_TEST(replaced);
        stop = true;
        co_await test_support::wait_until(ioc, [&] { return running == 0; });
        // Replaced twice, with every statement answered: none failed with the retired one.
        BOOST_TEST(errors == 0);
        BOOST_TEST(answered > 0);
        BOOST_TEST(p.stats().total <= 1u);
    }());
}

BOOST_AUTO_TEST_CASE(dirty_connection_is_not_handed_out) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool p(ioc.get_executor(), popts(1));
        int pid = 0;
        {
            auto c = co_await p.acquire();
            pid = c->backend_pid();
            co_await c->query("BEGIN");  // returned inside a transaction
        }
        auto c = co_await p.acquire();
        BOOST_TEST(c->backend_pid() != pid);
        BOOST_TEST((c->state() == transaction_state::idle));
    }());
}


// pool_stats counts autocommit statements, their failures and their time, with
// auto-pipelining on (shared connections) and off (a connection per statement).
BOOST_AUTO_TEST_CASE(statements_and_their_failures_are_counted) {
    for (bool pipelined : {true, false}) {
        asio::io_context ioc;
        run(ioc, [&]() -> asio::awaitable<void> {
            auto o = popts(2);
            o.auto_pipeline = pipelined;
            pool p(ioc.get_executor(), o);
            for (int i = 0; i < 10; ++i) co_await p.query("SELECT $1::int", i);
            for (int i = 0; i < 3; ++i) {
                try {
                    co_await p.query("SELECT 1 / $1::int", 0);
                } catch (const error&) {
                }
            }
            auto s = p.stats();
            BOOST_TEST(s.statements == 13u);
            BOOST_TEST(s.statement_errors == 3u);
            BOOST_TEST(s.statement_time.count() > 0);
        }());
    }
}
