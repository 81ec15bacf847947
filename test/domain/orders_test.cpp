// domain: the orders API (POST /orders, GET /orders/{id}, PATCH /orders/{id}/status,
// POST /orders/status, GET /users/{id}/orders) over real HTTP against the server and the
// private PostgreSQL, stock bookkeeping included.
#define BOOST_TEST_MODULE domain_orders
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "domain/shop_support.hpp"

using namespace shop;

namespace {

const std::vector<std::string> all_statuses = {"pending", "confirmed", "shipped", "delivered", "cancelled"};

bool allowed(const std::string& from, const std::string& to) {
    static const std::multimap<std::string, std::string> ok = {
        {"pending", "confirmed"}, {"pending", "cancelled"}, {"confirmed", "shipped"},
        {"confirmed", "cancelled"}, {"shipped", "delivered"}};
    auto [b, e] = ok.equal_range(from);
    for (auto it = b; it != e; ++it)
        if (it->second == to) return true;
    return false;
}

// A valid path from pending to each status.
const std::map<std::string, std::vector<std::string>> path_to = {
    {"pending", {}},
    {"confirmed", {"confirmed"}},
    {"shipped", {"confirmed", "shipped"}},
    {"delivered", {"confirmed", "shipped", "delivered"}},
    {"cancelled", {"cancelled"}}};

// A fresh order (one item of `product`) driven to `status` through valid transitions.
std::string order_in(const std::string& user, const std::string& product, const std::string& status) {
    auto id = str(place(user, {item(product, 1)}).at("id"));
    for (auto& s : path_to.at(status)) BOOST_REQUIRE_EQUAL(set_status(id, s).status, 200);
    return id;
}

std::string status_of(const std::string& order) {
    auto r = call(verb::get, "/orders/" + order);
    BOOST_REQUIRE_EQUAL(r.status, 200);
    return str(r.data().at("status"));
}

std::size_t order_count(const std::string& user) {
    auto r = call(verb::get, "/users/" + user + "/orders");
    BOOST_REQUIRE_EQUAL(r.status, 200);
    return r.data().at("orders").as_array().size();
}

reply batch(json::array updates) { return call(verb::post, "/orders/status", json::object{{"updates", std::move(updates)}}); }

json::object update(const std::string& id, const std::string& status) { return {{"id", id}, {"status", status}}; }

// The details entry about `product`, or null.
const json::object* detail_for(const reply& r, const std::string& key, const std::string& value) {
    for (auto& d : r.details())
        if (d.as_object().contains(key) && str(d.at(key)) == value) return &d.as_object();
    return nullptr;
}

}  // namespace

// --- POST /orders and GET /orders/{id}

BOOST_AUTO_TEST_CASE(an_order_reserves_stock_and_the_server_computes_the_total) {
    auto user = new_user();
    auto a = new_product(10);
    auto b = new_product(5);
    auto r = post_order(user, {item(a, 3, "12.50"), item(b, 2, json::value(0.1)), item(a, 1, "0")});
    BOOST_REQUIRE_EQUAL(r.status, 201);
    auto& o = r.data();
    BOOST_TEST(str(o.at("user_id")) == user);
    BOOST_TEST(str(o.at("status")) == "pending");
    BOOST_TEST(str(o.at("total_amount")) == "37.70");  // 3 × 12.50 + 2 × 0.10 + 1 × 0
    BOOST_TEST(api_timestamp(o.at("created_at")));
    BOOST_TEST(api_timestamp(o.at("updated_at")));
    BOOST_TEST(!o.contains("skipped_items"));  // only for allow_partial

    auto& items = o.at("items").as_array();
    BOOST_REQUIRE_EQUAL(items.size(), 3u);
    // In the order sent.
    BOOST_TEST(str(items[0].at("product_id")) == a);
    BOOST_TEST(items[0].at("quantity").as_int64() == 3);
    BOOST_TEST(str(items[0].at("unit_price")) == "12.50");
    BOOST_TEST(str(items[1].at("product_id")) == b);
    BOOST_TEST(str(items[1].at("unit_price")) == "0.10");
    BOOST_TEST(str(items[2].at("product_id")) == a);
    BOOST_TEST(str(items[2].at("unit_price")) == "0.00");
    for (auto& it : items) {
        BOOST_TEST(str(it.at("order_id")) == str(o.at("id")));
        BOOST_TEST(it.as_object().size() == 5u);
    }

    BOOST_TEST(stock(a) == 6);
    BOOST_TEST(stock(b) == 3);

    auto got = call(verb::get, "/orders/" + str(o.at("id")));
    BOOST_TEST(got.status == 200);
    BOOST_TEST(got.body == r.body);
}

