#include "domain/orders/order_status.hpp"

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

#include "domain/auth/access.hpp"
#include "domain/common/errors.hpp"
#include "domain/common/input.hpp"
#include "domain/orders/orders.hpp"
#include "net/json_response.hpp"

namespace domain {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using net::http::status;
using net::http::verb;
using awaitable_response = asio::awaitable<net::response>;

constexpr std::size_t max_batch_updates = 1000;

// --- SQL

const std::string sql_lock_order =
    "SELECT status FROM orders WHERE id = $1 AND ($2::uuid IS NULL OR user_id = $2) FOR UPDATE";
const std::string sql_set_status = "UPDATE orders SET status = $2, updated_at = now() WHERE id = $1";

// Batch updates lock in id order, so two overlapping batches queue rather than deadlock.
const std::string sql_lock_orders = "SELECT id, status FROM orders WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE";
const std::string sql_set_statuses =
    "UPDATE orders o SET status = u.status, updated_at = now()"
    " FROM unnest($1::uuid[], $2::text[]) AS u(id, status) WHERE o.id = u.id";

// Cancelling gives the items' quantities back, summed per product, for any number of
// orders: sql_lock_returned_stock locks the products' rows in product order, as an order
// placement does (a cancel and a placement sharing two products queue instead of
// deadlocking); sql_return_stock, the next statement, then reads them after the locks.
const std::string sql_lock_returned_stock =
    "SELECT product_id FROM inventory WHERE product_id IN"
    " (SELECT product_id FROM order_items WHERE order_id = ANY ($1::uuid[]))"
    " ORDER BY product_id FOR UPDATE";
const std::string sql_return_stock =
    "UPDATE inventory i SET quantity = i.quantity + s.quantity, updated_at = now()"
    " FROM (SELECT product_id, sum(quantity) AS quantity FROM order_items"
    "       WHERE order_id = ANY ($1::uuid[]) GROUP BY product_id) s"
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

// --- PATCH /orders/{id}/status

awaitable_response patch_status(services& svc, net::request_context& ctx, const caller& who) {
    auto id = path_id(ctx, "id");
    auto body = net::parse_json_object(ctx.req);
    fields f(body);
    auto to_status = read_status(f, "status");
    f.check();
    const std::string& to = *to_status;
    // A user may cancel their own order; every other transition is an operator's, whatever
    // the order (so the answer says nothing of orders that are not theirs).
    if (!who.is_operator && to != "cancelled")
        fail(status::forbidden, "FORBIDDEN", "only operators may set an order's status to " + to);
    const auto scope = who.scope();

    auto op = svc.pool(ctx.worker).transact(order_locking_tx(), [&](pgcoro::transaction& tx) -> asio::awaitable<pgcoro::result> {
        // The row lock holds concurrent changes of this order until we commit, so the
        // transition is checked against the status it is applied to.
        auto locked = co_await tx.query(sql_lock_order, id, scope);
        if (locked.empty()) order_not_found();
        auto from = locked.front().get<std::string>(0);
        if (!allowed_transition(from, to))
            fail(status::conflict, "INVALID_TRANSITION", transition_message(from, to),
                 {json::object{{"field", "status"}, {"message", transition_message(from, to)},
                               {"from", from}, {"to", to}}});
        pgcoro::batch b;
        b.add(sql_set_status, id, to);
        if (to == "cancelled") {
            b.add(sql_lock_returned_stock, std::vector<pgcoro::uuid>{id});
            b.add(sql_return_stock, std::vector<pgcoro::uuid>{id});
        }
        b.add(sql_order_by_id(), id);
        auto out = co_await tx.execute_and_commit(std::move(b));
        co_return std::move(out.back().rows);
    });
    auto rows = co_await std::move(op);
    auto orders = orders_with_items_json(rows);
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

awaitable_response batch_status(services& svc, net::request_context& ctx, const caller&) {
    auto updates = read_status_updates(ctx);
    std::vector<pgcoro::uuid> ids;
    std::vector<std::string> targets;
    std::vector<pgcoro::uuid> cancelled;
    for (auto& u : updates) {
        ids.push_back(u.id);
        targets.push_back(u.status);
        if (u.status == "cancelled") cancelled.push_back(u.id);
    }

    // Four statements whatever the batch size, in two round trips: lock the orders; then
    // update them all, lock the stock of the cancelled ones and return it, with COMMIT.
    // Transitions are checked here between the lock and the update.
    auto op = svc.pool(ctx.worker).transact(order_locking_tx(), [&](pgcoro::transaction& tx) -> asio::awaitable<void> {
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
        if (!cancelled.empty()) {
            b.add(sql_lock_returned_stock, cancelled);
            b.add(sql_return_stock, cancelled);
        }
        co_await tx.execute_and_commit(std::move(b));
    });
    co_await std::move(op);

    json::array data;
    for (auto& u : updates) data.push_back(json::object{{"id", u.id.to_string()}, {"status", u.status}});
    co_return net::json_data(status::ok, std::move(data));
}

}  // namespace

void register_order_status(net::router& r, services& svc) {
    route(r, verb::patch, "/orders/{id}/status", access::user, svc, patch_status);  // cancel their own
    route(r, verb::post, "/orders/status", access::operator_only, svc, batch_status);
}

}  // namespace domain
