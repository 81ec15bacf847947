#include "domain/orders/orders.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <map>
#include <optional>
#include <pgcoro/pool.hpp>
#include <pgcoro/transaction.hpp>
#include <string_view>
#include <vector>

#include "domain/auth/access.hpp"
#include "domain/common/errors.hpp"
#include "domain/common/input.hpp"
#include "domain/orders/order_status.hpp"
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

// --- SQL

// An order and its items in one statement (one snapshot): one row per item, the order's
// columns repeated; an order without items still gives one row, its item columns NULL.
// orders_json() reads this column layout.
constexpr const char* order_with_items =
    "SELECT o.id, o.user_id, o.status, o.total_amount, o.created_at, o.updated_at,"
    " i.id, i.product_id, i.quantity, i.unit_price"
    " FROM orders o LEFT JOIN order_items i ON i.order_id = o.id";

const std::string sql_get_order = std::string(order_with_items) + " WHERE o.id = $1 ORDER BY i.line_no, i.id";
// The same when the caller owns it ($2, or NULL for an operator): someone else's order is
// no row, exactly like a missing one.
const std::string sql_get_own_order =
    std::string(order_with_items) + " WHERE o.id = $1 AND ($2::uuid IS NULL OR o.user_id = $2) ORDER BY i.line_no, i.id";
const std::string sql_user_orders = std::string(order_with_items) +
                                    " WHERE o.user_id = $1 ORDER BY o.created_at DESC, o.id DESC, i.line_no, i.id";

// Isolation. Orders, cancels and status batches run at READ COMMITTED and lock what they
// decide on: the inventory rows of the products (FOR UPDATE, in product order) and the
// orders they change (FOR UPDATE, in id order). A locked row is read at its latest
// committed version and cannot change until COMMIT, so every decision (enough stock?
// which transition?) holds when it is applied; and with every transaction taking its
// locks in the same order (orders before inventory, each in key order) they queue on a
// hot row instead of deadlocking or failing with 40001 as SERIALIZABLE would. Nothing
// here reads rows it does not lock and then writes on that basis, which is what
// SERIALIZABLE would be needed for. Each transaction's last statements travel with
// COMMIT (query_and_commit), so the locks on a hot product are held for one statement's
// execution, never across a round trip to this server.
const pgcoro::transaction_options locking_tx = [] {
    pgcoro::transaction_options o;
    o.level = pgcoro::isolation::read_committed;
    return o;
}();

// Places an order in one statement, all or nothing: $1 user, then per line $2 product,
// $3 quantity, $4 unit price, $5 line number. The products' rows must have been locked
// by an earlier statement of the transaction (sql_lock_stock): this statement's snapshot
// is then taken after the locks, so it reads the versions it will update. (Locking in a
// CTE of the same statement is not enough at READ COMMITTED: the statement's snapshot
// predates the lock, and its UPDATE then decided on one version and wrote another;
// test/e2e/hot_orders_test.cpp caught it as CHECK (quantity >= 0) violations.)
//   stock     the products' inventory rows (locked already)
//   short     products whose stock does not cover the quantity asked over all their
//             lines (available NULL: not in inventory)
//   go        the user is live and nothing is short: only then do the writes below run
//             (data-modifying CTEs always run; `go` is what makes them write nothing)
//   reserved  the stock decremented, on rows `stock` locked
//   placed, items  the order (total Σ quantity × unit_price in NUMERIC) and its lines
// Answers in order_with_items' layout, one row per item, ordered by line; when nothing
// was written, one row of NULLs. Every row ends with the verdict: no_user, then the
// short products, what was asked and what is in stock (arrays, NULL when none).
const std::string sql_place_order = R"(
WITH wanted AS (
    SELECT r.product_id, sum(r.quantity)::int4 AS quantity
    FROM unnest($2::uuid[], $3::int4[]) AS r(product_id, quantity)
    GROUP BY r.product_id
),
stock AS (
    SELECT i.product_id, i.quantity FROM inventory i
    WHERE i.product_id = ANY ($2::uuid[])
),
short AS (
    SELECT w.product_id, w.quantity AS requested, s.quantity AS available
    FROM wanted w LEFT JOIN stock s ON s.product_id = w.product_id
    WHERE s.quantity IS NULL OR s.quantity < w.quantity
),
buyer AS (
    SELECT id FROM users WHERE id = $1::uuid AND deleted_at IS NULL
),
go AS (
    SELECT EXISTS (SELECT 1 FROM buyer) AND NOT EXISTS (SELECT 1 FROM short) AS ok
),
reserved AS (
    UPDATE inventory i SET quantity = i.quantity - w.quantity, updated_at = now()
    FROM wanted w
    WHERE i.product_id = w.product_id AND (SELECT ok FROM go)
    RETURNING i.product_id
),
placed AS (
    INSERT INTO orders (user_id, status, total_amount)
    SELECT $1::uuid, 'pending',
           (SELECT sum(r.quantity * r.unit_price) FROM unnest($3::int4[], $4::numeric[]) AS r(quantity, unit_price))
    FROM go WHERE ok
    RETURNING id, user_id, status, total_amount, created_at, updated_at
),
items AS (
    INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)
    SELECT p.id, r.line_no, r.product_id, r.quantity, r.unit_price
    FROM placed p, unnest($5::int4[], $2::uuid[], $3::int4[], $4::numeric[])
         AS r(line_no, product_id, quantity, unit_price)
    RETURNING id, order_id, line_no, product_id, quantity, unit_price
)
SELECT p.id, p.user_id, p.status, p.total_amount, p.created_at, p.updated_at,
       i.id, i.product_id, i.quantity, i.unit_price,
       NOT EXISTS (SELECT 1 FROM buyer),
       (SELECT array_agg(product_id ORDER BY product_id) FROM short),
       (SELECT array_agg(requested ORDER BY product_id) FROM short),
       (SELECT array_agg(available ORDER BY product_id) FROM short)