BOOST_AUTO_TEST_CASE(money_is_exact_at_the_extremes) {
    auto user = new_user();
    auto p = new_product(20000);
    auto r = post_order(user, {item(p, 10000, "9999999999.99"), item(p, 10000, json::value(0.01))});
    BOOST_REQUIRE_EQUAL(r.status, 201);
    // 10000 × 9999999999.99 + 10000 × 0.01, no binary floating point anywhere.
    BOOST_TEST(str(r.data().at("total_amount")) == "100000000000000.00");
    // JSON numbers with a fraction or an exponent are read exactly too.
    put_stock(p, 10);
    auto e = call(verb::post, "/orders",
                  R"({"user_id":")" + user + R"(","items":[{"product_id":")" + p +
                      R"(","quantity":3,"unit_price":25e-1},{"product_id":")" + p +
                      R"(","quantity":7,"unit_price":0.10}]})");
    BOOST_REQUIRE_EQUAL(e.status, 201);
    BOOST_TEST(str(e.data().at("total_amount")) == "8.20");  // 3 × 2.50 + 7 × 0.10
    BOOST_TEST(str(e.data().at("items").at(0).at("unit_price")) == "2.50");
}

BOOST_AUTO_TEST_CASE(invalid_orders_are_400_with_the_fields_named_and_write_nothing) {
    auto user = new_user();
    auto p = new_product(50);
    struct bad_case {
        json::value body;
        std::string field;
    };
    json::array many;
    for (int i = 0; i < 101; ++i) many.push_back(item(p, 1));
    std::vector<bad_case> cases = {
        {json::object{{"user_id", user}, {"items", json::array{item(p, 1, "1.005")}}}, "items[0].unit_price"},
        {json::object{{"user_id", user}, {"items", json::array{item(p, 1, json::value(1.005))}}}, "items[0].unit_price"},
        {json::object{{"user_id", user}, {"items", json::array{item(p, 1, "-1.00")}}}, "items[0].unit_price"},
        {json::object{{"user_id", user}, {"items", json::array{item(p, 1, "12345678901.00")}}}, "items[0].unit_price"},
        {json::object{{"user_id", user}, {"items", json::array{item(p, 1, "NaN")}}}, "items[0].unit_price"},
        {json::object{{"user_id", user}, {"items", json::array{item(p, 1), item(p, 0)}}}, "items[1].quantity"},
        {json::object{{"user_id", user}, {"items", json::array{item(p, 10001)}}}, "items[0].quantity"},
        {json::object{{"user_id", user}, {"items", json::array{item(p, 1), item(p, 1), json::object{
            {"product_id", p}, {"quantity", "1.5"}, {"unit_price", "1"}}}}}, "items[2].quantity"},
        {json::object{{"user_id", user}, {"items", json::array{item("nope", 1)}}}, "items[0].product_id"},
        {json::object{{"user_id", user}, {"items", json::array{json::object{{"quantity", 1}, {"unit_price", "1"}}}}},
         "items[0].product_id"},
        {json::object{{"user_id", user}, {"items", json::array{item(p, 1), 5}}}, "items[1]"},
        {json::object{{"user_id", user}, {"items", json::array{}}}, "items"},
        {json::object{{"user_id", user}, {"items", many}}, "items"},
        {json::object{{"user_id", user}, {"items", "all of them"}}, "items"},
        {json::object{{"user_id", user}}, "items"},
        {json::object{{"items", json::array{item(p, 1)}}}, "user_id"},
        {json::object{{"user_id", "123"}, {"items", json::array{item(p, 1)}}}, "user_id"},
        {json::object{{"user_id", user}, {"items", json::array{item(p, 1)}}, {"allow_partial", "yes"}}, "allow_partial"},
    };
    for (auto& c : cases) {
        auto r = call(verb::post, "/orders", c.body);
        BOOST_TEST_CONTEXT(json::serialize(c.body).substr(0, 200)) {
            BOOST_TEST(r.status == 400);
            BOOST_TEST(r.code() == "VALIDATION_FAILED");
            BOOST_TEST(has_field(r, c.field), "details name " << c.field << ": " << json::serialize(r.body));
        }
    }
    // Every problem at once, each named.
    auto all = call(verb::post, "/orders",
                    json::object{{"user_id", "x"}, {"items", json::array{item(p, 0, "1.001"), item("y", 1)}}});
    BOOST_TEST(all.status == 400);
    BOOST_TEST(has_field(all, "user_id"));
    BOOST_TEST(has_field(all, "items[0].quantity"));
    BOOST_TEST(has_field(all, "items[0].unit_price"));
    BOOST_TEST(has_field(all, "items[1].product_id"));

    BOOST_TEST(call(verb::post, "/orders", std::string("[]")).status == 400);
    BOOST_TEST(call(verb::post, "/orders", std::string("{")).code() == "MALFORMED_JSON");
    BOOST_TEST(stock(p) == 50);
    BOOST_TEST(order_count(user) == 0u);
}

