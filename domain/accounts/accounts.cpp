#include "domain/accounts/accounts.hpp"

#include <boost/json/object.hpp>
#include <charconv>
#include <cstring>
#include <pgcoro/pool.hpp>

#include "domain/accounts/transfers.hpp"
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

constexpr const char* account_columns = "id, owner_id, balance, created_at";

// The owner check and the insert are one statement: no row when the owner is absent or
// soft-deleted. (The foreign key alone would accept a soft-deleted user.)
const std::string sql_insert = std::string(
    "INSERT INTO accounts (owner_id, balance) SELECT $1::uuid, $2::numeric"
    " WHERE $1::uuid IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = $1::uuid AND deleted_at IS NULL)"
    " RETURNING ") + account_columns;
// $2: the owner the caller must be, NULL for an operator. Someone else's account is no
// row, exactly like a missing one.
const std::string sql_get =
    std::string("SELECT ") + account_columns + " FROM accounts WHERE id = $1 AND ($2::uuid IS NULL OR owner_id = $2)";
const std::string sql_exists = "SELECT 1 FROM accounts WHERE id = $1 AND ($2::uuid IS NULL OR owner_id = $2)";

// Transfers touching an account, newest first: one index range scan per direction
// (transfers_from, transfers_to), merged. The second half skips rows the first already
// has. With a cursor, (created_at, id) < cursor is an index condition, so every page
// costs the same however deep it is. Two texts rather than "$2 IS NULL OR ...", which
// a cached generic plan could not use as an index bound.
std::string page_sql(bool after_cursor) {
    std::string cond = after_cursor ? " AND (created_at, id) < ($2::timestamptz, $3::uuid)" : "";
    std::string limit = after_cursor ? "$4" : "$2";
    std::string cols = transfer_columns;
    return "SELECT " + cols + " FROM ((SELECT " + cols + " FROM transfers WHERE from_account_id = $1" + cond +
           " ORDER BY created_at DESC, id DESC LIMIT " + limit + ") UNION ALL (SELECT " + cols +
           " FROM transfers WHERE to_account_id = $1 AND from_account_id <> $1" + cond +
           " ORDER BY created_at DESC, id DESC LIMIT " + limit + ")) t ORDER BY created_at DESC, id DESC LIMIT " +
           limit;
}
const std::string sql_page_first = page_sql(false);
const std::string sql_page_after = page_sql(true);

json::object account_json(const pgcoro::row& r) {
    auto owner = r.get<std::optional<pgcoro::uuid>>(1);
    return {{"id", r.get<pgcoro::uuid>(0).to_string()},
            {"owner_id", owner ? json::value(owner->to_string()) : json::value(nullptr)},
            {"balance", r.get<std::string>(2)},
            {"created_at", pgcoro::format_rfc3339(r.get<pgcoro::timestamptz>(3))}};
}

// --- the transfers cursor: opaque to clients, base64url of "<created_at µs>:<id>", the
// position of the last transfer of the page in (created_at DESC, id DESC) order.

constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url_encode(std::string_view in) {
    std::string out;
    unsigned acc = 0;
    int bits = 0;
    for (unsigned char c : in) {
        acc = (acc << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += b64_alphabet[(acc >> bits) & 63];
        }
        acc &= (1u << bits) - 1;
    }
    if (bits > 0) out += b64_alphabet[(acc << (6 - bits)) & 63];
    return out;
}