FROM go LEFT JOIN (placed p LEFT JOIN items i ON i.order_id = p.id) ON true
ORDER BY i.line_no)";

// The products' stock, locked in product order: what every statement that changes stock
// runs first (in the same round trip), so that concurrent ones queue in one order.
const std::string sql_lock_stock =
    "SELECT product_id, quantity FROM inventory WHERE product_id = ANY ($1::uuid[]) ORDER BY product_id FOR UPDATE";
const std::string sql_user_is_live = "SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL";

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

// user_id omitted means the caller (required with AUTH=off, where there is none).
order_request read_order_request(const net::request_context& ctx, const caller& who) {
    auto body = net::parse_json_object(ctx.req);
    fields f(body);
    order_request out;
    auto user_id = f.id("user_id", !who.user_id);
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
    if (!user_id) user_id = who.user_id;
    if (!who.may_act_for(*user_id)) user_not_found();  // someone else: as if absent
    out.user_id = *user_id;
    out.allow_partial = partial.value_or(false);
    return out;
}

// The lines of an order as the arrays sql_place_order takes.
struct order_lines {
    std::vector<std::int32_t> line_nos;
    std::vector<pgcoro::uuid> products;
    std::vector<std::int32_t> quantities;
    std::vector<pgcoro::decimal> prices;

    void add(std::size_t line, const item_request& it) {
        line_nos.push_back(static_cast<std::int32_t>(line + 1));
        products.push_back(it.product_id);
        quantities.push_back(it.quantity);
        prices.push_back(it.unit_price);
    }
};

// Runs sql_place_order for `lines` with COMMIT in the same round trip (BEGIN too, when
// nothing was sent before), after sql_lock_stock unless `locked` already. Returns the
// order's rows; throws USER_NOT_FOUND or OUT_OF_STOCK (nothing written, and the
// transaction rolled back by transact()).
asio::awaitable<pgcoro::result> place(pgcoro::transaction& tx, const order_request& req, const order_lines& lines,
                                      bool locked) {
    pgcoro::batch b;
    if (!locked) b.add(sql_lock_stock, lines.products);
    b.add(sql_place_order, req.user_id, lines.products, lines.quantities, lines.prices, lines.line_nos);
    auto out = co_await tx.execute_and_commit(std::move(b));
    auto rows = std::move(out.back().rows);
    auto verdict = rows.front();
    if (!verdict.is_null(0)) co_return rows;  // placed
    if (verdict.get<bool>(10)) user_not_found();
    auto products = verdict.get<std::vector<pgcoro::uuid>>(11);
    auto requested = verdict.get<std::vector<std::int32_t>>(12);
    auto available = verdict.get<std::vector<std::optional<std::int32_t>>>(13);
    std::vector<shortage> shortages;
    for (std::size_t k = 0; k < products.size(); ++k) {
        auto line = std::find_if(req.items.begin(), req.items.end(),
                                 [&](const item_request& it) { return it.product_id == products[k]; });
        shortages.push_back({static_cast<std::size_t>(line - req.items.begin()), products[k], requested.at(k),
                             available.at(k)});
    }
    out_of_stock(std::move(shortages), "not enough stock for the order");
}

// All or nothing: the lock and the placement, sent with BEGIN and COMMIT: one round trip.
asio::awaitable<json::object> place_order(pgcoro::pool& pool, const order_request& req) {
    order_lines lines;
    for (std::size_t i = 0; i < req.items.size(); ++i) lines.add(i, req.items[i]);
    auto op = pool.transact(locking_tx, [&](pgcoro::transaction& tx) { return place(tx, req, lines, false); });
    auto rows = co_await std::move(op);
    auto orders = orders_json(rows);
    co_return std::move(orders.at(0).as_object());
}

