// pg layer: the async connection against the private PostgreSQL.
#define BOOST_TEST_MODULE pg_connection
#include <boost/test/unit_test.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pgcoro/pgcoro.hpp>

#include "support/pg_env.hpp"

namespace asio = boost::asio;
using pgcoro::connection;
using test_support::run;

namespace {
pgcoro::connect_options opts() {
    pgcoro::connect_options o;
    o.conninfo = test_support::database_url();
    o.connect_timeout = std::chrono::seconds(3);
    return o;
}
}  // namespace

BOOST_AUTO_TEST_CASE(select_one_through_the_event_loop) {
    asio::io_context ioc;
    auto v = run(ioc, [&]() -> asio::awaitable<int> {
        auto c = co_await connection::connect(ioc.get_executor(), opts());
        auto r = co_await c.query("SELECT 1 + $1::int", 41);
        co_return r.scalar<int>();
    }());
    BOOST_TEST(v == 42);
}

BOOST_AUTO_TEST_CASE(sql_error_carries_sqlstate_and_connection_stays_usable) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto c = co_await connection::connect(ioc.get_executor(), opts());
        bool thrown = false;
        try {
            co_await c.query("SELECT 1/0");
        } catch (const pgcoro::error& e) {
            thrown = true;
            BOOST_TEST(e.kind() == pgcoro::errc::sql);
            BOOST_TEST(e.sqlstate() == "22012");
        }
        BOOST_TEST(thrown);
        auto r = co_await c.query("SELECT 'still here'::text");
        BOOST_TEST(r.scalar<std::string>() == "still here");
    }());
}

BOOST_AUTO_TEST_CASE(syntax_error_reports_the_parse_error) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto c = co_await connection::connect(ioc.get_executor(), opts());
        try {
            co_await c.query("SELEC 1");
            BOOST_FAIL("expected a syntax error");
        } catch (const pgcoro::error& e) {
            BOOST_TEST(e.sqlstate() == "42601");
        }
        BOOST_TEST((co_await c.query("SELECT 2")).scalar<int>() == 2);
    }());
}

BOOST_AUTO_TEST_CASE(connect_to_closed_port_fails_fast) {
    asio::io_context ioc;
    auto o = opts();
    o.conninfo = "postgresql://postgres@127.0.0.1:1/postgres";
    auto start = std::chrono::steady_clock::now();
    BOOST_CHECK_EXCEPTION(run(ioc, connection::connect(ioc.get_executor(), o)), pgcoro::error,
                          [](const pgcoro::error& e) { return e.kind() == pgcoro::errc::connect_failed; });
    BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(2)));
}

BOOST_AUTO_TEST_CASE(notices_reach_the_callback_not_stderr) {
    asio::io_context ioc;
    std::vector<std::string> notices;
    auto o = opts();
    o.on_notice = [&](std::string_view n) { notices.emplace_back(n); };
    run(ioc, [&]() -> asio::awaitable<void> {
        auto c = co_await connection::connect(ioc.get_executor(), o);
        co_await c.query("DO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; END $$");
    }());
    BOOST_TEST(notices.size() == 1u);
    BOOST_TEST(notices.at(0).find("hello from plpgsql") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(script_runs_several_statements) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto c = co_await connection::connect(ioc.get_executor(), opts());
        co_await c.execute_script("CREATE TEMP TABLE s (v int); INSERT INTO s VALUES (1), (2); INSERT INTO s VALUES (3)");
        BOOST_TEST((co_await c.query("SELECT sum(v)::int FROM s")).scalar<int>() == 6);
        bool failed = false;
        try {
            co_await c.execute_script("INSERT INTO s VALUES (4); SELECT 1/0");
        } catch (const pgcoro::error& e) {
            failed = e.sqlstate() == "22012";
        }
        BOOST_TEST(failed);
        BOOST_TEST((co_await c.query("SELECT sum(v)::int FROM s")).scalar<int>() == 6);  // one implicit transaction
    }());
}

namespace {
// Set by scripts/test when the private cluster runs with TLS (PG_TLS=1): a CA that signed
// nothing this cluster uses.
struct tls_cluster {
    boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
        const char* ca = std::getenv("PGCORO_WRONG_CA");
        boost::test_tools::assertion_result ok(ca && *ca);
        if (!ok) ok.message() << "the cluster runs without TLS (run with PG_TLS=1)";
        return ok;
    }
};
}  // namespace

// verify-full with the wrong CA: the connection fails, saying why, and never falls back
// to an unverified or plaintext connection.
BOOST_AUTO_TEST_CASE(a_server_certificate_from_another_ca_is_refused, *boost::unit_test::precondition(tls_cluster{})) {
    std::string url = test_support::database_url();
    auto at = url.find("sslrootcert=");
    BOOST_TEST_REQUIRE(at != std::string::npos);
    auto end = url.find('&', at);
    url.replace(at, end == std::string::npos ? std::string::npos : end - at,
                std::string("sslrootcert=") + std::getenv("PGCORO_WRONG_CA"));
    asio::io_context ioc;
    std::string message;
    pgcoro::errc kind = pgcoro::errc::sql;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto o = opts();
        o.conninfo = url;
        try {
            co_await connection::connect(ioc.get_executor(), o);
        } catch (const pgcoro::error& e) {
            message = e.what();
            kind = e.kind();
        }
    }());
    BOOST_TEST((kind == pgcoro::errc::connect_failed));
    BOOST_TEST(message.find("certificate verify failed") != std::string::npos, message);
}
