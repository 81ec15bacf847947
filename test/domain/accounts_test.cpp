// domain: accounts, transfers and `seed` over real HTTP against the server binary and the
// private PostgreSQL. The database is shared and persists between runs: every test makes
// its own accounts and never assumes empty tables.
#define BOOST_TEST_MODULE domain_accounts
#include <boost/test/unit_test.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <atomic>
#include <latch>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "support/fault_proxy.hpp"
#include "support/pg_env.hpp"
#include "support/server_process.hpp"

using namespace test_support;
using net::http::verb;
namespace json = boost::json;

namespace {

server_process& server() {
    static server_process srv(PGCORO_SERVER_BIN,
                              {{"DATABASE_URL", database_url()}, {"PASSWORD_HASH_COST", "min"}, {"WORKERS", "2"}});
    return srv;
}

struct reply {
    int status;
    json::value body;
};

// One request on a fresh connection to the server on `port`; safe from many threads.
reply call_at(unsigned short port, verb method, const std::string& target, const std::string& body = {},
              const header_list& headers = {}) {
    auto res = http_request(port, method, target, body, "application/json", headers);
    json::value parsed;
    if (!res.body().empty()) parsed = json::parse(res.body());
    return {static_cast<int>(res.result_int()), parsed};
}

reply call(verb method, const std::string& target, const std::string& body = {}, const header_list& headers = {}) {
    return call_at(server().port(), method, target, body, headers);
}

std::string str(const json::value& v) { return std::string(v.as_string()); }
std::string code(const reply& r) { return str(r.body.at("code")); }
std::string data_str(const reply& r, const char* field) { return str(r.body.at("data").at(field)); }

// The fields named in a validation error's details.
std::set<std::string> detail_fields(const reply& r) {
    std::set<std::string> out;
    if (auto* d = r.body.as_object().if_contains("details"))
        for (auto& e : d->as_array()) out.insert(str(e.at("field")));
    return out;
}

// Money as exact cents, for sums in the tests ("12.50" -> 1250).
std::int64_t cents(const std::string& money) {
    auto dot = money.find('.');
    BOOST_REQUIRE(dot != std::string::npos && money.size() == dot + 3);
    return std::stoll(money.substr(0, dot)) * 100 + std::stoll(money.substr(dot + 1));
}

std::string money(std::int64_t c) {
    std::string frac = std::to_string(c % 100);
    return std::to_string(c / 100) + "." + (frac.size() == 1 ? "0" + frac : frac);
}

// `balance` is a JSON fragment: "\"100.00\"" or "12.5".
reply post_account(const std::string& balance, const std::optional<std::string>& owner = std::nullopt) {
    std::string body = "{\"balance\":" + balance + (owner ? ",\"owner_id\":\"" + *owner + "\"" : "") + "}";
    return call(verb::post, "/accounts", body);
}

std::string new_account(const std::string& balance) {
    auto r = post_account("\"" + balance + "\"");
    BOOST_REQUIRE_EQUAL(r.status, 201);
    return data_str(r, "id");
}

std::string balance(const std::string& account) {
    auto r = call(verb::get, "/accounts/" + account);
    BOOST_REQUIRE_EQUAL(r.status, 200);
    return data_str(r, "balance");
}

// `amount` is a JSON fragment as well. `port`: another server than the shared one.
reply transfer(const std::string& from, const std::string& to, const std::string& amount,
               const std::optional<std::string>& key = std::nullopt, unsigned short port = 0) {
    std::string body = "{\"from_account_id\":\"" + from + "\",\"to_account_id\":\"" + to + "\",\"amount\":" + amount + "}";
    header_list headers;
    if (key) headers.emplace_back("Idempotency-Key", *key);
    return call_at(port ? port : server().port(), verb::post, "/transfers", body, headers);
}

std::string unique_key(const std::string& stem) {
    static std::mutex m;
    static std::mt19937_64 rng{std::random_device{}()};
    std::lock_guard lock(m);
    return stem + "-" + std::to_string(rng());
}

const std::string absent_id = "00000000-0000-4000-8000-ffffffffffff";  // never created by anyone

}  // namespace

// ---------------------------------------------------------------- accounts

