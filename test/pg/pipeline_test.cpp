// pg layer: one connection serving many coroutines at once (pipeline mode), batches,
// prepared statement caching, cancellation, and a terminated backend.
#define BOOST_TEST_MODULE pg_pipeline
#include <boost/test/unit_test.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pgcoro/pgcoro.hpp>

#include "support/pg_env.hpp"

namespace asio = boost::asio;
using namespace pgcoro;
using test_support::run;
using clock_type = std::chrono::steady_clock;

namespace {
connect_options opts() {
    connect_options o;
    o.conninfo = test_support::database_url();
    return o;
}
}  // namespace

BOOST_AUTO_TEST_CASE(many_coroutines_share_one_connection_each_gets_its_own_result) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto c = co_await connection::connect(ioc.get_executor(), opts());
        constexpr int n = 500;
        std::vector<int> got(n, -1);
        int done = 0;
        for (int i = 0; i < n; ++i) {
            asio::co_spawn(
                ioc,
                [&, i]() -> asio::awaitable<void> {
                    if (i % 7 == 3) {  // some fail; the others must not notice
                        try {
                            co_await c.query("SELECT 1/($1::int - $1::int)", i);
                        } catch (const error& e) {
                            got[i] = e.sqlstate() == "22012" ? i : -2;
                        }
                    } else {
                        got[i] = (co_await c.query("SELECT $1::int", i)).scalar<int>();
                    }
                    ++done;
                },
                asio::detached);
        }
        BOOST_TEST(c.in_flight() > 1u);  // really in flight together
        co_await test_support::wait_until(ioc, [&] { return done >= n; });
        for (int i = 0; i < n; ++i) BOOST_TEST(got[i] == i);
    }());
}

BOOST_AUTO_TEST_CASE(read_only_statements_share_a_sync_and_one_failure_spares_the_others) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto c = co_await connection::connect(ioc.get_executor(), opts());
        constexpr int n = 300;
        std::vector<int> got(n, -1);
        int done = 0;
        for (int i = 0; i < n; ++i) {
            asio::co_spawn(
                ioc,
                [&, i]() -> asio::awaitable<void> {
                    try {
                        // Every 10th divides by zero: the members of its group after it are
                        // aborted by the server and must be sent again, transparently.
                        auto r = co_await c.read_query("SELECT $1::int / (CASE WHEN $1::int % 10 = 5 THEN 0 ELSE 1 END)", i);
                        got[i] = r.scalar<int>();
                    } catch (const error& e) {
                        got[i] = (i % 10 == 5 && e.sqlstate() == "22012") ? i : -2;
                    }
                    ++done;
                },
                asio::detached);
        }
        co_await test_support::wait_until(ioc, [&] { return done >= n; });
        for (int i = 0; i < n; ++i) BOOST_TEST(got[i] == i);
        // A writing statement after a group ends it and runs in its own transaction.
        co_await c.query("CREATE TEMP TABLE IF NOT EXISTS grouped (v int)");
        BOOST_TEST((co_await c.read_query("SELECT count(*) FROM grouped")).scalar<std::int64_t>() == 0);
    }());
}

BOOST_AUTO_TEST_CASE(batch_reports_each_statement_and_isolates_failures) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto c = co_await connection::connect(ioc.get_executor(), opts());
        batch b;
        b.add("SELECT 1").add("SELECT $1::int", 2).add("SELECT 1/0").add("SELECT 4");
        auto out = co_await c.execute(std::move(b));
        BOOST_TEST(out.size() == 4u);
        BOOST_TEST(out[0].ok());
        BOOST_TEST(out[1].value().scalar<int>() == 2);
        BOOST_TEST(!out[2].ok());
        BOOST_TEST(out[2].failure->sqlstate() == "22012");
        BOOST_TEST(!out[3].ok());  // not run: the batch is one implicit transaction
        batch ok;
        ok.add("SELECT 5");
        BOOST_TEST((co_await c.execute(std::move(ok)))[0].value().scalar<int>() == 5);
    }());
}

