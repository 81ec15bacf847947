// pg layer: LISTEN/NOTIFY through pgcoro::listener — order per sender, nothing lost when
// the consumer is slower than the senders (the listener pauses reading: backpressure),
// and a connection killed mid-stream comes back LISTENing, with the gap reported.
#define BOOST_TEST_MODULE pg_listener
#include <boost/test/unit_test.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <map>
#include <pgcoro/pgcoro.hpp>
#include <string>

#include "support/pg_env.hpp"

// GCC 12 takes Asio's coroutine frame allocator for a mismatched new/delete once a frame's
// allocation is inlined: a false positive (pg/src/transaction.cpp says the same).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace asio = boost::asio;
using namespace pgcoro;
using namespace std::chrono_literals;
using test_support::run;

namespace {

connect_options copts(const std::string& app) {
    connect_options o;
    o.conninfo = test_support::database_url();
    o.application_name = app;
    return o;
}

}  // namespace

// 4 senders, 2,500 notifications each (25 transactions of 100), a consumer that stops for
// 1 ms every 20 notifications: slower than the senders. Every notification arrives, in
// order per sender, and the listener paused reading rather than buffer without bound.
BOOST_AUTO_TEST_CASE(ten_thousand_notifications_in_order_with_a_slow_consumer) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        listener_options lo;
        lo.connection = copts("pgcoro_listener_test");
        lo.capacity = 200;
        listener l(ioc.get_executor(), lo);
        co_await l.listen("pgcoro load");  // any name: quoted as an identifier

        constexpr int senders = 4, per_sender = 2500, per_tx = 100;
        int sent_by_all = 0;
        for (int s = 0; s < senders; ++s) {
            asio::co_spawn(
                ioc,
                [&, s]() -> asio::awaitable<void> {
                    auto c = co_await connection::connect(ioc.get_executor(), copts("pgcoro_listener_sender"));
                    for (int from = 1; from <= per_sender; from += per_tx) {
                        co_await c.query(
                            "SELECT pg_notify('pgcoro load', $1::text || ':' || g) FROM generate_series($2::int, $3::int) g",
                            std::to_string(s), from, from + per_tx - 1);
                    }
                    ++sent_by_all;
                },
                asio::detached);
        }

        std::map<int, int> last;  // sender -> last sequence number seen
        int received = 0, gaps = 0, out_of_order = 0;
        asio::steady_timer pause(ioc);
        while (received < senders * per_sender) {
            auto e = co_await with_timeout(l.next(), 20s);
            if (!e.note) {
                ++gaps;
                continue;
            }
            BOOST_TEST(e.note->channel == "pgcoro load");
            BOOST_TEST(e.note->sender_pid != 0);
            auto colon = e.note->payload.find(':');
            int sender = std::stoi(e.note->payload.substr(0, colon));
            int seq = std::stoi(e.note->payload.substr(colon + 1));
            if (seq != last[sender] + 1) ++out_of_order;
            last[sender] = seq;
            ++received;
            if (received % 20 == 0) {  // the slow consumer
                pause.expires_after(1ms);
                co_await pause.async_wait(asio::use_awaitable);
            }
        }
        co_await test_support::wait_until(ioc, [&] { return sent_by_all == senders; });
        auto st = l.stats();
        BOOST_TEST_MESSAGE("listener: received " << st.received << ", delivered " << st.delivered << ", paused "
                                                 << st.paused << " times, buffered now " << st.buffered);
        BOOST_TEST(received == senders * per_sender);
        BOOST_TEST(out_of_order == 0);
        BOOST_TEST(gaps == 0);
        for (int s = 0; s < senders; ++s) BOOST_TEST(last[s] == per_sender);
        BOOST_TEST(st.paused > 0u);  // the consumer was slower: reading paused, nothing dropped
        BOOST_TEST(st.delivered == static_cast<std::uint64_t>(senders * per_sender));
        l.close();
    }());
}

// The listener's backend is terminated mid-stream (as a server restart or a failover would
// end it): the listener reconnects, LISTENs again, reports the gap, and goes on.
BOOST_AUTO_TEST_CASE(a_killed_connection_comes_back_listening_and_reports_the_gap) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        listener_options lo;
        lo.connection = copts("pgcoro_listener_reconnect");
        listener l(ioc.get_executor(), lo);
        co_await l.listen("events");
        co_await l.listen("other");
        co_await l.unlisten("other");

        auto admin = co_await connection::connect(ioc.get_executor(), copts("pgcoro_listener_admin"));
        co_await admin.query("SELECT pg_notify('events', 'before')");
        co_await admin.query("SELECT pg_notify('other', 'not listened to')");
        auto first = co_await with_timeout(l.next(), 10s);
        BOOST_TEST_REQUIRE(first.note.has_value());
        BOOST_TEST(first.note->payload == "before");

        auto killed = co_await admin.query(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = "
            "'pgcoro_listener_reconnect'");
        BOOST_TEST(killed.scalar<std::int64_t>() == 1);

        auto gap = co_await with_timeout(l.next(), 10s);
        BOOST_TEST(!gap.note.has_value());
        BOOST_TEST(gap.gap.find("reconnected") != std::string::npos);
        BOOST_TEST(l.stats().reconnects == 1u);

        // LISTENing again on "events" only ("other" was unlistened before the break).
        co_await admin.query("SELECT pg_notify('other', 'still not listened to')");
        co_await admin.query("SELECT pg_notify('events', 'after')");
        auto after = co_await with_timeout(l.next(), 10s);
        BOOST_TEST_REQUIRE(after.note.has_value());
        BOOST_TEST(after.note->channel == "events");
        BOOST_TEST(after.note->payload == "after");
        l.close();
        BOOST_CHECK_THROW(co_await l.next(), pgcoro::error);
    }());
}