BOOST_AUTO_TEST_CASE(unknown_or_deleted_user_is_404_and_reserves_nothing) {
    auto p = new_product(5);
    auto unknown = post_order(new_id(), {item(p, 1)});
    BOOST_TEST(unknown.status == 404);
    BOOST_TEST(unknown.code() == "USER_NOT_FOUND");

    auto user = new_user();
    BOOST_REQUIRE_EQUAL(call(verb::delete_, "/users/" + user).status, 204);
    auto deleted = post_order(user, {item(p, 1)});
    BOOST_TEST(deleted.status == 404);
    BOOST_TEST(deleted.code() == "USER_NOT_FOUND");
    auto partial = post_order(user, {item(p, 1)}, true);
    BOOST_TEST(partial.status == 404);
    BOOST_TEST(partial.code() == "USER_NOT_FOUND");
    BOOST_TEST(stock(p) == 5);
}

BOOST_AUTO_TEST_CASE(out_of_stock_fails_the_whole_order_with_one_detail_per_product) {
    auto user = new_user();
    auto a = new_product(5);
    auto b = new_product(1);
    auto c = new_id();  // never stocked
    auto fine = new_product(100);
    auto r = post_order(user, {item(fine, 10), item(a, 3), item(b, 2), item(a, 3), item(c, 1)});
    BOOST_TEST(r.status == 409);
    BOOST_TEST(r.code() == "OUT_OF_STOCK");
    BOOST_REQUIRE_EQUAL(r.details().size(), 3u);  // a, b, c — not `fine`

    auto* da = detail_for(r, "product_id", a);
    BOOST_REQUIRE(da);
    BOOST_TEST(str(da->at("field")) == "items[1].product_id");  // a's first line
    BOOST_TEST(da->at("requested").as_int64() == 6);             // both lines of a
    BOOST_TEST(da->at("available").as_int64() == 5);
    BOOST_TEST(da->at("message").is_string());
    auto* db = detail_for(r, "product_id", b);
    BOOST_REQUIRE(db);
    BOOST_TEST(str(db->at("field")) == "items[2].product_id");
    BOOST_TEST(db->at("requested").as_int64() == 2);
    BOOST_TEST(db->at("available").as_int64() == 1);
    auto* dc = detail_for(r, "product_id", c);
    BOOST_REQUIRE(dc);
    BOOST_TEST(str(dc->at("field")) == "items[4].product_id");
    BOOST_TEST(dc->at("requested").as_int64() == 1);
    BOOST_TEST(dc->at("available").as_int64() == 0);

    // Nothing written: no stock moved, no order.
    BOOST_TEST(stock(fine) == 100);
    BOOST_TEST(stock(a) == 5);
    BOOST_TEST(stock(b) == 1);
    BOOST_TEST(stock(c) == -1);
    BOOST_TEST(order_count(user) == 0u);

    // Exactly the stock is fine; both lines of a product count together.
    auto exact = post_order(user, {item(a, 2), item(a, 3), item(b, 1)});
    BOOST_TEST(exact.status == 201);
    BOOST_TEST(stock(a) == 0);
    BOOST_TEST(stock(b) == 0);
}

