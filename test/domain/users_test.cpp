// domain: the users API over real HTTP against the server and the private PostgreSQL.
#define BOOST_TEST_MODULE domain_users
#include <boost/test/unit_test.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <random>
#include <set>
#include <thread>

#include "support/parallel.hpp"
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
    net::response raw;
};

reply call(verb method, const std::string& target, const std::string& body = {}, header_list headers = {}) {
    auto res = http_request(server().port(), method, target, body, "application/json", headers);
    json::value parsed;
    if (!res.body().empty()) parsed = json::parse(res.body());
    return {static_cast<int>(res.result_int()), parsed, res};
}

std::string unique(const std::string& stem) {
    static std::mt19937_64 rng{std::random_device{}()};
    return stem + std::to_string(rng() % 1000000000000ULL);
}

json::object create(const std::string& email, const std::string& username) {
    auto r = call(verb::post, "/users",
                  json::serialize(json::object{{"email", email}, {"username", username}, {"password", "correct horse"}}));
    BOOST_REQUIRE_EQUAL(r.status, 201);
    return r.body.at("data").as_object();
}

std::string code(const reply& r) { return std::string(r.body.at("code").as_string()); }

}  // namespace

BOOST_AUTO_TEST_CASE(create_get_and_never_return_the_password) {
    auto email = unique("u") + "@example.com";
    auto u = create(email, unique("name"));
    BOOST_TEST(u.at("email").as_string() == email);
    BOOST_TEST(!u.contains("password"));
    BOOST_TEST(!u.contains("password_hash"));
    std::string created = std::string(u.at("created_at").as_string());
    BOOST_TEST(created.size() == 27u);  // 2026-11-22T10:15:30.123456Z
    BOOST_TEST(created.back() == 'Z');
    auto got = call(verb::get, "/users/" + std::string(u.at("id").as_string()));
    BOOST_TEST(got.status == 200);
    BOOST_TEST(got.body.at("data") == u);
    BOOST_TEST(!got.raw["X-Request-Id"].empty());
}

