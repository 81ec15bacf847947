#include "domain/inventory/inventory.hpp"

#include <boost/json/object.hpp>
#include <limits>
#include <pgcoro/pool.hpp>

#include "domain/auth/access.hpp"
#include "domain/common/errors.hpp"
#include "domain/common/input.hpp"
#include "net/json_response.hpp"

namespace domain {

namespace {

using net::http::status;
using net::http::verb;
namespace json = boost::json;
using awaitable_response = boost::asio::awaitable<net::response>;

// PUT replaces the quantity outright: it is a stock count, not a delta. Orders move
// stock with their own conditional UPDATEs (domain/orders).
const std::string sql_upsert =
    "INSERT INTO inventory (product_id, quantity, updated_at) VALUES ($1, $2, now())"
    " ON CONFLICT (product_id) DO UPDATE SET quantity = EXCLUDED.quantity, updated_at = EXCLUDED.updated_at"
    " RETURNING product_id, quantity, updated_at";
const std::string sql_get = "SELECT product_id, quantity, updated_at FROM inventory WHERE product_id = $1";
const std::string sql_get_many =
    "SELECT product_id, quantity, updated_at FROM inventory WHERE product_id = ANY($1::uuid[])";

json::object inventory_json(const pgcoro::row& r) {
    return {{"product_id", r.get<pgcoro::uuid>(0).to_string()},
            {"quantity", r.get<std::int32_t>(1)},
            {"updated_at", pgcoro::format_rfc3339(r.get<pgcoro::timestamptz>(2))}};
}

awaitable_response put_inventory(services& svc, net::request_context& ctx, const caller&) {
    auto product_id = path_id(ctx, "product_id");
    auto body = net::parse_json_object(ctx.req);
    fields f(body);
    // The column is an INT: anything larger is refused here rather than by the database.
    auto quantity = f.integer("quantity", true, 0, std::numeric_limits<std::int32_t>::max());
    f.check();
    auto r = co_await svc.pool(ctx.worker).query(sql_upsert, product_id, static_cast<std::int32_t>(*quantity));
    co_return net::json_data(status::ok, inventory_json(r.front()));
}

awaitable_response get_inventory(services& svc, net::request_context& ctx, const caller&) {
    auto product_id = path_id(ctx, "product_id");
    auto found = co_await svc.find_by_id(ctx.worker, &services::lookups::inventory, sql_get, product_id);
    if (!found) fail(status::not_found, "PRODUCT_NOT_FOUND", "product not found in inventory");
    co_return net::json_data(status::ok, inventory_json(found->get()));
}

}  // namespace

std::unique_ptr<pgcoro::lookup_batcher> make_inventory_lookup(pgcoro::pool& pool) {
    return std::make_unique<pgcoro::lookup_batcher>(pool, sql_get_many, 0);
}

void register_inventory(net::router& r, services& svc) {
    route(r, verb::put, "/inventory/{product_id}", access::operator_only, svc, put_inventory);
    route(r, verb::get, "/inventory/{product_id}", access::user, svc, get_inventory);
}

}  // namespace domain
