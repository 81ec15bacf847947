#include "domain/orders/orders.hpp"

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <map>
#include <optional>
#include <pgcoro/pool.hpp>
#include <pgcoro/transaction.hpp>
#include <string_view>
#include <vector>

#include "domain/common/errors.hpp"
#include "domain/common/input.hpp"
#include "domain/users/users.hpp"
#include "net/json_response.hpp"

namespace domain {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using net::http::status;
using net::http::verb;
using awaitable_response = asio::awaitable<net::response>;

constexpr std::size_t max_items = 100;
constexpr std::int64_t max_item_quantity = 10000;
constexpr std::size_t max_batch_updates = 1000;

// --- SQL

// An order and its items in one statement (one snapshot): one row per item, the order's
// columns repeated; an order without items still gives one row, its item columns NULL.
// orders_json() reads this column layout.
constexpr const char* order_with_items =
    "SELECT o.id, o.user_id, o.status, o.total_amount, o.created_at, o.updated_at,"
    " i.id, i.product_id, i.quantity, i.unit_price"
    " FROM orders o LEFT JOIN order_items i ON i.order_id = o.id";

const std::string sql_get_order = std::string(order_with_items) + " WHERE o.id = $1 ORDER BY i.line_no, i.id";
const std::string sql_user_orders = std::string(order_with_items) +
                                    " WHERE o.user_id = $1 ORDER BY o.created_at DESC, o.id DESC, i.line_no, i.id";

// Reserves the whole order in one statement: quantities are summed per product first
// (two lines of the same product must fit the stock together), and a product is only
// decremented when its stock covers the sum, so the CHECK (quantity >= 0) is never what
// stops an order. Returns the products that could NOT be reserved, with the stock seen
// (NULL when the product is not in inventory): no row means everything was reserved.
// Only rows this statement did not update are reported, so the stock read is the same
// whether a database shows the outer SELECT the CTE's writes (PostgreSQL does not).
const std::string sql_reserve_all =
    "WITH wanted AS ("
    "  SELECT r.product_id, sum(r.quantity)::int4 AS quantity"
    "  FROM unnest($1::uuid[], $2::int4[]) AS r(product_id, quantity) GROUP BY r.product_id),"
    " reserved AS ("
    "  UPDATE inventory i SET quantity = i.quantity - w.quantity, updated_at = now()"
    "  FROM wanted w WHERE i.product_id = w.product_id AND i.quantity >= w.quantity"
    "  RETURNING i.product_id)"
    " SELECT w.product_id, w.quantity, inv.quantity"
    " FROM wanted w LEFT JOIN inventory inv ON inv.product_id = w.product_id"
    " WHERE w.product_id NOT IN (SELECT product_id FROM reserved)";

// Creates the order with all its items, only for a live user (no row otherwise), and
// answers in order_with_items' layout. The total is Σ quantity × unit_price in NUMERIC,
// computed by the database from the same arrays the items are inserted from.
const std::string sql_create_order =
    "WITH o AS ("
    "  INSERT INTO orders (user_id, status, total_amount)"
    "  SELECT u.id, 'pending',"
    "   (SELECT sum(r.quantity * r.unit_price) FROM unnest($3::int4[], $4::numeric[]) AS r(quantity, unit_price))"
    "  FROM users u WHERE u.id = $1 AND u.deleted_at IS NULL"
    "  RETURNING id, user_id, status, total_amount, created_at, updated_at),"
    " i AS ("
    "  INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)"
    "  SELECT o.id, r.n, r.product_id, r.quantity, r.unit_price"
    "  FROM o, unnest($2::uuid[], $3::int4[], $4::numeric[]) WITH ORDINALITY AS r(product_id, quantity, unit_price, n)"
    "  RETURNING id, order_id, line_no, product_id, quantity, unit_price)"
    " SELECT o.id, o.user_id, o.status, o.total_amount, o.created_at, o.updated_at,"
    " i.id, i.product_id, i.quantity, i.unit_price"
    " FROM o LEFT JOIN i ON i.order_id = o.id ORDER BY i.line_no";

// allow_partial: the order first (total filled in at the end), then item by item.
const std::string sql_open_order =
    "INSERT INTO orders (user_id, status, total_amount)"
    " SELECT id, 'pending', 0 FROM users WHERE id = $1 AND deleted_at IS NULL RETURNING id";

// One item: reserve its stock and insert it, or do neither. Answers the new item's id
// (NULL when not reserved) and the stock seen before (NULL: not in inventory).
const std::string sql_reserve_item =
    "WITH reserved AS ("
    "  UPDATE inventory SET quantity = quantity - $3, updated_at = now()"
    "  WHERE product_id = $2 AND quantity >= $3 RETURNING product_id),"
    " item AS ("
    "  INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)"
    "  SELECT $1, $5, product_id, $3, $4 FROM reserved RETURNING id)"
    " SELECT (SELECT id FROM item), (SELECT quantity FROM inventory WHERE product_id = $2)";

const std::string sql_set_total =
    "UPDATE orders SET total_amount ="
    " (SELECT COALESCE(sum(quantity * unit_price), 0) FROM order_items WHERE order_id = $1)"
    " WHERE id = $1";

const std::string sql_lock_order = "SELECT status FROM orders WHERE id = $1 FOR UPDATE";
const std::string sql_set_status = "UPDATE orders SET status = $2, updated_at = now() WHERE id = $1";

// Batch updates lock in id order, so two overlapping batches queue rather than deadlock.
const std::string sql_lock_orders = "SELECT id, status FROM orders WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE";
const std::string sql_set_statuses =
    "UPDATE orders o SET status = u.status, updated_at = now()"
    " FROM unnest($1::uuid[], $2::text[]) AS u(id, status) WHERE o.id = u.id";

// Cancelling gives the items' quantities back, summed per product, for any number of
// orders in one statement.
const std::string sql_return_stock =
    "UPDATE inventory i SET quantity = i.quantity + s.quantity, updated_at = now()"
    " FROM (SELECT product_id, sum(quantity) AS quantity FROM order_items"
    "       WHERE order_id = ANY($1::uuid[]) GROUP BY product_id) s"
    " WHERE i.product_id = s.product_id";

// --- statuses

constexpr std::array<std::string_view, 5> statuses = {"pending", "confirmed", "shipped", "delivered", "cancelled"};

bool known_status(std::string_view s) { return std::find(statuses.begin(), statuses.end(), s) != statuses.end(); }

bool allowed_transition(std::string_view from, std::string_view to) {
    if (from == "pending") return to == "confirmed" || to == "cancelled";
    if (from == "confirmed") return to == "shipped" || to == "cancelled";
    if (from == "shipped") return to == "delivered";
    return false;  // delivered and cancelled are final
}

std::string transition_message(std::string_view from, std::string_view to) {
    if (from == to) return "the order is already " + std::string(from);
    return "cannot change an order from " + std::string(from) + " to " + std::string(to);
}

// The status field of a body: required, and one of the five (case-sensitive).
std::optional<std::string> read_status(fields& f, std::string_view name) {
    auto s = f.text(name, true, 1, 20);
    if (s && !known_status(*s)) {
        f.add(name, "must be one of pending, confirmed, shipped, delivered, cancelled");
        return std::nullopt;
    }
    return s;
}

// --- JSON out

json::object order_json(const pgcoro::row& r) {
    return {{"id", r.get<pgcoro::uuid>(0).to_string()},
            {"user_id", r.get<pgcoro::uuid>(1).to_string()},
            {"status", r.get<std::string>(2)},
            {"total_amount", r.get<pgcoro::decimal>(3).text},
            {"created_at", pgcoro::format_rfc3339(r.get<pgcoro::timestamptz>(4))},
            {"updated_at", pgcoro::format_rfc3339(r.get<pgcoro::timestamptz>(5))},
            {"items", json::array()}};
}

// Orders with their items from rows in order_with_items' layout, grouped by order in the
// order the rows come.
json::array orders_json(const pgcoro::result& r) {
    json::array out;
    std::optional<pgcoro::uuid> current;
    for (int k = 0; k < r.size(); ++k) {
        auto row = r[k];
        auto id = row.get<pgcoro::uuid>(0);
        if (!current || *current != id) {
            out.push_back(order_json(row));
            current = id;
        }
        if (row.is_null(6)) continue;  // an order without items
        auto& order = out.back().as_object();
        order["items"].as_array().push_back(json::object{{"id", row.get<pgcoro::uuid>(6).to_string()},
                                                         {"order_id", order["id"]},
                                                         {"product_id", row.get<pgcoro::uuid>(7).to_string()},
                                                         {"quantity", row.get<std::int32_t>(8)},
                                                         {"unit_price", row.get<pgcoro::decimal>(9).text}});
    }
    return out;
}

// --- errors

[[noreturn]] void user_not_found() { fail(status::not_found, "USER_NOT_FOUND", "user not found"); }
[[noreturn]] void order_not_found() { fail(status::not_found, "ORDER_NOT_FOUND", "order not found"); }

// A product the order could not get: the first line that asked for it, the quantity
// asked for over all its lines, and the stock seen (nullopt: not in inventory).
struct shortage {
    std::size_t first_line;
    pgcoro::uuid product_id;
    std::int64_t requested;
    std::optional<std::int32_t> available;
};

// API.md: one details entry per short product, in line order.
[[noreturn]] void out_of_stock(std::vector<shortage> shortages, std::string message) {
    std::sort(shortages.begin(), shortages.end(),
              [](const shortage& a, const shortage& b) { return a.first_line < b.first_line; });
    json::array details;
    for (auto& s : shortages) {
        std::string why = s.available ? "requested " + std::to_string(s.requested) + ", " +
                                            std::to_string(*s.available) + " in stock"
                                      : "the product is not in inventory";
        details.push_back(json::object{{"field", "items[" + std::to_string(s.first_line) + "].product_id"},
                                       {"message", std::move(why)},
                                       {"product_id", s.product_id.to_string()},
                                       {"requested", s.requested},
                                       {"available", s.available.value_or(0)}});
    }
    fail(status::conflict, "OUT_OF_STOCK", std::move(message), std::move(details));
}

// --- POST /orders

struct item_request {
    pgcoro::uuid product_id;
    std::int32_t quantity = 0;
    pgcoro::decimal unit_price;  // normalised "12.50"
};

struct order_request {
    pgcoro::uuid user_id;
    std::vector<item_request> items;
    bool allow_partial = false;
};

order_request read_order_request(const net::request_context& ctx) {
    auto body = net::parse_json_object(ctx.req);
    fields f(body);
    order_request out;
    auto user_id = f.id("user_id", true);
    auto partial = f.boolean("allow_partial", false);
    const json::value* items = f.raw("items");
    if (!items || items->is_null()) {
        f.add("items", "is required");
    } else if (!items->is_array()) {
        f.add("items", "must be an array");
    } else if (items->as_array().empty() || items->as_array().size() > max_items) {
        f.add("items", "must hold 1 to " + std::to_string(max_items) + " items");
    } else {
        const auto& list = items->as_array();
        for (std::size_t i = 0; i < list.size(); ++i) {
            std::string name = "items[" + std::to_string(i) + "]";
            if (!list[i].is_object()) {
                f.add(name, "must be an object");
                continue;
            }
            fields item(list[i].as_object(), name + ".");
            auto product_id = item.id("product_id", true);
            auto quantity = item.integer("quantity", true, 1, max_item_quantity);
            auto unit_price = item.money("unit_price", true, true);
            for (auto& d : item.details()) f.details().push_back(d);
            if (product_id && quantity && unit_price)
                out.items.push_back({*product_id, static_cast<std::int32_t>(*quantity), pgcoro::decimal{*unit_price}});
        }
    }
    f.check();
    out.user_id = *user_id;
    out.allow_partial = partial.value_or(false);
    return out;
}

// All or nothing: one round trip for the whole body (BEGIN rides along), then COMMIT.
// A short product throws inside the transaction, so the order, its items and the stock
// reserved for the other products are all rolled back.
asio::awaitable<json::object> place_order(pgcoro::pool& pool, const order_request& req) {
    std::vector<pgcoro::uuid> products;
    std::vector<std::int32_t> quantities;
    std::vector<pgcoro::decimal> prices;
    for (auto& it : req.items) {
        products.push_back(it.product_id);
        quantities.push_back(it.quantity);
        prices.push_back(it.unit_price);
    }
    auto op = pool.transact([&](pgcoro::transaction& tx) -> asio::awaitable<pgcoro::result> {
        pgcoro::batch b;
        b.add(sql_create_order, req.user_id, products, quantities, prices);
        b.add(sql_reserve_all, products, quantities);
        auto out = co_await tx.execute(std::move(b));
        if (out[0].rows.empty()) user_not_found();
        const auto& short_rows = out[1].rows;
        if (!short_rows.empty()) {
            std::vector<shortage> shortages;
            for (int k = 0; k < short_rows.size(); ++k) {
                auto row = short_rows[k];
                auto product = row.get<pgcoro::uuid>(0);
                auto line = std::find_if(req.items.begin(), req.items.end(),
                                         [&](const item_request& it) { return it.product_id == product; });
                shortages.push_back({static_cast<std::size_t>(line - req.items.begin()), product,
                                     row.get<std::int32_t>(1), row.get<std::optional<std::int32_t>>(2)});
            }
            out_of_stock(std::move(shortages), "not enough stock for the order");
        }
        co_return std::move(out[0].rows);
    });
    auto rows = co_await std::move(op);
    auto orders = orders_json(rows);
    co_return std::move(orders.at(0).as_object());
}

struct partial_result {
    pgcoro::result order;
    json::array skipped;
};

// allow_partial: each line is tried under its own savepoint, so a line that cannot be
// reserved leaves nothing behind while the others stand. Errors are NOT swallowed per
// line: a serialization failure must restart the whole order (transact retries it), not
// turn into a skipped line that stock would have covered.
asio::awaitable<json::object> place_partial_order(pgcoro::pool& pool, const order_request& req) {
    auto op = pool.transact([&](pgcoro::transaction& tx) -> asio::awaitable<partial_result> {
        auto opened = co_await tx.query(sql_open_order, req.user_id);
        if (opened.empty()) user_not_found();
        auto order_id = opened.front().get<pgcoro::uuid>(0);

        // Built afresh on every attempt: the body may run again after a conflict.
        json::array skipped;
        std::vector<shortage> shortages;
        std::size_t reserved = 0;
        for (std::size_t i = 0; i < req.items.size(); ++i) {
            const auto& it = req.items[i];
            auto line_no = static_cast<std::int32_t>(i + 1);
            auto sp = tx.savepoint();
            auto r = co_await tx.query(sql_reserve_item, order_id, it.product_id, it.quantity, it.unit_price, line_no);
            auto row = r.front();
            if (!row.is_null(0)) {
                sp.release();
                ++reserved;
                continue;
            }
            // Not reserved: sp goes out of scope unreleased and rolls this line back.
            auto available = row.get<std::optional<std::int32_t>>(1);
            skipped.push_back(json::object{{"product_id", it.product_id.to_string()},
                                           {"quantity", it.quantity},
                                           {"reason", available ? "out_of_stock" : "not_in_inventory"}});
            auto same = std::find_if(shortages.begin(), shortages.end(),
                                     [&](const shortage& s) { return s.product_id == it.product_id; });
            if (same == shortages.end()) shortages.push_back({i, it.product_id, it.quantity, available});
            else same->requested += it.quantity;
        }
        // Nothing reserved, so every line saw the stock untouched by this order.
        if (reserved == 0) out_of_stock(std::move(shortages), "no item of the order could be reserved");

        pgcoro::batch b;
        b.add(sql_set_total, order_id);
        b.add(sql_get_order, order_id);
        auto out = co_await tx.execute(std::move(b));
        co_return partial_result{std::move(out[1].rows), std::move(skipped)};
    });
    auto placed = co_await std::move(op);
    auto orders = orders_json(placed.order);
    auto order = std::move(orders.at(0).as_object());
    order["skipped_items"] = std::move(placed.skipped);
    co_return order;
}

awaitable_response create_order(services& svc, net::request_context& ctx) {
    auto req = read_order_request(ctx);
    auto& pool = svc.pool(ctx.worker);
    json::object order;
    if (req.allow_partial) order = co_await place_partial_order(pool, req);
    else order = co_await place_order(pool, req);
    co_return net::json_data(status::created, std::move(order));
}

// --- GET /orders/{id}

awaitable_response get_order(services& svc, net::request_context& ctx) {
    auto id = path_id(ctx, "id");
    auto r = co_await svc.pool(ctx.worker).read_query(sql_get_order, id);
    if (r.empty()) order_not_found();
    auto orders = orders_json(r);
    co_return net::json_data(status::ok, std::move(orders.at(0)));
}

// --- PATCH /orders/{id}/status

awaitable_response patch_status(services& svc, net::request_context& ctx) {
    auto id = path_id(ctx, "id");
    auto body = net::parse_json_object(ctx.req);
    fields f(body);
    auto to_status = read_status(f, "status");
    f.check();
    const std::string& to = *to_status;

    auto op = svc.pool(ctx.worker).transact([&](pgcoro::transaction& tx) -> asio::awaitable<pgcoro::result> {
        // The row lock holds concurrent changes of this order until we commit, so the
        // transition is checked against the status it is applied to.
        auto locked = co_await tx.query(sql_lock_order, id);
        if (locked.empty()) order_not_found();
        auto from = locked.front().get<std::string>(0);
        if (!allowed_transition(from, to))
            fail(status::conflict, "INVALID_TRANSITION", transition_message(from, to),
                 {json::object{{"field", "status"}, {"message", transition_message(from, to)},
                               {"from", from}, {"to", to}}});
        pgcoro::batch b;
        b.add(sql_set_status, id, to);
        if (to == "cancelled") b.add(sql_return_stock, std::vector<pgcoro::uuid>{id});
        b.add(sql_get_order, id);
        auto out = co_await tx.execute(std::move(b));
        co_return std::move(out.back().rows);
    });
    auto rows = co_await std::move(op);
    auto orders = orders_json(rows);
    co_return net::json_data(status::ok, std::move(orders.at(0)));
}

// --- POST /orders/status

struct status_update {
    pgcoro::uuid id;
    std::string status;
};

std::vector<status_update> read_status_updates(const net::request_context& ctx) {
    auto body = net::parse_json_object(ctx.req);
    fields f(body);
    std::vector<status_update> out;
    const json::value* updates = f.raw("updates");
    if (!updates || updates->is_null()) {
        f.add("updates", "is required");
    } else if (!updates->is_array()) {
        f.add("updates", "must be an array");
    } else if (updates->as_array().empty() || updates->as_array().size() > max_batch_updates) {
        f.add("updates", "must hold 1 to " + std::to_string(max_batch_updates) + " updates");
    } else {
        const auto& list = updates->as_array();
        std::map<pgcoro::uuid, std::size_t> seen;
        for (std::size_t i = 0; i < list.size(); ++i) {
            std::string name = "updates[" + std::to_string(i) + "]";
            if (!list[i].is_object()) {
                f.add(name, "must be an object");
                continue;
            }
            fields u(list[i].as_object(), name + ".");
            auto id = u.id("id", true);
            auto st = read_status(u, "status");
            // One order twice in a batch has no single meaning (which status wins? both
            // transitions in turn?): refused, rather than guessed.
            if (id && !seen.emplace(*id, i).second) {
                u.add("id", "appears more than once in the batch (first at updates[" + std::to_string(seen[*id]) + "])");
                id.reset();
            }
            for (auto& d : u.details()) f.details().push_back(d);
            if (id && st) out.push_back({*id, *st});
        }
    }
    f.check();
    return out;
}

awaitable_response batch_status(services& svc, net::request_context& ctx) {
    auto updates = read_status_updates(ctx);
    std::vector<pgcoro::uuid> ids;
    std::vector<std::string> targets;
    std::vector<pgcoro::uuid> cancelled;
    for (auto& u : updates) {
        ids.push_back(u.id);
        targets.push_back(u.status);
        if (u.status == "cancelled") cancelled.push_back(u.id);
    }

    // Three statements whatever the batch size: lock all, update all, return stock for
    // all cancellations. Transitions are checked here between the lock and the update.
    auto op = svc.pool(ctx.worker).transact([&](pgcoro::transaction& tx) -> asio::awaitable<void> {
        auto locked = co_await tx.query(sql_lock_orders, ids);
        std::map<pgcoro::uuid, std::string> current;
        for (int k = 0; k < locked.size(); ++k)
            current.emplace(locked[k].get<pgcoro::uuid>(0), locked[k].get<std::string>(1));

        json::array missing, invalid;
        for (std::size_t i = 0; i < updates.size(); ++i) {
            auto& u = updates[i];
            auto found = current.find(u.id);
            std::string prefix = "updates[" + std::to_string(i) + "].";
            if (found == current.end()) {
                missing.push_back(json::object{{"field", prefix + "id"}, {"message", "order not found"},
                                               {"id", u.id.to_string()}});
            } else if (!allowed_transition(found->second, u.status)) {
                invalid.push_back(json::object{{"field", prefix + "status"},
                                               {"message", transition_message(found->second, u.status)},
                                               {"id", u.id.to_string()},
                                               {"from", found->second},
                                               {"to", u.status}});
            }
        }
        // Unknown ids first: a batch naming orders that do not exist is wrong whatever
        // the transitions of the others.
        if (!missing.empty())
            fail(status::not_found, "ORDER_NOT_FOUND", "some orders of the batch do not exist", std::move(missing));
        if (!invalid.empty())
            fail(status::conflict, "INVALID_TRANSITION", "some status changes of the batch are not allowed",
                 std::move(invalid));

        pgcoro::batch b;
        b.add(sql_set_statuses, ids, targets);
        if (!cancelled.empty()) b.add(sql_return_stock, cancelled);
        co_await tx.execute(std::move(b));
    });
    co_await std::move(op);

    json::array data;
    for (auto& u : updates) data.push_back(json::object{{"id", u.id.to_string()}, {"status", u.status}});
    co_return net::json_data(status::ok, std::move(data));
}

// --- GET /users/{id}/orders

awaitable_response user_orders(services& svc, net::request_context& ctx) {
    auto id = path_id(ctx, "id");
    pgcoro::batch b;
    b.add(sql_get_live_user(), id);
    b.add(sql_user_orders, id);
    auto out = co_await svc.pool(ctx.worker).execute(std::move(b));
    const auto& user = out[0].value();
    if (user.empty()) user_not_found();
    auto data = user_json(user.front());
    data["orders"] = orders_json(out[1].value());
    co_return net::json_data(status::ok, std::move(data));
}

}  // namespace

void register_orders(net::router& r, services& svc) {
    route(r, verb::post, "/orders", svc, create_order);
    route(r, verb::post, "/orders/status", svc, batch_status);
    route(r, verb::get, "/orders/{id}", svc, get_order);
    route(r, verb::patch, "/orders/{id}/status", svc, patch_status);
    route(r, verb::get, "/users/{id}/orders", svc, user_orders);
}

}  // namespace domain