BOOST_AUTO_TEST_CASE(create_and_get_account_with_money_as_two_decimal_strings) {
    auto r = post_account("12.5");  // a JSON number: exact all the same
    BOOST_REQUIRE_EQUAL(r.status, 201);
    auto& a = r.body.at("data").as_object();
    BOOST_TEST(a.at("balance").as_string() == "12.50");
    BOOST_TEST(a.at("owner_id").is_null());
    BOOST_TEST(a.at("id").as_string().size() == 36u);
    std::string created = str(a.at("created_at"));
    BOOST_TEST(created.size() == 27u);  // 2026-11-22T10:15:30.123456Z
    BOOST_TEST(created.back() == 'Z');

    auto got = call(verb::get, "/accounts/" + str(a.at("id")));
    BOOST_TEST(got.status == 200);
    BOOST_TEST(json::serialize(got.body.at("data")) == json::serialize(a));

    BOOST_TEST(data_str(post_account("\"100\""), "balance") == "100.00");
    BOOST_TEST(data_str(post_account("0"), "balance") == "0.00");  // an empty account is fine
    BOOST_TEST(data_str(post_account("\"9999999999.99\""), "balance") == "9999999999.99");
    BOOST_TEST(data_str(post_account("1.5e1"), "balance") == "15.00");
}

BOOST_AUTO_TEST_CASE(create_account_rejects_invalid_money_and_fields) {
    for (std::string bad : {"\"-1\"", "-1", "\"1.005\"", "1.005", "\"abc\"", "\"12345678901\"", "true", "\"NaN\"",
                            "\"\"", "null"}) {
        auto r = post_account(bad);
        BOOST_TEST_CONTEXT("balance " << bad) {
            BOOST_TEST(r.status == 400);
            BOOST_TEST(code(r) == "VALIDATION_FAILED");
            BOOST_TEST(detail_fields(r) == std::set<std::string>{"balance"});
        }
    }
    auto no_balance = call(verb::post, "/accounts", "{}");
    BOOST_TEST(no_balance.status == 400);
    BOOST_TEST(detail_fields(no_balance) == std::set<std::string>{"balance"});

    auto bad_owner = post_account("1", "not-a-uuid");
    BOOST_TEST(bad_owner.status == 400);
    BOOST_TEST(detail_fields(bad_owner) == std::set<std::string>{"owner_id"});

    auto not_json = call(verb::post, "/accounts", "{\"balance\":");
    BOOST_TEST(not_json.status == 400);
    BOOST_TEST(code(not_json) == "MALFORMED_JSON");
}

