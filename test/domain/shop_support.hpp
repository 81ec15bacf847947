// test/domain/shop_support.hpp — what the inventory and orders tests share: one server
// process per test binary, a JSON-speaking blocking client, and fresh users and products.
//
// The database is shared and outlives the run: every test makes its own users and
// products (random UUIDs) and never assumes a table is empty.
#pragma once

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/test/unit_test.hpp>
#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "support/pg_env.hpp"
#include "support/server_process.hpp"

namespace shop {

namespace json = boost::json;
using net::http::verb;

inline test_support::server_process& server() {
    static test_support::server_process srv(
        PGCORO_SERVER_BIN,
        {{"DATABASE_URL", test_support::database_url()}, {"PASSWORD_HASH_COST", "min"}, {"WORKERS", "2"}});
    return srv;
}

struct reply {
    int status = 0;
    json::value body;

    const json::object& data() const { return body.at("data").as_object(); }
    std::string code() const { return body.is_object() && body.as_object().contains("code")
                                          ? std::string(body.at("code").as_string()) : std::string(); }
    const json::array& details() const { return body.at("details").as_array(); }
};

// Safe from several threads (the concurrency tests call it from many).
inline reply call(verb method, const std::string& target, const std::string& body = {},
                  const std::string& content_type = "application/json") {
    auto res = test_support::http_request(server().port(), method, target, body, content_type);
    reply r;
    r.status = res.result_int();
    if (!res.body().empty()) r.body = json::parse(res.body());
    return r;
}

inline reply call(verb method, const std::string& target, const json::value& body) {
    return call(method, target, json::serialize(body));
}

inline std::string new_id() {
    static std::mutex m;
    static boost::uuids::random_generator gen;
    std::lock_guard lock(m);
    return boost::uuids::to_string(gen());
}

inline std::string str(const json::value& v) { return std::string(v.as_string()); }

// A fresh live user; returns its id.
inline std::string new_user() {
    auto tag = new_id();
    auto r = call(verb::post, "/users",
                  json::object{{"email", "shop-" + tag + "@example.com"},
                               {"username", "shop-" + tag.substr(0, 8)},
                               {"password", "correct horse"}});
    BOOST_REQUIRE_EQUAL(r.status, 201);
    return str(r.data().at("id"));
}

inline void put_stock(const std::string& product, std::int64_t quantity) {
    auto r = call(verb::put, "/inventory/" + product, json::object{{"quantity", quantity}});
    BOOST_REQUIRE_EQUAL(r.status, 200);
}

// A fresh product with `quantity` in stock; returns its id.
inline std::string new_product(std::int64_t quantity) {
    auto id = new_id();
    put_stock(id, quantity);
    return id;
}

// The stock of a product, -1 when it is not in inventory.
inline std::int64_t stock(const std::string& product) {
    auto r = call(verb::get, "/inventory/" + product);
    if (r.status == 404) return -1;
    BOOST_REQUIRE_EQUAL(r.status, 200);
    return r.data().at("quantity").as_int64();
}

inline json::object item(const std::string& product, std::int64_t quantity, json::value unit_price = "1.00") {
    return {{"product_id", product}, {"quantity", quantity}, {"unit_price", std::move(unit_price)}};
}

inline reply post_order(const std::string& user, json::array items, bool allow_partial = false) {
    json::object body{{"user_id", user}, {"items", std::move(items)}};
    if (allow_partial) body["allow_partial"] = true;
    return call(verb::post, "/orders", body);
}

// Places an order that must succeed; returns it.
inline json::object place(const std::string& user, json::array items) {
    auto r = post_order(user, std::move(items));
    BOOST_REQUIRE_EQUAL(r.status, 201);
    return r.data();
}

inline reply set_status(const std::string& order, const std::string& status) {
    return call(verb::patch, "/orders/" + order + "/status", json::object{{"status", status}});
}

// The `field` of every entry of an error's details.
inline std::vector<std::string> detail_fields(const reply& r) {
    std::vector<std::string> out;
    if (!r.body.is_object() || !r.body.as_object().contains("details")) return out;
    for (auto& d : r.details()) out.push_back(str(d.at("field")));
    return out;
}

inline bool has_field(const reply& r, const std::string& field) {
    auto f = detail_fields(r);
    return std::find(f.begin(), f.end(), field) != f.end();
}

// RFC 3339, UTC, six fraction digits: 2026-11-22T10:15:30.123456Z
inline bool api_timestamp(const json::value& v) {
    if (!v.is_string()) return false;
    std::string s(v.as_string());
    return s.size() == 27 && s[10] == 'T' && s[19] == '.' && s.back() == 'Z';
}

}  // namespace shop