struct partial_result {
    pgcoro::result order;
    json::array skipped;
};

// allow_partial: two round trips. The first locks the products' stock (and checks the
// user); lines are then taken in order while the stock left covers them, the others
// skipped; the second places the order with the lines taken, COMMIT with it. The locks
// keep the stock as read until then, so the placement cannot come up short.
asio::awaitable<json::object> place_partial_order(pgcoro::pool& pool, const order_request& req) {
    std::vector<pgcoro::uuid> products;
    for (auto& it : req.items) products.push_back(it.product_id);
    auto op = pool.transact(locking_tx, [&](pgcoro::transaction& tx) -> asio::awaitable<partial_result> {
        pgcoro::batch b;
        b.add(sql_lock_stock, products);
        b.add(sql_user_is_live, req.user_id);
        auto out = co_await tx.execute(std::move(b));
        if (out[1].rows.empty()) user_not_found();
        std::map<pgcoro::uuid, std::int32_t> left;  // stock not yet taken, per product in inventory
        for (int k = 0; k < out[0].rows.size(); ++k)
            left.emplace(out[0].rows[k].get<pgcoro::uuid>(0), out[0].rows[k].get<std::int32_t>(1));

        // Built afresh on every attempt: the body may run again after a deadlock.
        order_lines taken;
        json::array skipped;
        std::vector<shortage> shortages;
        for (std::size_t i = 0; i < req.items.size(); ++i) {
            const auto& it = req.items[i];
            auto stock = left.find(it.product_id);
            if (stock != left.end() && stock->second >= it.quantity) {
                stock->second -= it.quantity;
                taken.add(i, it);
                continue;
            }
            skipped.push_back(json::object{{"product_id", it.product_id.to_string()},
                                           {"quantity", it.quantity},
                                           {"reason", stock != left.end() ? "out_of_stock" : "not_in_inventory"}});
            std::optional<std::int32_t> available;
            if (stock != left.end()) available = stock->second;
            auto same = std::find_if(shortages.begin(), shortages.end(),
                                     [&](const shortage& s) { return s.product_id == it.product_id; });
            if (same == shortages.end()) shortages.push_back({i, it.product_id, it.quantity, available});
            else same->requested += it.quantity;
        }
        // Nothing taken, so every line saw the stock untouched by this order.
        if (taken.products.empty()) out_of_stock(std::move(shortages), "no item of the order could be reserved");
        auto rows = co_await place(tx, req, taken, /*locked=*/true);
        co_return partial_result{std::move(rows), std::move(skipped)};
    });
    auto placed = co_await std::move(op);
    auto orders = orders_json(placed.order);
    auto order = std::move(orders.at(0).as_object());
    order["skipped_items"] = std::move(placed.skipped);
    co_return order;
}

awaitable_response create_order(services& svc, net::request_context& ctx, const caller& who) {
    auto req = read_order_request(ctx, who);
    auto& pool = svc.pool(ctx.worker);
    json::object order;
    if (req.allow_partial) order = co_await place_partial_order(pool, req);
    else order = co_await place_order(pool, req);
    co_return net::json_data(status::created, std::move(order));
}

// --- GET /orders/{id}

awaitable_response get_order(services& svc, net::request_context& ctx, const caller& who) {
    auto id = path_id(ctx, "id");
    auto r = co_await svc.pool(ctx.worker).read_query(sql_get_own_order, id, who.scope());
    if (r.empty()) order_not_found();
    auto orders = orders_json(r);
    co_return net::json_data(status::ok, std::move(orders.at(0)));
}

// --- GET /users/{id}/orders

awaitable_response user_orders(services& svc, net::request_context& ctx, const caller& who) {
    auto id = path_id(ctx, "id");
    if (!who.may_act_for(id)) user_not_found();
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

const pgcoro::transaction_options& order_locking_tx() { return locking_tx; }
const std::string& sql_order_by_id() { return sql_get_order; }
json::array orders_with_items_json(const pgcoro::result& r) { return orders_json(r); }
void order_not_found() { fail(status::not_found, "ORDER_NOT_FOUND", "order not found"); }

void register_orders(net::router& r, services& svc) {
    route(r, verb::post, "/orders", access::user, svc, create_order);                // for themselves
    route(r, verb::get, "/orders/{id}", access::user, svc, get_order);                 // their own
    route(r, verb::get, "/users/{id}/orders", access::user, svc, user_orders);         // themselves only
    register_order_status(r, svc);
}

}  // namespace domain