BOOST_AUTO_TEST_CASE(account_owner_must_be_a_live_user) {
    auto email = unique_key("owner") + "@example.com";
    auto u = call(verb::post, "/users",
                  json::serialize(json::object{{"email", email}, {"username", "owner"}, {"password", "correct horse"}}));
    BOOST_REQUIRE_EQUAL(u.status, 201);
    auto user = data_str(u, "id");

    auto a = post_account("\"5.00\"", user);
    BOOST_TEST(a.status == 201);
    BOOST_TEST(data_str(a, "owner_id") == user);

    auto unknown = post_account("\"5.00\"", absent_id);
    BOOST_TEST(unknown.status == 404);
    BOOST_TEST(code(unknown) == "USER_NOT_FOUND");

    BOOST_REQUIRE_EQUAL(call(verb::delete_, "/users/" + user).status, 204);
    auto deleted = post_account("\"5.00\"", user);
    BOOST_TEST(deleted.status == 404);
    BOOST_TEST(code(deleted) == "USER_NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(get_account_errors) {
    auto missing = call(verb::get, "/accounts/" + absent_id);
    BOOST_TEST(missing.status == 404);
    BOOST_TEST(code(missing) == "ACCOUNT_NOT_FOUND");
    auto bad = call(verb::get, "/accounts/xyz");
    BOOST_TEST(bad.status == 400);
    BOOST_TEST(code(bad) == "INVALID_ID");
    BOOST_TEST(call(verb::get, "/accounts/xyz/transfers").status == 400);
}

// ---------------------------------------------------------------- transfers

BOOST_AUTO_TEST_CASE(transfer_moves_money_exactly) {
    auto a = new_account("100.00");
    auto b = new_account("0.00");
    auto t1 = transfer(a, b, "0.1");
    BOOST_REQUIRE_EQUAL(t1.status, 201);
    auto& d = t1.body.at("data").as_object();
    BOOST_TEST(d.at("from_account_id").as_string() == a);
    BOOST_TEST(d.at("to_account_id").as_string() == b);
    BOOST_TEST(d.at("amount").as_string() == "0.10");
    BOOST_TEST(d.at("id").as_string().size() == 36u);
    BOOST_TEST(str(d.at("created_at")).size() == 27u);
    BOOST_REQUIRE_EQUAL(transfer(a, b, "\"0.20\"").status, 201);
    // 0.1 + 0.2 in binary floating point is 0.30000000000000004; here it is 0.30.
    BOOST_TEST(balance(b) == "0.30");
    BOOST_TEST(balance(a) == "99.70");

    // The whole balance may go; then nothing more.
    BOOST_REQUIRE_EQUAL(transfer(a, b, "\"99.70\"").status, 201);
    BOOST_TEST(balance(a) == "0.00");
    BOOST_TEST(balance(b) == "100.00");
}

BOOST_AUTO_TEST_CASE(transfer_errors) {
    auto a = new_account("10.00");
    auto b = new_account("0.00");

    auto poor = transfer(a, b, "\"10.01\"");
    BOOST_TEST(poor.status == 422);
    BOOST_TEST(code(poor) == "INSUFFICIENT_FUNDS");
    BOOST_TEST(balance(a) == "10.00");
    BOOST_TEST(balance(b) == "0.00");

    auto no_from = transfer(absent_id, b, "1");
    BOOST_TEST(no_from.status == 404);
    BOOST_TEST(code(no_from) == "ACCOUNT_NOT_FOUND");
    BOOST_TEST(detail_fields(no_from) == std::set<std::string>{"from_account_id"});
    auto no_to = transfer(a, absent_id, "1");
    BOOST_TEST(no_to.status == 404);
    BOOST_TEST(code(no_to) == "ACCOUNT_NOT_FOUND");
    BOOST_TEST(detail_fields(no_to) == std::set<std::string>{"to_account_id"});

    auto same = transfer(a, a, "1");
    BOOST_TEST(same.status == 400);
    BOOST_TEST(code(same) == "VALIDATION_FAILED");
    BOOST_TEST(detail_fields(same) == std::set<std::string>{"to_account_id"});

    for (std::string bad : {"\"1.001\"", "1.001", "\"-1\"", "-1", "0", "\"0.00\"", "\"12345678901\"", "\"x\"", "null"}) {
        auto r = transfer(a, b, bad);
        BOOST_TEST_CONTEXT("amount " << bad) {
            BOOST_TEST(r.status == 400);
            BOOST_TEST(code(r) == "VALIDATION_FAILED");
            BOOST_TEST(detail_fields(r) == std::set<std::string>{"amount"});
        }
    }
    auto bad_ids = call(verb::post, "/transfers", "{\"from_account_id\":\"x\",\"amount\":\"1\"}");
    BOOST_TEST(bad_ids.status == 400);
    BOOST_TEST((detail_fields(bad_ids) == std::set<std::string>{"from_account_id", "to_account_id"}));

    BOOST_TEST(balance(a) == "10.00");  // nothing above moved any money
    BOOST_TEST(balance(b) == "0.00");
}

BOOST_AUTO_TEST_CASE(idempotent_replay_returns_the_first_transfer_and_moves_money_once) {
    auto a = new_account("50.00");
    auto b = new_account("0.00");
    auto key = unique_key("replay");

    auto first = transfer(a, b, "\"12.50\"", key);
    BOOST_REQUIRE_EQUAL(first.status, 201);
    auto again = transfer(a, b, "12.5", key);  // the same request, spelt differently
    BOOST_TEST(again.status == 200);
    BOOST_TEST(json::serialize(again.body.at("data")) == json::serialize(first.body.at("data")));
    BOOST_TEST(balance(a) == "37.50");
    BOOST_TEST(balance(b) == "12.50");

    // Spend the rest: a replay still answers with the first transfer, not 422.
    BOOST_REQUIRE_EQUAL(transfer(a, b, "\"37.50\"").status, 201);
    auto late = transfer(a, b, "\"12.50\"", key);
    BOOST_TEST(late.status == 200);
    BOOST_TEST(data_str(late, "id") == data_str(first, "id"));
    BOOST_TEST(balance(a) == "0.00");

    // The same key with another body.
    auto other_amount = transfer(a, b, "\"12.51\"", key);
    BOOST_TEST(other_amount.status == 422);
    BOOST_TEST(code(other_amount) == "IDEMPOTENCY_KEY_REUSED");
    auto reversed = transfer(b, a, "\"12.50\"", key);
    BOOST_TEST(reversed.status == 422);
    BOOST_TEST(code(reversed) == "IDEMPOTENCY_KEY_REUSED");
    BOOST_TEST(balance(b) == "50.00");

    // A failed transfer stores nothing under its key: once funded, the key works.
    auto c = new_account("0.00");
    auto key2 = unique_key("after-failure");
    BOOST_TEST(transfer(c, a, "\"1.00\"", key2).status == 422);
    BOOST_REQUIRE_EQUAL(transfer(b, c, "\"1.00\"").status, 201);
    BOOST_TEST(transfer(c, a, "\"1.00\"", key2).status == 201);
}

BOOST_AUTO_TEST_CASE(idempotency_key_must_be_1_to_200_characters) {
    auto a = new_account("10.00");
    auto b = new_account("0.00");
    auto empty = transfer(a, b, "1", std::string());
    BOOST_TEST(empty.status == 400);
    BOOST_TEST(code(empty) == "VALIDATION_FAILED");
    BOOST_TEST(detail_fields(empty) == std::set<std::string>{"Idempotency-Key"});
    auto tail = unique_key("");
    auto too_long = transfer(a, b, "1", std::string(201 - tail.size(), 'k') + tail);
    BOOST_TEST(too_long.status == 400);
    BOOST_TEST(detail_fields(too_long) == std::set<std::string>{"Idempotency-Key"});
    BOOST_TEST(transfer(a, b, "1", std::string(200 - tail.size(), 'k') + tail).status == 201);
    BOOST_TEST(balance(a) == "9.00");
}

BOOST_AUTO_TEST_CASE(concurrent_requests_with_one_key_create_one_transfer) {
    for (int round = 0; round < 3; ++round) {
        auto a = new_account("100.00");
        auto b = new_account("0.00");
        auto key = unique_key("race");
        constexpr int n = 12;
        std::vector<reply> replies(n);
        std::latch go(n);
        std::vector<std::thread> threads;
        for (int i = 0; i < n; ++i)
            threads.emplace_back([&, i] {
                go.arrive_and_wait();  // all at once
                replies[i] = transfer(a, b, "\"7.00\"", key);
            });
        for (auto& t : threads) t.join();

        int created = 0, replayed = 0;
        std::set<std::string> ids;
        for (auto& r : replies) {
            BOOST_TEST_CONTEXT("status " << r.status << " " << json::serialize(r.body)) {
                BOOST_TEST((r.status == 201 || r.status == 200));
            }
            if (r.status == 201) ++created;
            if (r.status == 200) ++replayed;
            if (r.status == 200 || r.status == 201) ids.insert(data_str(r, "id"));
        }
        BOOST_TEST(created == 1);
        BOOST_TEST(replayed == n - 1);
        BOOST_TEST(ids.size() == 1u);
        BOOST_TEST(balance(a) == "93.00");
        BOOST_TEST(balance(b) == "7.00");
    }
}

// The server talks to PostgreSQL through a proxy that cuts the connection right when
// COMMIT is sent: the server cannot know whether the transfer committed.
BOOST_AUTO_TEST_CASE(lost_commit_outcomes_are_settled_and_never_move_money_twice,
                     *boost::unit_test::precondition(plaintext_to_the_database{})) {
    auto [host, pg_port] = host_port(database_url());
    fault_proxy proxy(host, pg_port);
    // sslmode=disable: the proxy must see the statements to cut at COMMIT.
    server_process srv(PGCORO_SERVER_BIN,
                       {{"DATABASE_URL", proxied_url(database_url(), proxy.port())},
                        {"WORKERS", "1"},
                        {"PASSWORD_HASH_COST", "min"}});
    auto a = new_account("100.00");
    auto b = new_account("0.00");

    // COMMIT reaches the database, its answer never comes back: the server finds that it
    // committed and answers 201.
    proxy.cut_when_client_sends("COMMIT", /*forward_first=*/true);
    auto committed = transfer(a, b, "\"10.00\"", std::nullopt, srv.port());
    BOOST_TEST(committed.status == 201);
    BOOST_TEST(balance(a) == "90.00");
    BOOST_TEST(balance(b) == "10.00");

    // COMMIT never reaches the database, on every try: nothing moved, 503.
    proxy.cut_when_client_sends("COMMIT", /*forward_first=*/false);
    auto key = unique_key("lost-commit");
    auto lost = transfer(a, b, "\"5.00\"", key, srv.port());
    BOOST_TEST(lost.status == 503);
    BOOST_TEST(code(lost) == "DATABASE_UNAVAILABLE");
    BOOST_TEST(balance(a) == "90.00");

    // The client retries with its key once the database is reachable again: created
    // once, replayed after.
    proxy.cut_when_client_sends("", false);
    auto retried = transfer(a, b, "\"5.00\"", key, srv.port());
    BOOST_TEST(retried.status == 201);
    auto replayed = transfer(a, b, "\"5.00\"", key);
    BOOST_TEST(replayed.status == 200);
    BOOST_TEST(data_str(replayed, "id") == data_str(retried, "id"));
    BOOST_TEST(balance(a) == "85.00");
    BOOST_TEST(balance(b) == "15.00");
}

// ---------------------------------------------------------------- listing

BOOST_AUTO_TEST_CASE(account_transfers_paginate_newest_first_without_gaps_or_duplicates) {
    auto x = new_account("100.00");
    auto y = new_account("100.00");
    auto z = new_account("100.00");
    std::vector<std::string> made;  // oldest first
    for (int i = 0; i < 7; ++i) {
        auto r = i % 2 ? transfer(y, x, "\"1.00\"") : transfer(x, y, "\"2.00\"");
        BOOST_REQUIRE_EQUAL(r.status, 201);
        made.push_back(data_str(r, "id"));
    }
    BOOST_REQUIRE_EQUAL(transfer(y, z, "\"1.00\"").status, 201);  // does not touch x

    std::vector<std::string> seen;
    std::vector<std::string> times;
    std::string target = "/accounts/" + x + "/transfers?limit=3";
    std::vector<std::size_t> page_sizes;
    for (int guard = 0; guard < 10; ++guard) {
        auto page = call(verb::get, target);
        BOOST_REQUIRE_EQUAL(page.status, 200);
        auto& data = page.body.at("data").as_array();
        page_sizes.push_back(data.size());
        for (auto& t : data) {
            seen.push_back(str(t.at("id")));
            times.push_back(str(t.at("created_at")));
            BOOST_TEST((t.at("from_account_id").as_string() == x || t.at("to_account_id").as_string() == x));
        }
        auto& next = page.body.at("next_cursor");
        if (next.is_null()) break;
        target = "/accounts/" + x + "/transfers?limit=3&cursor=" + str(next);
    }
    BOOST_TEST((page_sizes == std::vector<std::size_t>{3, 3, 1}));
    std::vector<std::string> newest_first(made.rbegin(), made.rend());
    BOOST_TEST(seen == newest_first, boost::test_tools::per_element());
    for (std::size_t i = 1; i < times.size(); ++i) BOOST_TEST(times[i - 1] >= times[i]);  // same format: text order

    // The default limit (20) takes them all; an account without transfers has none.
    auto all = call(verb::get, "/accounts/" + x + "/transfers");
    BOOST_TEST(all.body.at("data").as_array().size() == 7u);
    BOOST_TEST(all.body.at("next_cursor").is_null());
    auto none = call(verb::get, "/accounts/" + new_account("1.00") + "/transfers");
    BOOST_TEST(none.status == 200);
    BOOST_TEST(none.body.at("data").as_array().empty());
    BOOST_TEST(none.body.at("next_cursor").is_null());
}

BOOST_AUTO_TEST_CASE(account_transfers_errors) {
    auto x = new_account("1.00");
    auto unknown = call(verb::get, "/accounts/" + absent_id + "/transfers");
    BOOST_TEST(unknown.status == 404);
    BOOST_TEST(code(unknown) == "ACCOUNT_NOT_FOUND");
    // "aGVsbG8" is base64url for "hello": well-formed base64, not a cursor.
    for (std::string bad : std::vector<std::string>{"abc", "aGVsbG8", "%00", "!!!!", x}) {
        auto r = call(verb::get, "/accounts/" + x + "/transfers?cursor=" + bad);
        BOOST_TEST_CONTEXT("cursor " << bad) {
            BOOST_TEST(r.status == 400);
            BOOST_TEST(code(r) == "VALIDATION_FAILED");
            BOOST_TEST(detail_fields(r) == std::set<std::string>{"cursor"});
        }
    }
    for (std::string bad : {"0", "101", "1.5", "abc"}) {
        auto r = call(verb::get, "/accounts/" + x + "/transfers?limit=" + bad);
        BOOST_TEST_CONTEXT("limit " << bad) { BOOST_TEST(r.status == 400); }
    }
}

// ---------------------------------------------------------------- the invariant

BOOST_AUTO_TEST_CASE(concurrent_transfers_keep_the_total_and_never_overdraw) {
    constexpr int accounts = 5, threads = 25, per_thread = 20;
    std::vector<std::string> ids;
    for (int i = 0; i < accounts; ++i) ids.push_back(new_account("1000.00"));

    std::mutex m;
    std::map<int, int> statuses;
    std::map<std::string, std::int64_t> expected;  // balances implied by the 201 answers, in cents
    for (auto& id : ids) expected[id] = 100000;
    std::vector<std::string> failures;

    std::latch go(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(t * 7919 + 1));
            std::uniform_int_distribution<int> pick(0, accounts - 1), amount(1, 30000);  // 0.01 .. 300.00
            go.arrive_and_wait();
            for (int i = 0; i < per_thread; ++i) {
                int from = pick(rng), to = pick(rng);
                while (to == from) to = pick(rng);
                auto c = amount(rng);
                reply r{0, {}};
                try {
                    r = transfer(ids[from], ids[to], "\"" + money(c) + "\"");
                } catch (const std::exception& e) {
                    std::lock_guard lock(m);
                    failures.push_back(std::string("transport: ") + e.what());
                    continue;
                }
                std::lock_guard lock(m);
                ++statuses[r.status];
                if (r.status == 201) {
                    expected[ids[from]] -= c;
                    expected[ids[to]] += c;
                } else if (r.status != 422) {
                    failures.push_back(std::to_string(r.status) + " " + json::serialize(r.body));
                }
            }
        });
    for (auto& t : pool) t.join();

    for (auto& [s, n] : statuses) BOOST_TEST_MESSAGE("status " << s << ": " << n);
    BOOST_TEST(failures.empty());
    for (auto& f : failures) BOOST_TEST_MESSAGE(f);
    BOOST_TEST(statuses[201] + statuses[422] == threads * per_thread);
    BOOST_TEST(statuses[201] > 0);

    std::int64_t total = 0;
    for (auto& id : ids) {
        auto c = cents(balance(id));
        BOOST_TEST(c >= 0);
        BOOST_TEST(c == expected[id]);  // every 201 moved its money once; every 422 moved none
        total += c;
    }
    BOOST_TEST(total == accounts * 100000);
}

