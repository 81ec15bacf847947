// pg layer: lookup_batcher merges the lookups of one loop turn into one statement, hands
// every caller its own row, and keeps failures and cancellations to the callers concerned.
#define BOOST_TEST_MODULE pg_lookup_batcher
#include <boost/test/unit_test.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pgcoro/pgcoro.hpp>
#include <string>
#include <vector>

#include "support/pg_env.hpp"

namespace asio = boost::asio;
using namespace pgcoro;
using test_support::run;

namespace {

pool_options popts() {
    pool_options o;
    o.connection.conninfo = test_support::database_url();
    o.connection.application_name = "pgcoro_lookup_test";
    o.max_size = 2;
    return o;
}

// Keys 1..1000 have a row, whose second column is the key times 10.
const std::string sql_squares =
    "SELECT k::text, k * 10 FROM unnest($1::int[]) AS k WHERE k BETWEEN 1 AND 1000";

struct answer {
    bool done = false;
    std::optional<int> value;  // nullopt: no row
    std::error_code failure;
    std::string sqlstate;
};

// Spawns one find() per key, all in the same loop turn; out[i] is filled in when the
// i-th is answered.
void spawn_finds(asio::io_context& ioc, lookup_batcher& b, const std::vector<std::string>& keys,
                 std::vector<answer>& out) {
    out.assign(keys.size(), {});
    for (std::size_t i = 0; i < keys.size(); ++i)
        asio::co_spawn(
            ioc,
            [&b, &out, i, key = keys[i]]() -> asio::awaitable<void> {
                try {
                    auto row = co_await b.find(key);
                    if (row) out[i].value = row->get().get<int>(1);
                } catch (const error& e) {
                    out[i].failure = e.code();
                    out[i].sqlstate = e.sqlstate();
                }
                out[i].done = true;
            },
            asio::detached);
}

bool all_done(const std::vector<answer>& a) {
    for (auto& x : a)
        if (!x.done) return false;
    return true;
}

// spawn_finds, then waits for every answer.
asio::awaitable<std::vector<answer>> find_all(asio::io_context& ioc, lookup_batcher& b,
                                              std::vector<std::string> keys) {
    std::vector<answer> out;
    spawn_finds(ioc, b, keys, out);
    co_await test_support::wait_until(ioc, [&] { return all_done(out); });
    co_return out;
}

// Whether find(key) is still unanswered after `limit` (it is then cancelled).
asio::awaitable<bool> times_out(lookup_batcher& b, std::string key, std::chrono::milliseconds limit) {
    try {
        co_await with_timeout(b.find(std::move(key)), limit);
    } catch (const error& e) {
        co_return e.code() == errc::timeout;
    }
    co_return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(lookups_of_one_turn_share_one_statement_and_each_gets_its_own_row) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool p(ioc.get_executor(), popts());
        lookup_batcher b(p, sql_squares, 0);
        // 300 callers: present keys, missing keys (0, 5000+), and every key asked twice.
        std::vector<std::string> keys;
        for (int i = 0; i < 150; ++i) {
            int k = i % 3 == 0 ? 5000 + i : i * 7;
            keys.push_back(std::to_string(k));
            keys.push_back(std::to_string(k));
        }
        auto before = p.stats().statements;
        auto out = co_await find_all(ioc, b, keys);
        BOOST_TEST(p.stats().statements - before == 2u);  // 300 keys, 256 per statement
        for (std::size_t i = 0; i < keys.size(); ++i) {
            int k = std::stoi(keys[i]);
            BOOST_TEST_CONTEXT("key " << k) {
                BOOST_TEST(!out[i].failure);
                if (k >= 1 && k <= 1000) BOOST_TEST((out[i].value && *out[i].value == k * 10));
                else BOOST_TEST(!out[i].value.has_value());
            }
        }

        // A lone caller later on is answered by a statement of its own.
        auto row = co_await b.find("42");
        BOOST_TEST((row && row->get().get<int>(1) == 420));
        BOOST_TEST(p.stats().statements - before == 3u);
    }());
}

BOOST_AUTO_TEST_CASE(a_failed_statement_fails_its_callers_and_no_one_else) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool p(ioc.get_executor(), popts());
        lookup_batcher b(p, sql_squares, 0);
        // "x" is not an int: the whole statement fails with 22P02, for all its callers.
        std::vector<std::string> keys{"1", "x", "2"};  // (gcc 12: no braced list across co_await)
        auto failed = co_await find_all(ioc, b, keys);
        for (auto& a : failed) {
            BOOST_TEST((a.failure == errc::sql));
            BOOST_TEST(a.sqlstate == "22P02");
        }
        // The next turn's batch is a new statement and unaffected.
        keys = {"1", "2"};
        auto next = co_await find_all(ioc, b, keys);
        BOOST_TEST((next[0].value && *next[0].value == 10));
        BOOST_TEST((next[1].value && *next[1].value == 20));
    }());
}

BOOST_AUTO_TEST_CASE(a_cancelled_caller_leaves_and_the_others_get_their_rows) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool p(ioc.get_executor(), popts());
        lookup_batcher slow(p, "SELECT k::text, k * 10 FROM unnest($1::int[]) AS k, pg_sleep(0.3)", 0);
        std::vector<answer> out;
        spawn_finds(ioc, slow, {"1", "2"}, out);
        bool timed_out = co_await times_out(slow, "3", std::chrono::milliseconds(50));
        BOOST_TEST(timed_out);
        BOOST_TEST(!all_done(out));  // the others are still waiting for the statement
        co_await test_support::wait_until(ioc, [&] { return all_done(out); });
        BOOST_TEST((out[0].value && *out[0].value == 10));
        BOOST_TEST((out[1].value && *out[1].value == 20));
    }());
}

BOOST_AUTO_TEST_CASE(when_every_caller_left_the_statement_is_cancelled_on_the_server) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool p(ioc.get_executor(), popts());
        lookup_batcher slow(p, "SELECT k::text FROM unnest($1::text[]) AS k, pg_sleep(30)", 0);
        auto start = std::chrono::steady_clock::now();
        bool timed_out = co_await times_out(slow, "a", std::chrono::milliseconds(200));
        BOOST_TEST(timed_out);
        // The statement was cancelled, not left sleeping: it ends as a failure, and the
        // connection (a query pipelines behind it) serves the next statement long before 30 s.
        auto r = co_await p.query("SELECT 1");
        BOOST_TEST(r.scalar<int>() == 1);
        BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(10)));
        co_await test_support::wait_until(ioc, [&] { return p.stats().statements == 2; });
        BOOST_TEST(p.stats().statement_errors == 1u);
    }());
}