BOOST_AUTO_TEST_CASE(partial_orders_skip_what_cannot_be_reserved) {
    auto user = new_user();
    auto a = new_product(5);
    auto b = new_product(1);
    auto c = new_id();
    auto r = post_order(user, {item(a, 3, "2.50"), item(b, 2, "1.00"), item(c, 1, "9.99"), item(a, 3, "2.50"),
                               item(b, 1, "4.00")},
                        true);
    BOOST_REQUIRE_EQUAL(r.status, 201);
    auto& o = r.data();
    auto& items = o.at("items").as_array();
    BOOST_REQUIRE_EQUAL(items.size(), 2u);  // the first line of a, the last of b
    BOOST_TEST(str(items[0].at("product_id")) == a);
    BOOST_TEST(items[0].at("quantity").as_int64() == 3);
    BOOST_TEST(str(items[1].at("product_id")) == b);
    BOOST_TEST(items[1].at("quantity").as_int64() == 1);
    BOOST_TEST(str(o.at("total_amount")) == "11.50");  // 3 × 2.50 + 1 × 4.00

    auto& skipped = o.at("skipped_items").as_array();
    BOOST_REQUIRE_EQUAL(skipped.size(), 3u);
    BOOST_TEST(str(skipped[0].at("product_id")) == b);
    BOOST_TEST(skipped[0].at("quantity").as_int64() == 2);
    BOOST_TEST(str(skipped[0].at("reason")) == "out_of_stock");
    BOOST_TEST(str(skipped[1].at("product_id")) == c);
    BOOST_TEST(str(skipped[1].at("reason")) == "not_in_inventory");
    BOOST_TEST(str(skipped[2].at("product_id")) == a);
    BOOST_TEST(skipped[2].at("quantity").as_int64() == 3);
    for (auto& s : skipped) BOOST_TEST(s.as_object().size() == 3u);

    BOOST_TEST(stock(a) == 2);
    BOOST_TEST(stock(b) == 0);
    BOOST_TEST(stock(c) == -1);

    auto got = call(verb::get, "/orders/" + str(o.at("id")));
    BOOST_TEST(got.data().at("items") == o.at("items"));
    BOOST_TEST(str(got.data().at("total_amount")) == "11.50");

    // Everything reserved: skipped_items is there, empty.
    auto all = post_order(user, {item(a, 2)}, true);
    BOOST_REQUIRE_EQUAL(all.status, 201);
    BOOST_TEST(all.data().at("skipped_items").as_array().empty());
}

BOOST_AUTO_TEST_CASE(a_partial_order_with_nothing_reservable_is_409_and_writes_nothing) {
    auto user = new_user();
    auto a = new_product(1);
    auto c = new_id();
    auto r = post_order(user, {item(a, 2), item(c, 1), item(a, 3)}, true);
    BOOST_TEST(r.status == 409);
    BOOST_TEST(r.code() == "OUT_OF_STOCK");
    BOOST_REQUIRE_EQUAL(r.details().size(), 2u);
    auto* da = detail_for(r, "product_id", a);
    BOOST_REQUIRE(da);
    BOOST_TEST(str(da->at("field")) == "items[0].product_id");
    BOOST_TEST(da->at("requested").as_int64() == 5);
    BOOST_TEST(da->at("available").as_int64() == 1);
    auto* dc = detail_for(r, "product_id", c);
    BOOST_REQUIRE(dc);
    BOOST_TEST(str(dc->at("field")) == "items[1].product_id");
    BOOST_TEST(dc->at("available").as_int64() == 0);
    BOOST_TEST(stock(a) == 1);
    BOOST_TEST(order_count(user) == 0u);
}

BOOST_AUTO_TEST_CASE(get_order_errors) {
    auto r = call(verb::get, "/orders/" + new_id());
    BOOST_TEST(r.status == 404);
    BOOST_TEST(r.code() == "ORDER_NOT_FOUND");
    auto bad = call(verb::get, "/orders/xyz");
    BOOST_TEST(bad.status == 400);
    BOOST_TEST(bad.code() == "INVALID_ID");
}