// ---------------------------------------------------------------- seed

BOOST_AUTO_TEST_CASE(seed_is_fast_deterministic_and_idempotent) {
    std::map<std::string, std::string> env{{"DATABASE_URL", database_url()}};
    for (int run = 0; run < 2; ++run) {
        auto r = run_process(PGCORO_SERVER_BIN, {"seed", "--users", "50", "--accounts", "5", "--products", "5"}, env);
        BOOST_TEST_CONTEXT(r.output) {
            BOOST_TEST(r.status == 0);
            BOOST_TEST(r.output.find("seed: 50 users") != std::string::npos);
        }
    }
    auto user = call(verb::get, "/users/00000000-0000-4000-8000-000000000050");
    BOOST_TEST(user.status == 200);
    BOOST_TEST(data_str(user, "email") == "seed50@example.com");

    auto account = call(verb::get, "/accounts/00000000-0000-4000-9000-000000000005");
    BOOST_TEST(account.status == 200);
    BOOST_TEST(data_str(account, "owner_id") == "00000000-0000-4000-8000-000000000005");

    auto product = call(verb::get, "/inventory/00000000-0000-4000-a000-000000000005");
    BOOST_TEST(product.status == 200);

    auto bad = run_process(PGCORO_SERVER_BIN, {"seed", "--users", "-1"}, env);
    BOOST_TEST(bad.status == 2);
    auto misplaced = run_process(PGCORO_SERVER_BIN, {"serve", "--users", "5"}, env);
    BOOST_TEST(misplaced.status == 2);
}