BOOST_AUTO_TEST_CASE(validation_errors_name_the_fields) {
    auto r = call(verb::post, "/users", R"({"email":"no-at-sign","username":"ab","password":"short"})");
    BOOST_TEST(r.status == 400);
    BOOST_TEST(code(r) == "VALIDATION_FAILED");
    std::set<std::string> named;
    for (auto& d : r.body.at("details").as_array()) named.insert(std::string(d.at("field").as_string()));
    BOOST_TEST((named == std::set<std::string>{"email", "username", "password"}));

    BOOST_TEST(call(verb::post, "/users", R"({"email":1,"username":"abc","password":"12345678"})").status == 400);
    BOOST_TEST(code(call(verb::post, "/users", "{not json")) == "MALFORMED_JSON");
    BOOST_TEST(code(call(verb::post, "/users", "[1,2]")) == "MALFORMED_JSON");
    auto no_type = call(verb::post, "/users", R"({"email":"a@b.co"})", {{"Content-Type", "text/plain"}});
    BOOST_TEST(no_type.status == 415);
    BOOST_TEST(call(verb::get, "/users/not-a-uuid").status == 400);
    BOOST_TEST(code(call(verb::get, "/users/not-a-uuid")) == "INVALID_ID");
    BOOST_TEST(code(call(verb::get, "/users/00000000-0000-0000-0000-000000000000")) == "USER_NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(duplicate_email_is_case_insensitive_and_freed_by_delete) {
    auto email = unique("Dup") + "@Example.com";
    auto u = create(email, unique("dup"));
    std::string lower = email;
    for (auto& c : lower) c = static_cast<char>(std::tolower(c));
    auto again = call(verb::post, "/users",
                      json::serialize(json::object{{"email", lower}, {"username", "another"}, {"password", "12345678"}}));
    BOOST_TEST(again.status == 409);
    BOOST_TEST(code(again) == "DUPLICATE_EMAIL");

    std::string id(u.at("id").as_string());
    BOOST_TEST(call(verb::delete_, "/users/" + id).status == 204);
    BOOST_TEST(call(verb::delete_, "/users/" + id).status == 404);
    BOOST_TEST(code(call(verb::get, "/users/" + id)) == "USER_NOT_FOUND");
    BOOST_TEST(code(call(verb::patch, "/users/" + id, R"({"username":"zzz"})")) == "USER_NOT_FOUND");
    create(lower, unique("reuse"));  // the email is free again
}

BOOST_AUTO_TEST_CASE(pagination_has_no_gaps_or_duplicates) {
    for (int i = 0; i < 7; ++i) create(unique("page") + "@example.com", unique("page"));
    std::vector<std::string> seen;
    std::string cursor;
    for (int pages = 0; pages < 100000; ++pages) {
        auto r = call(verb::get, "/users?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor));
        BOOST_REQUIRE_EQUAL(r.status, 200);
        for (auto& u : r.body.at("data").as_array()) seen.emplace_back(u.at("id").as_string());
        if (r.body.at("next_cursor").is_null()) break;
        cursor = std::string(r.body.at("next_cursor").as_string());
    }
    BOOST_TEST(std::is_sorted(seen.begin(), seen.end()));
    BOOST_TEST(std::set<std::string>(seen.begin(), seen.end()).size() == seen.size());
    auto all = call(verb::get, "/users?limit=100");
    BOOST_TEST(seen.size() >= all.body.at("data").as_array().size());
    for (auto bad : {"0", "101", "1.5", "1e2", "abc", "", "-1"})
        BOOST_TEST(call(verb::get, std::string("/users?limit=") + bad).status == 400);
    BOOST_TEST(call(verb::get, "/users?cursor=nope").status == 400);
}

BOOST_AUTO_TEST_CASE(search_matches_percent_and_underscore_literally) {
    auto tag = unique("q");
    create(tag + "_x%y@example.com", tag + "lit");
    create(tag + "axxy@example.com", tag + "other");
    auto r = call(verb::get, "/users?q=" + tag + "_x%25y");  // %25 is a literal %
    BOOST_TEST(r.status == 200);
    auto& data = r.body.at("data").as_array();
    BOOST_TEST(data.size() == 1u);
    BOOST_TEST(data[0].at("username").as_string() == tag + "lit");
    BOOST_TEST(call(verb::get, "/users?q=").status == 400);
    BOOST_TEST(call(verb::get, "/users?q=" + std::string(101, 'a')).status == 400);
    // Case-insensitive, newest first.
    auto both = call(verb::get, "/users?q=" + std::string(tag.begin(), tag.end()));
    BOOST_TEST(both.body.at("data").as_array().size() == 2u);
    BOOST_TEST(both.body.at("data").as_array()[0].at("username").as_string() == tag + "other");
}

BOOST_AUTO_TEST_CASE(injection_and_unicode_are_just_text) {
    auto name = std::string("Ünïcødé '); DROP TABLE users; --");
    auto u = create(unique("uni") + "@example.com", name);
    BOOST_TEST(u.at("username").as_string() == name);
    auto r = call(verb::get, "/users?q=%27%29%3B%20DROP");
    BOOST_TEST(r.status == 200);
    BOOST_TEST(r.body.at("data").as_array().size() >= 1u);
}

BOOST_AUTO_TEST_CASE(patch_with_version_header_has_exactly_one_winner) {
    auto u = create(unique("v") + "@example.com", unique("ver"));
    std::string id(u.at("id").as_string());
    std::string version(u.at("updated_at").as_string());

    auto empty = call(verb::patch, "/users/" + id, "{}");
    BOOST_TEST(empty.status == 200);
    BOOST_TEST(empty.body.at("data").at("updated_at").as_string() == version);

    constexpr int n = 16;
    std::vector<int> statuses(n);
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i)
        threads.emplace_back([&, i] {
            statuses[i] = call(verb::patch, "/users/" + id, R"({"username":"winner)" + std::to_string(i) + R"("})",
                               {{"If-Unmodified-Since-Version", version}})
                              .status;
        });
    for (auto& t : threads) t.join();
    BOOST_TEST(std::count(statuses.begin(), statuses.end(), 200) == 1);
    BOOST_TEST(std::count(statuses.begin(), statuses.end(), 409) == n - 1);

    auto stale = call(verb::patch, "/users/" + id, R"({"username":"late"})", {{"If-Unmodified-Since-Version", version}});
    BOOST_TEST(code(stale) == "CONCURRENT_MODIFICATION");
    BOOST_TEST(call(verb::patch, "/users/" + id, R"({"username":"x"})").status == 400);
    BOOST_TEST(call(verb::patch, "/users/" + id, R"({"email":"bad"})").status == 400);
}

// Concurrent GET /users/{id} of a loop turn share one statement (DB_BATCH_LOOKUPS):
// each still gets its own user, a deleted or unknown id its own 404.
BOOST_AUTO_TEST_CASE(concurrent_gets_each_answer_their_own_user) {
    std::vector<json::object> users;
    for (int i = 0; i < 12; ++i) users.push_back(create(unique("c") + "@example.com", unique("conc")));
    std::string deleted(users.back().at("id").as_string());
    BOOST_REQUIRE_EQUAL(call(verb::delete_, "/users/" + deleted).status, 204);
    users.pop_back();
    const std::string unknown = "00000000-0000-4000-8000-ffffffffffff";

    auto wrong = test_support::failures_in_parallel(16, 40, [&](std::mt19937& rng) {
        auto pick = rng() % (users.size() + 2);
        if (pick < users.size()) {
            auto r = call(verb::get, "/users/" + std::string(users[pick].at("id").as_string()));
            return r.status == 200 && r.body.at("data") == users[pick];
        }
        auto r = call(verb::get, "/users/" + (pick == users.size() ? deleted : unknown));
        return r.status == 404 && code(r) == "USER_NOT_FOUND";
    });
    BOOST_TEST(wrong == 0);
}

BOOST_AUTO_TEST_CASE(gets_answer_the_same_with_lookup_batching_off) {
    auto u = create(unique("nb") + "@example.com", unique("nobatch"));
    server_process plain(PGCORO_SERVER_BIN, {{"DATABASE_URL", database_url()}, {"DB_BATCH_LOOKUPS", "0"}});
    auto got = http_request(plain.port(), verb::get, "/users/" + std::string(u.at("id").as_string()));
    BOOST_TEST(got.result_int() == 200);
    BOOST_TEST(json::parse(got.body()).at("data") == u);
    auto missing = http_request(plain.port(), verb::get, "/users/00000000-0000-4000-8000-ffffffffffff");
    BOOST_TEST(missing.result_int() == 404);
    BOOST_TEST(json::parse(missing.body()).at("code") == "USER_NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(no_response_leaks_sql_or_driver_text) {
    auto r = call(verb::get, "/users/00000000-0000-0000-0000-00000000000g");
    for (auto word : {"SELECT", "syntax", "ERROR:", "pgcoro", "relation"})
        BOOST_TEST(r.raw.body().find(word) == std::string::npos);
}