// --- PATCH /orders/{id}/status

BOOST_AUTO_TEST_CASE(every_transition_is_checked) {
    auto user = new_user();
    auto p = new_product(1000);
    for (auto& from : all_statuses) {
        for (auto& to : all_statuses) {
            BOOST_TEST_CONTEXT(from << " -> " << to) {
                auto id = order_in(user, p, from);
                auto r = set_status(id, to);
                if (allowed(from, to)) {
                    BOOST_TEST(r.status == 200);
                    BOOST_TEST(str(r.data().at("status")) == to);
                    BOOST_TEST(str(r.data().at("id")) == id);
                    BOOST_TEST(r.data().at("items").as_array().size() == 1u);
                    BOOST_TEST(str(r.data().at("updated_at")) >= str(r.data().at("created_at")));
                } else {
                    BOOST_TEST(r.status == 409);
                    BOOST_TEST(r.code() == "INVALID_TRANSITION");
                    BOOST_REQUIRE_EQUAL(r.details().size(), 1u);
                    BOOST_TEST(str(r.details()[0].at("from")) == from);
                    BOOST_TEST(str(r.details()[0].at("to")) == to);
                    BOOST_TEST(str(r.details()[0].at("field")) == "status");
                }
                BOOST_TEST(status_of(id) == (allowed(from, to) ? to : from));
            }
        }
    }
    // 25 orders of 1; only the cancelled ones gave it back: the 5 that started
    // cancelled, plus pending→cancelled and confirmed→cancelled.
    BOOST_TEST(stock(p) == 1000 - 25 + 7);
}

BOOST_AUTO_TEST_CASE(unknown_statuses_are_400) {
    auto user = new_user();
    auto id = order_in(user, new_product(5), "pending");
    for (const char* body : {R"({"status":"PENDING"})", R"({"status":"Confirmed"})", R"({"status":"archived"})",
                             R"({"status":""})", R"({"status":5})", R"({})", R"({"status":null})"}) {
        BOOST_TEST_CONTEXT(body) {
            auto r = call(verb::patch, "/orders/" + id + "/status", std::string(body));
            BOOST_TEST(r.status == 400);
            BOOST_TEST(r.code() == "VALIDATION_FAILED");
            BOOST_TEST(has_field(r, "status"));
        }
    }
    BOOST_TEST(status_of(id) == "pending");
}

BOOST_AUTO_TEST_CASE(patch_of_an_unknown_order_is_404_and_a_bad_id_400) {
    auto r = set_status(new_id(), "confirmed");
    BOOST_TEST(r.status == 404);
    BOOST_TEST(r.code() == "ORDER_NOT_FOUND");
    auto bad = set_status("nope", "confirmed");
    BOOST_TEST(bad.status == 400);
    BOOST_TEST(bad.code() == "INVALID_ID");
}

BOOST_AUTO_TEST_CASE(cancelling_returns_the_stock) {
    auto user = new_user();
    auto a = new_product(10);
    auto b = new_product(4);
    auto o1 = str(place(user, {item(a, 3), item(b, 4), item(a, 2)}).at("id"));
    BOOST_TEST(stock(a) == 5);
    BOOST_TEST(stock(b) == 0);
    BOOST_REQUIRE_EQUAL(set_status(o1, "cancelled").status, 200);
    BOOST_TEST(stock(a) == 10);
    BOOST_TEST(stock(b) == 4);
    // Once only: a second cancel is refused and gives nothing back.
    BOOST_TEST(set_status(o1, "cancelled").status == 409);
    BOOST_TEST(stock(a) == 10);

    // From confirmed too; shipping and delivering never touch stock.
    auto o2 = str(place(user, {item(a, 4)}).at("id"));
    BOOST_REQUIRE_EQUAL(set_status(o2, "confirmed").status, 200);
    BOOST_TEST(stock(a) == 6);
    BOOST_REQUIRE_EQUAL(set_status(o2, "cancelled").status, 200);
    BOOST_TEST(stock(a) == 10);
    auto o3 = str(place(user, {item(a, 1)}).at("id"));
    for (auto s : {"confirmed", "shipped", "delivered"}) BOOST_REQUIRE_EQUAL(set_status(o3, s).status, 200);
    BOOST_TEST(stock(a) == 9);
}