std::optional<std::string> base64url_decode(std::string_view in) {
    std::string out;
    unsigned acc = 0;
    int bits = 0;
    for (char c : in) {
        const char* p = c ? std::strchr(b64_alphabet, c) : nullptr;
        if (!p) return std::nullopt;
        acc = (acc << 6) | static_cast<unsigned>(p - b64_alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
        acc &= (1u << bits) - 1;
    }
    if (bits >= 6 || acc != 0) return std::nullopt;  // a dangling character or stray bits: not ours
    return out;
}

struct cursor {
    pgcoro::timestamptz created_at;
    pgcoro::uuid id;
};

std::string encode_cursor(const cursor& c) {
    return base64url_encode(std::to_string(c.created_at.time_since_epoch().count()) + ":" + c.id.to_string());
}

std::optional<cursor> decode_cursor(std::string_view text) {
    if (text.size() > 128) return std::nullopt;
    auto raw = base64url_decode(text);
    if (!raw) return std::nullopt;
    auto colon = raw->find(':');
    if (colon == std::string::npos) return std::nullopt;
    std::int64_t micros = 0;
    auto [p, ec] = std::from_chars(raw->data(), raw->data() + colon, micros);
    // 0 .. the end of year 9999: timestamps the database can take back.
    if (ec != std::errc{} || p != raw->data() + colon || micros < 0 || micros > 253402300799999999)
        return std::nullopt;
    auto id = pgcoro::uuid::parse(std::string_view(*raw).substr(colon + 1));
    if (!id) return std::nullopt;
    return cursor{pgcoro::timestamptz(std::chrono::microseconds(micros)), *id};
}

// --- handlers

awaitable_response create_account(services& svc, net::request_context& ctx, const caller& who) {
    auto body = net::parse_json_object(ctx.req);
    fields f(body);
    auto owner = f.id("owner_id", false);
    auto balance = f.money("balance", true, /*allow_zero=*/true);
    f.check();
    if (!owner) owner = who.user_id;  // omitted: the caller's own (no owner with AUTH=off)
    // Users open their own accounts, empty: money enters only through operators.
    if (owner && !who.may_act_for(*owner))
        fail(status::forbidden, "FORBIDDEN", "users may open accounts only for themselves",
             {json::object{{"field", "owner_id"}, {"message", "must be the caller's own id"}}});
    if (!who.is_operator && *balance != "0.00")
        fail(status::forbidden, "FORBIDDEN", "users may open accounts only with a zero balance",
             {json::object{{"field", "balance"}, {"message", "must be 0.00"}}});

    const pgcoro::decimal amount{*balance};
    auto r = co_await svc.pool(ctx.worker).query(sql_insert, owner, amount);
    if (r.empty())
        fail(status::not_found, "USER_NOT_FOUND", "owner not found",
             {json::object{{"field", "owner_id"}, {"message", "no such user"}}});
    co_return net::json_data(status::created, account_json(r.front()));
}

awaitable_response get_account(services& svc, net::request_context& ctx, const caller& who) {
    auto id = path_id(ctx, "id");
    auto r = co_await svc.pool(ctx.worker).read_query(sql_get, id, who.scope());
    if (r.empty()) fail(status::not_found, "ACCOUNT_NOT_FOUND", "account not found");
    co_return net::json_data(status::ok, account_json(r.front()));
}

awaitable_response list_account_transfers(services& svc, net::request_context& ctx, const caller& who) {
    auto id = path_id(ctx, "id");
    int limit = query_limit(ctx);
    std::optional<cursor> after;
    if (auto c = ctx.query_param("cursor")) {
        after = decode_cursor(*c);
        if (!after)
            fail(status::bad_request, "VALIDATION_FAILED", "cursor is not valid",
                 {json::object{{"field", "cursor"}, {"message", "is not a cursor returned by this API"}}});
    }

    // The existence check and the page in one round trip.
    pgcoro::batch b;
    b.add(sql_exists, id, who.scope());
    if (after) b.add(sql_page_after, id, after->created_at, after->id, limit + 1);  // one more: a next page?
    else b.add(sql_page_first, id, limit + 1);
    auto op = svc.pool(ctx.worker).execute(std::move(b));
    auto out = co_await std::move(op);
    if (out.at(0).value().empty()) fail(status::not_found, "ACCOUNT_NOT_FOUND", "account not found");
    const auto& rows = out.at(1).value();

    json::array data;
    int shown = std::min(rows.size(), limit);
    for (int i = 0; i < shown; ++i) data.push_back(transfer_json(rows[i]));
    json::value next = nullptr;
    if (rows.size() > limit) {
        auto last = rows[limit - 1];
        next = encode_cursor({last.get<pgcoro::timestamptz>(4), last.get<pgcoro::uuid>(0)});
    }
    co_return net::json_body(status::ok, json::object{{"data", std::move(data)}, {"next_cursor", next}});
}

}  // namespace

void register_accounts(net::router& r, services& svc) {
    route(r, verb::post, "/accounts", access::user, svc, create_account);     // their own, empty
    route(r, verb::get, "/accounts/{id}", access::user, svc, get_account);    // their own
    route(r, verb::get, "/accounts/{id}/transfers", access::user, svc, list_account_transfers);  // their own
}

}  // namespace domain
