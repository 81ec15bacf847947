// domain: PUT/GET /inventory/{product_id} over real HTTP against the server and the
// private PostgreSQL.
#define BOOST_TEST_MODULE domain_inventory
#include <boost/test/unit_test.hpp>

#include "domain/shop_support.hpp"
#include "support/parallel.hpp"
#include "support/pg_env.hpp"

using namespace shop;

BOOST_AUTO_TEST_CASE(put_creates_and_get_reads_it) {
    auto product = new_id();
    auto put = call(verb::put, "/inventory/" + product, json::object{{"quantity", 7}});
    BOOST_TEST(put.status == 200);
    BOOST_TEST(str(put.data().at("product_id")) == product);
    BOOST_TEST(put.data().at("quantity").as_int64() == 7);
    BOOST_TEST(api_timestamp(put.data().at("updated_at")));
    BOOST_TEST(put.data().size() == 3u);

    auto get = call(verb::get, "/inventory/" + product);
    BOOST_TEST(get.status == 200);
    BOOST_TEST(get.body == put.body);
}

BOOST_AUTO_TEST_CASE(put_replaces_the_quantity) {
    auto product = new_product(10);
    auto first = call(verb::get, "/inventory/" + product);
    auto put = call(verb::put, "/inventory/" + product, json::object{{"quantity", 3}});
    BOOST_TEST(put.status == 200);
    BOOST_TEST(put.data().at("quantity").as_int64() == 3);
    BOOST_TEST(stock(product) == 3);
    // RFC 3339 with a fixed width compares as text.
    BOOST_TEST(str(put.data().at("updated_at")) >= str(first.data().at("updated_at")));
    put_stock(product, 0);
    BOOST_TEST(stock(product) == 0);
}

BOOST_AUTO_TEST_CASE(the_whole_int_range_is_accepted) {
    auto product = new_id();
    put_stock(product, 2147483647);
    BOOST_TEST(stock(product) == 2147483647);
}

BOOST_AUTO_TEST_CASE(unknown_product_is_404) {
    auto r = call(verb::get, "/inventory/" + new_id());
    BOOST_TEST(r.status == 404);
    BOOST_TEST(r.code() == "PRODUCT_NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(malformed_product_id_is_400_invalid_id) {
    auto get = call(verb::get, "/inventory/not-a-uuid");
    BOOST_TEST(get.status == 400);
    BOOST_TEST(get.code() == "INVALID_ID");
    auto put = call(verb::put, "/inventory/12345", json::object{{"quantity", 1}});
    BOOST_TEST(put.status == 400);
    BOOST_TEST(put.code() == "INVALID_ID");
}

BOOST_AUTO_TEST_CASE(invalid_quantities_are_400_and_change_nothing) {
    auto product = new_product(5);
    for (const char* body : {R"({"quantity": -1})", R"({"quantity": 1.5})", R"({"quantity": "5"})", R"({})",
                             R"({"quantity": null})", R"({"quantity": 2147483648})", R"({"quantity": 1e2})",
                             R"({"quantity": true})"}) {
        auto r = call(verb::put, "/inventory/" + product, std::string(body));
        BOOST_TEST_CONTEXT(body) {
            BOOST_TEST(r.status == 400);
            BOOST_TEST(r.code() == "VALIDATION_FAILED");
            BOOST_TEST(has_field(r, "quantity"));
        }
    }
    BOOST_TEST(stock(product) == 5);
}

BOOST_AUTO_TEST_CASE(body_problems_are_rejected) {
    auto product = new_id();
    BOOST_TEST(call(verb::put, "/inventory/" + product, std::string("[1]")).status == 400);
    BOOST_TEST(call(verb::put, "/inventory/" + product, std::string("{")).code() == "MALFORMED_JSON");
    BOOST_TEST(call(verb::put, "/inventory/" + product, std::string(R"({"quantity":1})"), "text/plain").status == 415);
    BOOST_TEST(stock(product) == -1);  // none of them created it
}

BOOST_AUTO_TEST_CASE(other_methods_are_405) {
    auto r = call(verb::delete_, "/inventory/" + new_id());
    BOOST_TEST(r.status == 405);
}

// GET /inventory/{product_id} lookups of one event-loop turn share a statement
// (DB_BATCH_LOOKUPS, on by default): each request must still get its own row.
BOOST_AUTO_TEST_CASE(concurrent_gets_each_answer_their_own_product) {
    std::vector<std::string> products;
    for (int i = 0; i < 12; ++i) products.push_back(new_product(100 + i));
    const std::string unknown = new_id();

    auto wrong = test_support::failures_in_parallel(16, 40, [&](std::mt19937& rng) {
        auto pick = rng() % (products.size() + 1);
        if (pick == products.size()) {
            auto r = call(verb::get, "/inventory/" + unknown);
            return r.status == 404 && r.code() == "PRODUCT_NOT_FOUND";
        }
        auto r = call(verb::get, "/inventory/" + products[pick]);
        return r.status == 200 && str(r.data().at("product_id")) == products[pick] &&
               r.data().at("quantity").as_int64() == static_cast<std::int64_t>(100 + pick);
    });
    BOOST_TEST(wrong == 0);
}

BOOST_AUTO_TEST_CASE(gets_answer_the_same_with_lookup_batching_off) {
    auto product = new_product(5);
    auto batched = call(verb::get, "/inventory/" + product);
    test_support::server_process plain(PGCORO_SERVER_BIN,
                                       {{"DATABASE_URL", test_support::database_url()}, {"DB_BATCH_LOOKUPS", "0"}});
    auto got = test_support::http_request(plain.port(), verb::get, "/inventory/" + product);
    BOOST_TEST(got.result_int() == 200);
    BOOST_TEST(json::parse(got.body()) == batched.body);
    auto missing = test_support::http_request(plain.port(), verb::get, "/inventory/" + new_id());
    BOOST_TEST(missing.result_int() == 404);
    BOOST_TEST(json::parse(missing.body()).at("code") == "PRODUCT_NOT_FOUND");
}
