// e2e: the server binary answering GET /health over real HTTP, through a database stop
// and start.
#define BOOST_TEST_MODULE e2e_health
#include <boost/test/unit_test.hpp>

#include <boost/json/parse.hpp>
#include <chrono>
#include <thread>

#include "support/pg_env.hpp"
#include "support/server_process.hpp"

using namespace test_support;
using net::http::verb;
using clock_type = std::chrono::steady_clock;

BOOST_AUTO_TEST_CASE(health_is_200_with_the_api_shape) {
    server_process srv(PGCORO_SERVER_BIN, {{"DATABASE_URL", database_url()}, {"WORKERS", "2"}});
    auto res = http_request(srv.port(), verb::get, "/health");
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(res[net::http::field::content_type] == "application/json");
    BOOST_TEST(!res["X-Request-Id"].empty());
    auto body = boost::json::parse(res.body()).as_object();
    BOOST_TEST(body.at("status").as_string() == "healthy");
    auto& checks = body.at("checks").as_object();
    BOOST_TEST(checks.at("database").at("status").as_string() == "up");
    BOOST_TEST(checks.at("pool").as_object().contains("acquire_timeouts"));
    BOOST_TEST(checks.at("cluster").at("status").as_string() == "single-node");
    BOOST_TEST(srv.terminate() == 0);
}

BOOST_AUTO_TEST_CASE(unknown_route_and_wrong_method) {
    server_process srv(PGCORO_SERVER_BIN, {{"DATABASE_URL", database_url()}, {"WORKERS", "1"}});
    auto nf = http_request(srv.port(), verb::get, "/nope");
    BOOST_TEST(nf.result_int() == 404);
    BOOST_TEST(boost::json::parse(nf.body()).at("code").as_string() == "NOT_FOUND");
    auto na = http_request(srv.port(), verb::post, "/health");
    BOOST_TEST(na.result_int() == 405);
    BOOST_TEST(na["Allow"] == "GET");
}

BOOST_AUTO_TEST_CASE(health_is_503_while_the_database_is_down_and_recovers) {
    server_process srv(PGCORO_SERVER_BIN,
                       {{"DATABASE_URL", database_url()}, {"WORKERS", "2"}, {"PASSWORD_HASH_COST", "min"}});
    BOOST_TEST(http_request(srv.port(), verb::get, "/health").result_int() == 200);
    // A user to look up through the outage (GET /users/{id} goes through the lookup batcher).
    auto created = http_request(srv.port(), verb::post, "/users",
                                R"({"email":"outage)" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) +
                                    R"(@example.com","username":"outage","password":"correct horse"})",
                                "application/json");
    BOOST_TEST_REQUIRE(created.result_int() == 201);
    std::string user = "/users/" + std::string(boost::json::parse(created.body()).at("data").at("id").as_string());

    pg_control("stop");
    for (int i = 0; i < 3; ++i) {
        auto start = clock_type::now();
        auto res = http_request(srv.port(), verb::get, "/health");
        auto took = clock_type::now() - start;
        BOOST_TEST(res.result_int() == 503);
        BOOST_TEST(boost::json::parse(res.body()).at("status").as_string() == "unhealthy");
        BOOST_TEST((took < std::chrono::seconds(2)));
        auto lookup = http_request(srv.port(), verb::get, user);
        BOOST_TEST(lookup.result_int() == 503);
        BOOST_TEST(boost::json::parse(lookup.body()).at("code").as_string() == "DATABASE_UNAVAILABLE");
    }

    pg_control("start");
    // The server was not restarted: it must reconnect on its own.
    bool healthy = false;
    auto until = clock_type::now() + std::chrono::seconds(10);
    while (!healthy && clock_type::now() < until) {
        healthy = http_request(srv.port(), verb::get, "/health").result_int() == 200;
        if (!healthy) std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling, not hiding a race
    }
    BOOST_TEST(healthy);
    BOOST_TEST(http_request(srv.port(), verb::get, user).result_int() == 200);
}