BOOST_AUTO_TEST_CASE(concurrent_cancels_of_one_order_return_its_stock_once) {
    auto user = new_user();
    auto p = new_product(10);
    auto id = str(place(user, {item(p, 4)}).at("id"));
    std::atomic<int> ok{0}, conflict{0}, other{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&] {
            auto r = set_status(id, "cancelled");
            (r.status == 200 ? ok : r.status == 409 ? conflict : other)++;
        });
    for (auto& t : threads) t.join();
    BOOST_TEST(ok.load() == 1);
    BOOST_TEST(conflict.load() == 7);
    BOOST_TEST(other.load() == 0);
    BOOST_TEST(stock(p) == 10);
}

// --- POST /orders/status

BOOST_AUTO_TEST_CASE(a_batch_applies_every_update_and_returns_stock_for_cancellations) {
    auto user = new_user();
    auto p = new_product(10);
    auto o1 = order_in(user, p, "pending");
    auto o2 = order_in(user, p, "confirmed");
    auto o3 = order_in(user, p, "pending");
    auto o4 = order_in(user, p, "shipped");
    BOOST_TEST(stock(p) == 6);
    auto r = batch({update(o1, "confirmed"), update(o2, "cancelled"), update(o3, "cancelled"), update(o4, "delivered")});
    BOOST_REQUIRE_EQUAL(r.status, 200);
    auto& data = r.body.at("data").as_array();
    BOOST_REQUIRE_EQUAL(data.size(), 4u);
    BOOST_TEST(str(data[0].at("id")) == o1);
    BOOST_TEST(str(data[0].at("status")) == "confirmed");
    BOOST_TEST(str(data[1].at("status")) == "cancelled");
    BOOST_TEST(str(data[3].at("id")) == o4);
    BOOST_TEST(str(data[3].at("status")) == "delivered");
    BOOST_TEST(status_of(o1) == "confirmed");
    BOOST_TEST(status_of(o2) == "cancelled");
    BOOST_TEST(status_of(o3) == "cancelled");
    BOOST_TEST(status_of(o4) == "delivered");
    BOOST_TEST(stock(p) == 8);
}

BOOST_AUTO_TEST_CASE(a_batch_with_an_invalid_transition_changes_nothing) {
    auto user = new_user();
    auto p = new_product(10);
    auto o1 = order_in(user, p, "confirmed");
    auto o2 = order_in(user, p, "cancelled");
    auto o3 = order_in(user, p, "pending");
    auto o4 = order_in(user, p, "delivered");
    BOOST_TEST(stock(p) == 7);
    auto r = batch({update(o1, "shipped"), update(o2, "confirmed"), update(o3, "cancelled"), update(o4, "delivered")});
    BOOST_TEST(r.status == 409);
    BOOST_TEST(r.code() == "INVALID_TRANSITION");
    BOOST_REQUIRE_EQUAL(r.details().size(), 2u);
    auto* d2 = detail_for(r, "id", o2);
    BOOST_REQUIRE(d2);
    BOOST_TEST(str(d2->at("from")) == "cancelled");
    BOOST_TEST(str(d2->at("to")) == "confirmed");
    BOOST_TEST(str(d2->at("field")) == "updates[1].status");
    auto* d4 = detail_for(r, "id", o4);
    BOOST_REQUIRE(d4);
    BOOST_TEST(str(d4->at("from")) == "delivered");  // same status is a transition too
    BOOST_TEST(str(d4->at("to")) == "delivered");
    // All or nothing: the valid ones were not applied either, and no stock came back.
    BOOST_TEST(status_of(o1) == "confirmed");
    BOOST_TEST(status_of(o3) == "pending");
    BOOST_TEST(stock(p) == 7);
}

