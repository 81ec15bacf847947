// domain: PUT/GET /inventory/{product_id} over real HTTP against the server and the
// private PostgreSQL.
#define BOOST_TEST_MODULE domain_inventory
#include <boost/test/unit_test.hpp>

#include "domain/shop_support.hpp"

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
