// e2e: what the server refuses or does at start-up, before it serves: AUTH=off on a
// public address, operators made by BOOTSTRAP_OPERATOR_* and by `pgcoro-server operator`,
// and a database whose certificate it cannot verify.
#define BOOST_TEST_MODULE e2e_startup
#include <boost/test/unit_test.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <fstream>
#include <sys/stat.h>
#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/pg_env.hpp"
#include "support/server_process.hpp"

using namespace test_support;
using net::http::verb;
namespace json = boost::json;

namespace {

std::string unique_email(const std::string& stem) {
    static std::mt19937_64 rng{std::random_device{}()};
    return stem + std::to_string(rng() % 1000000000000ULL) + "@example.com";
}

// `pgcoro-server operator EMAIL` with `password_line` on its standard input; its exit
// status and output.
process_result operator_command(const std::string& email, const std::string& password_line) {
    std::string cmd = std::string(PGCORO_SERVER_BIN) + " operator " + email + " 2>&1";
    FILE* p = popen(cmd.c_str(), "w");  // DATABASE_URL comes from this process's environment
    BOOST_TEST_REQUIRE(p != nullptr);
    std::fputs(password_line.c_str(), p);
    int status = pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, {}};
}

// POST /sessions on `port`: the status and, on success, the role.
std::pair<int, std::string> log_in(unsigned short port, const std::string& email, const std::string& password) {
    auto res = http_request(port, verb::post, "/sessions",
                            json::serialize(json::object{{"email", email}, {"password", password}}));
    std::string role;
    if (res.result_int() == 201) role = json::parse(res.body()).at("data").at("role").as_string().c_str();
    return {static_cast<int>(res.result_int()), role};
}

std::map<std::string, std::string> auth_env() {
    return {{"DATABASE_URL", database_url()}, {"AUTH", "required"}, {"PASSWORD_HASH_COST", "min"}, {"WORKERS", "1"}};
}

}  // namespace

BOOST_AUTO_TEST_CASE(auth_off_is_refused_on_a_public_address) {
    auto r = run_process(PGCORO_SERVER_BIN, {},
                         {{"DATABASE_URL", database_url()}, {"AUTH", "off"}, {"BIND_ADDRESS", "0.0.0.0"}, {"PORT", "0"}});
    BOOST_TEST(r.status == 2);
    BOOST_TEST(r.output.find("AUTH=off") != std::string::npos, r.output);
    BOOST_TEST(r.output.find("loopback") != std::string::npos, r.output);
    BOOST_TEST(r.output.find("listening") == std::string::npos, r.output);

    // On loopback it starts, and says so in a warning.
    server_process srv(PGCORO_SERVER_BIN, {{"DATABASE_URL", database_url()}, {"AUTH", "off"}, {"WORKERS", "1"}});
    BOOST_TEST(srv.output().find("warn AUTH=off") != std::string::npos, srv.output());
}

BOOST_AUTO_TEST_CASE(bootstrap_operator_is_created_once_and_promotes_an_existing_user) {
    auto email = unique_email("boot");
    auto env = auth_env();
    env["BOOTSTRAP_OPERATOR_EMAIL"] = email;
    env["BOOTSTRAP_OPERATOR_PASSWORD"] = "operator password";
    {
        server_process srv(PGCORO_SERVER_BIN, env);
        BOOST_TEST(srv.output().find("bootstrap operator " + email + ": created") != std::string::npos, srv.output());
        BOOST_TEST(srv.output().find("operator password") == std::string::npos);  // never logged
        BOOST_TEST((log_in(srv.port(), email, "operator password") == std::pair<int, std::string>{201, "operator"}));
    }
    server_process again(PGCORO_SERVER_BIN, env);
    BOOST_TEST(again.output().find(": already an operator") != std::string::npos, again.output());

    // An existing user is promoted only with their own password: an email someone else
    // signed up with first does not make them an operator.
    auto user = unique_email("promote");
    auto created = http_request(again.port(), verb::post, "/users",
                                json::serialize(json::object{{"email", user}, {"username", "promoted"},
                                                             {"password", "user password"}}));
    BOOST_TEST_REQUIRE(created.result_int() == 201);
    BOOST_TEST((log_in(again.port(), user, "user password") == std::pair<int, std::string>{201, "user"}));
    env["BOOTSTRAP_OPERATOR_EMAIL"] = user;
    auto refused = run_process(PGCORO_SERVER_BIN, {}, [&] {
        auto e = env;
        e["PORT"] = "0";
        e["BIND_ADDRESS"] = "127.0.0.1";
        return e;
    }());
    BOOST_TEST(refused.status == 1);
    BOOST_TEST(refused.output.find("refused") != std::string::npos, refused.output);
    BOOST_TEST((log_in(again.port(), user, "user password") == std::pair<int, std::string>{201, "user"}));

    env["BOOTSTRAP_OPERATOR_PASSWORD"] = "user password";
    server_process promoting(PGCORO_SERVER_BIN, env);
    BOOST_TEST(promoting.output().find(": promoted") != std::string::npos, promoting.output());
    BOOST_TEST((log_in(promoting.port(), user, "user password") == std::pair<int, std::string>{201, "operator"}));
}

BOOST_AUTO_TEST_CASE(operator_command_reads_the_password_from_standard_input) {
    setenv("DATABASE_URL", database_url().c_str(), 1);
    setenv("PASSWORD_HASH_COST", "min", 1);
    auto email = unique_email("cli");
    BOOST_TEST(operator_command(email, "short\n").status == 2);  // under 8 characters
    BOOST_TEST(operator_command(email, "a good password\n").status == 0);
    BOOST_TEST(operator_command(email, "\n").status == 2);  // a password is always asked for

    server_process srv(PGCORO_SERVER_BIN, auth_env());
    BOOST_TEST((log_in(srv.port(), email, "a good password") == std::pair<int, std::string>{201, "operator"}));
    BOOST_TEST(log_in(srv.port(), email, "short").first == 401);
}