BOOST_AUTO_TEST_CASE(a_batch_naming_unknown_orders_is_404_and_changes_nothing) {
    auto user = new_user();
    auto p = new_product(10);
    auto o1 = order_in(user, p, "pending");
    auto ghost1 = new_id(), ghost2 = new_id();
    auto r = batch({update(o1, "cancelled"), update(ghost1, "confirmed"), update(ghost2, "cancelled")});
    BOOST_TEST(r.status == 404);
    BOOST_TEST(r.code() == "ORDER_NOT_FOUND");
    BOOST_REQUIRE_EQUAL(r.details().size(), 2u);
    BOOST_TEST(detail_for(r, "id", ghost1));
    BOOST_TEST(detail_for(r, "id", ghost2));
    BOOST_TEST(str(detail_for(r, "id", ghost1)->at("field")) == "updates[1].id");
    BOOST_TEST(status_of(o1) == "pending");
    BOOST_TEST(stock(p) == 9);
}

BOOST_AUTO_TEST_CASE(batch_validation) {
    auto user = new_user();
    auto o1 = order_in(user, new_product(5), "pending");
    json::array too_many;
    for (int i = 0; i < 1001; ++i) too_many.push_back(update(new_id(), "confirmed"));
    struct bad_case {
        json::value body;
        std::string field;
    };
    std::vector<bad_case> cases = {
        {json::object{{"updates", json::array{}}}, "updates"},
        {json::object{{"updates", too_many}}, "updates"},
        {json::object{}, "updates"},
        {json::object{{"updates", json::object{}}}, "updates"},
        {json::object{{"updates", json::array{update(o1, "PENDING")}}}, "updates[0].status"},
        {json::object{{"updates", json::array{update(o1, "confirmed"), update("x", "confirmed")}}}, "updates[1].id"},
        {json::object{{"updates", json::array{update(o1, "confirmed"), 7}}}, "updates[1]"},
        // One order twice: refused, whatever the statuses.
        {json::object{{"updates", json::array{update(o1, "confirmed"), update(o1, "confirmed")}}}, "updates[1].id"},
        {json::object{{"updates", json::array{update(o1, "confirmed"), update(o1, "cancelled")}}}, "updates[1].id"},
    };
    for (auto& c : cases) {
        auto r = call(verb::post, "/orders/status", c.body);
        BOOST_TEST_CONTEXT(json::serialize(c.body).substr(0, 200)) {
            BOOST_TEST(r.status == 400);
            BOOST_TEST(r.code() == "VALIDATION_FAILED");
            BOOST_TEST(has_field(r, c.field), "details name " << c.field << ": " << json::serialize(r.body).substr(0, 300));
        }
    }
    BOOST_TEST(status_of(o1) == "pending");

    // 1000 is the limit, and it is accepted (unknown ids here, so 404 naming all of them).
    json::array thousand;
    for (int i = 0; i < 1000; ++i) thousand.push_back(update(new_id(), "confirmed"));
    auto r = batch(thousand);
    BOOST_TEST(r.status == 404);
    BOOST_TEST(r.details().size() == 1000u);
}

BOOST_AUTO_TEST_CASE(a_large_batch_cancels_many_orders_at_once) {
    auto user = new_user();
    auto a = new_product(300);
    auto b = new_product(300);
    json::array updates;
    for (int i = 0; i < 120; ++i) {
        auto id = str(place(user, {item(a, 2), item(b, 1)}).at("id"));
        updates.push_back(update(id, i % 2 ? "cancelled" : "confirmed"));
    }
    BOOST_TEST(stock(a) == 60);
    BOOST_TEST(stock(b) == 180);
    auto r = batch(updates);
    BOOST_REQUIRE_EQUAL(r.status, 200);
    BOOST_TEST(r.body.at("data").as_array().size() == 120u);
    BOOST_TEST(stock(a) == 60 + 60 * 2);
    BOOST_TEST(stock(b) == 180 + 60);
}

// --- GET /users/{id}/orders