BOOST_AUTO_TEST_CASE(second_execution_does_not_prepare_again) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto c = co_await connection::connect(ioc.get_executor(), opts());
        const std::string sql = "SELECT $1::int + 100";
        co_await c.query(sql, 1);
        co_await c.query(sql, 2);
        co_await c.query(sql, 3);
        auto r = co_await c.query("SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", sql);
        BOOST_TEST(r.scalar<std::int64_t>() == 1);
    }());
}

BOOST_AUTO_TEST_CASE(statement_cache_is_bounded) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto o = opts();
        o.statement_cache_capacity = 4;
        auto c = co_await connection::connect(ioc.get_executor(), o);
        for (int i = 0; i < 20; ++i) co_await c.query("SELECT " + std::to_string(i));
        auto r = co_await c.query("SELECT count(*) FROM pg_prepared_statements");
        BOOST_TEST(r.scalar<std::int64_t>() <= 5);
    }());
}

BOOST_AUTO_TEST_CASE(cancelling_a_long_statement_returns_fast_and_stops_it_on_the_server) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto c = co_await connection::connect(ioc.get_executor(), opts());
        auto observer = co_await connection::connect(ioc.get_executor(), opts());
        int pid = c.backend_pid();
        auto start = clock_type::now();
        bool timed_out = false;
        try {
            co_await with_timeout(c.query("SELECT pg_sleep(30)"), std::chrono::milliseconds(100));
        } catch (const error& e) {
            timed_out = e.kind() == errc::timeout;
        }
        auto took = clock_type::now() - start;
        BOOST_TEST(timed_out);
        BOOST_TEST((took < std::chrono::milliseconds(300)));
        // The server stops running it within a second...
        bool gone = false;
        asio::steady_timer t(ioc);
        for (int i = 0; i < 20 && !gone; ++i) {
            auto r = co_await observer.query(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", pid);
            gone = r.scalar<std::int64_t>() == 0;
            t.expires_after(std::chrono::milliseconds(50));
            if (!gone) co_await t.async_wait(asio::use_awaitable);
        }
        BOOST_TEST(gone);
        // ...and the connection is usable again.
        BOOST_TEST((co_await c.query("SELECT 7")).scalar<int>() == 7);
    }());
}

BOOST_AUTO_TEST_CASE(loop_never_blocks_while_a_statement_runs) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto c = co_await connection::connect(ioc.get_executor(), opts());
        bool sleeping = true;
        asio::co_spawn(
            ioc,
            [&]() -> asio::awaitable<void> {
                co_await c.query("SELECT pg_sleep(1)");
                sleeping = false;
            },
            asio::detached);
        asio::steady_timer t(ioc);
        auto worst = clock_type::duration::zero();
        int ticks = 0;
        while (sleeping) {
            auto before = clock_type::now();
            t.expires_after(std::chrono::milliseconds(1));
            co_await t.async_wait(asio::use_awaitable);
            worst = std::max(worst, clock_type::now() - before - std::chrono::milliseconds(1));
            ++ticks;
        }
        BOOST_TEST(ticks > 100);
        BOOST_TEST((worst < std::chrono::milliseconds(20)));
    }());
}

BOOST_AUTO_TEST_CASE(terminated_backend_fails_as_connection_lost) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto c = co_await connection::connect(ioc.get_executor(), opts());
        auto killer = co_await connection::connect(ioc.get_executor(), opts());
        int pid = c.backend_pid();
        errc kind{};
        asio::co_spawn(
            ioc,
            [&]() -> asio::awaitable<void> {
                asio::steady_timer t(ioc, std::chrono::milliseconds(200));
                co_await t.async_wait(asio::use_awaitable);
                co_await killer.query("SELECT pg_terminate_backend($1)", pid);
            },
            asio::detached);
        try {
            co_await c.query("SELECT pg_sleep(5)");
        } catch (const error& e) {
            kind = e.kind();
        }
        BOOST_TEST((kind == errc::connection_lost));
        BOOST_TEST(!c.is_open());
    }());
}