// With PG_TLS=1 (scripts/pg): a CA that did not sign the server's certificate stops the
// server at start with the reason, and the URL's password appears in no log line.
BOOST_AUTO_TEST_CASE(a_wrong_certificate_authority_stops_the_server_and_its_password_is_never_logged) {
    const char* wrong_ca = std::getenv("PGCORO_WRONG_CA");
    std::string url = database_url();
    if (!wrong_ca || url.find("sslrootcert=") == std::string::npos) {
        BOOST_TEST_MESSAGE("the cluster runs without TLS (run with PG_TLS=1): only the password check runs");
    } else {
        auto at = url.find("sslrootcert=");
        auto end = url.find('&', at);
        url.replace(at, end == std::string::npos ? std::string::npos : end - at, std::string("sslrootcert=") + wrong_ca);
    }
    // A password the cluster does not need (trust authentication), to see it is never printed.
    auto at = url.find("postgres@");
    BOOST_TEST_REQUIRE(at != std::string::npos);
    url.replace(at, 9, "postgres:hunter2-secret@");
    if (wrong_ca) {
        auto r = run_process(PGCORO_SERVER_BIN, {}, {{"DATABASE_URL", url}, {"PORT", "0"}, {"BIND_ADDRESS", "127.0.0.1"}});
        BOOST_TEST(r.status == 1);
        BOOST_TEST(r.output.find("certificate verify failed") != std::string::npos, r.output);
        BOOST_TEST(r.output.find("hunter2") == std::string::npos, r.output);
    }
    // A mistaken argument (the URL without its flag) is not echoed either.
    auto r = run_process(PGCORO_SERVER_BIN, {url}, {{"DATABASE_URL", database_url()}});
    BOOST_TEST(r.status == 2);
    BOOST_TEST(r.output.find("hunter2") == std::string::npos, r.output);
}

// Password hashing runs on a bounded queue: past HASH_QUEUE_MAX waiting or running, a
// sign-up (or log-in) is refused at once with 503 OVERLOADED instead of waiting behind
// minutes of hashing.
BOOST_AUTO_TEST_CASE(a_flood_of_sign_ups_past_the_hash_queue_is_refused_at_once) {
    server_process srv(PGCORO_SERVER_BIN, {{"DATABASE_URL", database_url()},
                                           {"PASSWORD_HASH_COST", "moderate"},  // ~0.5 s and 256 MiB each
                                           {"HASH_QUEUE_MAX", "2"},
                                           {"WORKERS", "2"}});
    constexpr int clients = 8;
    std::vector<std::thread> threads;
    std::vector<int> status(clients);
    std::vector<std::string> retry_after(clients);
    for (int i = 0; i < clients; ++i)
        threads.emplace_back([&, i] {
            auto res = http_request(srv.port(), verb::post, "/users",
                                    json::serialize(json::object{{"email", unique_email("flood")},
                                                                 {"username", "flood"},
                                                                 {"password", "correct horse"}}));
            status[i] = static_cast<int>(res.result_int());
            retry_after[i] = std::string(res["Retry-After"]);
            if (status[i] == 503)
                BOOST_TEST(json::parse(res.body()).at("code").as_string() == "OVERLOADED");
        });
    for (auto& t : threads) t.join();
    int created = static_cast<int>(std::count(status.begin(), status.end(), 201));
    int refused = static_cast<int>(std::count(status.begin(), status.end(), 503));
    BOOST_TEST_MESSAGE(created << " created, " << refused << " refused of " << clients);
    BOOST_TEST(created >= 2);
    BOOST_TEST(refused >= 1);
    BOOST_TEST(created + refused == clients);
    for (int i = 0; i < clients; ++i)
        if (status[i] == 503) BOOST_TEST(retry_after[i] == "1");
}

// Load tests with AUTH=required: `seed --tokens` opens sessions for the first seeded users
// without hashing, one token per line, user n on line n, in a file only its owner reads.
BOOST_AUTO_TEST_CASE(seed_tokens_open_sessions_for_the_first_seeded_users) {
    std::string file = "/tmp/pgcoro-seed-tokens-" + std::to_string(::getpid());
    auto r = run_process(PGCORO_SERVER_BIN,
                         {"seed", "--users", "3", "--accounts", "0", "--products", "0", "--tokens", file, "--sessions", "2"},
                         {{"DATABASE_URL", database_url()}});
    BOOST_TEST_REQUIRE(r.status == 0, r.output);
    std::ifstream in(file);
    std::vector<std::string> tokens;
    for (std::string line; std::getline(in, line);) tokens.push_back(line);
    BOOST_TEST_REQUIRE(tokens.size() == 2u);
    struct stat st {};
    BOOST_TEST(::stat(file.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0600u);
    std::remove(file.c_str());

    server_process srv(PGCORO_SERVER_BIN, auth_env());
    auto as = [&](int n, const std::string& token) {
        return http_request(srv.port(), verb::get, "/users/00000000-0000-4000-8000-00000000000" + std::to_string(n), {},
                            "application/json", {{"Authorization", "Bearer " + token}})
            .result_int();
    };
    BOOST_TEST(as(1, tokens[0]) == 200u);
    BOOST_TEST(as(2, tokens[1]) == 200u);
    BOOST_TEST(as(2, tokens[0]) == 404u);  // user 1 may read only user 1
}