BOOST_AUTO_TEST_CASE(a_users_orders_newest_first_with_items) {
    auto user = new_user();
    auto none = call(verb::get, "/users/" + user + "/orders");
    BOOST_REQUIRE_EQUAL(none.status, 200);
    BOOST_TEST(none.data().at("orders").as_array().empty());
    // The same user fields as GET /users/{id}, plus orders.
    auto plain = call(verb::get, "/users/" + user);
    auto with = none.data();
    with.erase("orders");
    BOOST_TEST(json::value(with) == plain.body.at("data"));

    auto p = new_product(10);
    auto first = place(user, {item(p, 1, "1.00")});
    auto second = place(user, {item(p, 2, "3.00"), item(p, 1, "4.00")});
    auto other_user = new_user();
    place(other_user, {item(p, 1)});

    auto r = call(verb::get, "/users/" + user + "/orders");
    BOOST_REQUIRE_EQUAL(r.status, 200);
    auto& orders = r.data().at("orders").as_array();
    BOOST_REQUIRE_EQUAL(orders.size(), 2u);
    BOOST_TEST(orders[0] == json::value(second));
    BOOST_TEST(orders[1] == json::value(first));
    BOOST_TEST(orders[0].at("items").as_array().size() == 2u);
}

BOOST_AUTO_TEST_CASE(orders_of_unknown_or_deleted_users_are_404) {
    auto r = call(verb::get, "/users/" + new_id() + "/orders");
    BOOST_TEST(r.status == 404);
    BOOST_TEST(r.code() == "USER_NOT_FOUND");
    auto user = new_user();
    place(user, {item(new_product(1), 1)});
    BOOST_REQUIRE_EQUAL(call(verb::delete_, "/users/" + user).status, 204);
    auto deleted = call(verb::get, "/users/" + user + "/orders");
    BOOST_TEST(deleted.status == 404);
    BOOST_TEST(deleted.code() == "USER_NOT_FOUND");
    BOOST_TEST(call(verb::get, "/users/zzz/orders").code() == "INVALID_ID");
}

// --- the invariant under load

BOOST_AUTO_TEST_CASE(two_hundred_concurrent_orders_for_fifty_in_stock) {
    auto user = new_user();
    auto p = new_product(50);
    std::atomic<int> created{0}, out_of_stock{0}, other{0};
    std::mutex m;
    std::vector<std::string> unexpected;
    std::vector<std::thread> threads;
    for (int t = 0; t < 20; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 10; ++i) {
                auto r = post_order(user, {item(p, 1, "1.25")});
                if (r.status == 201) ++created;
                else if (r.status == 409 && r.code() == "OUT_OF_STOCK") ++out_of_stock;
                else {
                    ++other;
                    std::lock_guard lock(m);
                    unexpected.push_back(std::to_string(r.status) + " " + json::serialize(r.body));
                }
            }
        });
    for (auto& t : threads) t.join();
    BOOST_TEST(created.load() == 50);
    BOOST_TEST(out_of_stock.load() == 150);
    BOOST_TEST(other.load() == 0);
    for (std::size_t i = 0; i < unexpected.size() && i < 5; ++i) BOOST_ERROR("unexpected answer: " << unexpected[i]);
    BOOST_TEST(stock(p) == 0);
    BOOST_TEST(order_count(user) == 50u);
}

BOOST_AUTO_TEST_CASE(stock_plus_live_order_quantities_stays_constant_under_mixed_load) {
    // Orders, cancellations and partial orders race on two products; afterwards the
    // stock plus every non-cancelled ordered quantity equals what was put in.
    auto user = new_user();
    auto a = new_product(40);
    auto b = new_product(25);
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 12; ++i) {
                auto r = post_order(user, {item(a, 1 + (i % 3)), item(b, 1 + (t % 2))}, (i + t) % 2 == 0);
                if (r.status == 201 && i % 3 == 0) set_status(str(r.data().at("id")), "cancelled");
            }
        });
    for (auto& t : threads) t.join();

    auto r = call(verb::get, "/users/" + user + "/orders");
    BOOST_REQUIRE_EQUAL(r.status, 200);
    std::int64_t live_a = 0, live_b = 0;
    for (auto& o : r.data().at("orders").as_array()) {
        if (str(o.at("status")) == "cancelled") continue;
        for (auto& it : o.at("items").as_array()) {
            if (str(it.at("product_id")) == a) live_a += it.at("quantity").as_int64();
            if (str(it.at("product_id")) == b) live_b += it.at("quantity").as_int64();
        }
    }
    BOOST_TEST(stock(a) >= 0);
    BOOST_TEST(stock(b) >= 0);
    BOOST_TEST(stock(a) + live_a == 40);
    BOOST_TEST(stock(b) + live_b == 25);
}
