// pg layer: every supported type round-trips through the server, NULLs and edge values
// included; reading a column as the wrong type is a clear error.
#define BOOST_TEST_MODULE pg_types
#include <boost/test/unit_test.hpp>

#include <pgcoro/pgcoro.hpp>

#include "support/pg_env.hpp"

namespace asio = boost::asio;
using namespace pgcoro;
using test_support::run;

namespace {

connect_options opts() {
    connect_options o;
    o.conninfo = test_support::database_url();
    return o;
}

// Sends v as a parameter, has the server cast it to `type`, reads it back as T.
template <typename T>
T echo(asio::io_context& ioc, const T& v, const std::string& type) {
    return run(ioc, [&]() -> asio::awaitable<T> {
        auto c = co_await connection::connect(ioc.get_executor(), opts());
        auto r = co_await c.query("SELECT $1::" + type, v);
        co_return r.template scalar<T>();
    }());
}

}  // namespace

BOOST_AUTO_TEST_CASE(scalars_round_trip) {
    asio::io_context ioc;
    BOOST_TEST(echo(ioc, true, "bool") == true);
    BOOST_TEST(echo(ioc, false, "bool") == false);
    BOOST_TEST(echo<std::int16_t>(ioc, -32768, "int2") == -32768);
    BOOST_TEST(echo<std::int32_t>(ioc, 2147483647, "int4") == 2147483647);
    BOOST_TEST(echo<std::int64_t>(ioc, std::numeric_limits<std::int64_t>::min(), "int8") ==
               std::numeric_limits<std::int64_t>::min());
    BOOST_TEST(echo<std::int64_t>(ioc, std::numeric_limits<std::int64_t>::max(), "int8") ==
               std::numeric_limits<std::int64_t>::max());
    BOOST_TEST(echo(ioc, 0.1, "float8") == 0.1);
    BOOST_TEST(echo(ioc, -1.5e300, "float8") == -1.5e300);
    BOOST_TEST(echo(ioc, std::string("héllo, 世界 \"quoted\" \\ back"), "text") ==
               "héllo, 世界 \"quoted\" \\ back");
    BOOST_TEST(echo(ioc, std::string(""), "text") == "");
    decimal d{"123456789012345678901234567890.123456789"};
    BOOST_TEST(echo(ioc, d, "numeric").text == d.text);
    BOOST_TEST(echo(ioc, decimal{"-0.01"}, "numeric").text == "-0.01");
    auto u = *uuid::parse("0E2B7C1A-5F4D-4A3B-9C8D-112233445566");
    BOOST_TEST(echo(ioc, u, "uuid").to_string() == "0e2b7c1a-5f4d-4a3b-9c8d-112233445566");
    bytes b{std::byte{0}, std::byte{0xff}, std::byte{0x10}};
    BOOST_TEST((echo(ioc, b, "bytea") == b));
    BOOST_TEST(echo(ioc, json{R"({"a": [1, 2]})"}, "jsonb").text == R"({"a": [1, 2]})");
}

BOOST_AUTO_TEST_CASE(timestamptz_keeps_microseconds_in_utc) {
    asio::io_context ioc;
    timestamptz t{std::chrono::microseconds{1795342530123456}};  // 2026-11-22T10:15:30.123456Z
    auto back = echo(ioc, t, "timestamptz");
    BOOST_TEST(back.time_since_epoch().count() == t.time_since_epoch().count());
    BOOST_TEST(format_rfc3339(back) == "2026-11-22T10:15:30.123456Z");
    auto epoch = run(ioc, [&]() -> asio::awaitable<timestamptz> {
        auto c = co_await connection::connect(ioc.get_executor(), opts());
        co_return (co_await c.query("SELECT '1970-01-01 01:00:00+01'::timestamptz")).scalar<timestamptz>();
    }());
    BOOST_TEST(epoch.time_since_epoch().count() == 0);
}

BOOST_AUTO_TEST_CASE(nulls_and_optionals) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto c = co_await connection::connect(ioc.get_executor(), opts());
        std::optional<std::int64_t> none;
        auto r = co_await c.query("SELECT $1::int8, $2::int8", none, std::optional<std::int64_t>(7));
        BOOST_TEST(!r.front().get<std::optional<std::int64_t>>(0).has_value());
        BOOST_TEST(*r.front().get<std::optional<std::int64_t>>(1) == 7);
        BOOST_CHECK_EXCEPTION(r.front().get<std::int64_t>(0), error,
                              [](const error& e) { return e.kind() == errc::unexpected_null; });
    }());
}

BOOST_AUTO_TEST_CASE(arrays_round_trip_and_feed_unnest) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto c = co_await connection::connect(ioc.get_executor(), opts());
        std::vector<std::string> texts{"a", "b,c", "d\"e", "", "NULL", "x\\y"};
        auto r = co_await c.query("SELECT $1::text[]", texts);
        BOOST_TEST((r.scalar<std::vector<std::string>>() == texts));

        std::vector<std::int64_t> none;
        BOOST_TEST((co_await c.query("SELECT $1::int8[]", none)).scalar<std::vector<std::int64_t>>().empty());

        std::vector<std::optional<std::int32_t>> with_null{1, std::nullopt, 3};
        auto r2 = co_await c.query("SELECT $1::int4[]", with_null);
        BOOST_TEST((r2.scalar<std::vector<std::optional<std::int32_t>>>() == with_null));

        std::vector<uuid> ids{*uuid::parse("00000000-0000-0000-0000-000000000001"),
                              *uuid::parse("00000000-0000-0000-0000-000000000002")};
        auto r3 = co_await c.query("SELECT count(*) FROM unnest($1::uuid[]) AS t(id)", ids);
        BOOST_TEST(r3.scalar<std::int64_t>() == 2);
        std::vector<decimal> money{{"1.50"}, {"2.25"}};
        auto r4 = co_await c.query("SELECT sum(x)::text FROM unnest($1::numeric[]) AS t(x)", money);
        BOOST_TEST(r4.scalar<std::string>() == "3.75");
    }());
}

BOOST_AUTO_TEST_CASE(wrong_type_is_a_clear_error) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto c = co_await connection::connect(ioc.get_executor(), opts());
        auto r = co_await c.query("SELECT 'abc'::text, 3000000000::int8");
        BOOST_CHECK_EXCEPTION(r.front().get<std::int32_t>(0), error,
                              [](const error& e) { return e.kind() == errc::type_mismatch; });
        BOOST_CHECK_EXCEPTION(r.front().get<std::int32_t>(1), error,
                              [](const error& e) { return e.kind() == errc::out_of_range; });
        BOOST_CHECK_EXCEPTION(r.front().get<bool>(5), error,
                              [](const error& e) { return e.kind() == errc::out_of_range; });
        BOOST_TEST(r.front().get<std::string>(1) == "3000000000");
    }());
}
