#include "domain/users/users.hpp"

#include <boost/json/object.hpp>
#include <pgcoro/pool.hpp>

#include "domain/common/errors.hpp"
#include "domain/common/input.hpp"
#include "domain/users/password.hpp"
#include "net/json_response.hpp"

namespace domain {

namespace {

using net::http::status;
using net::http::verb;
namespace json = boost::json;
using awaitable_response = boost::asio::awaitable<net::response>;

constexpr const char* user_columns = "id, email, username, created_at, updated_at";

const std::string sql_insert = std::string(
    "INSERT INTO users (email, username, password_hash) VALUES ($1, $2, $3) RETURNING ") + user_columns;
const std::string sql_get = std::string("SELECT ") + user_columns + " FROM users WHERE id = $1 AND deleted_at IS NULL";
const std::string sql_get_many =
    std::string("SELECT ") + user_columns + " FROM users WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL";
const std::string sql_page = std::string("SELECT ") + user_columns +
                             " FROM users WHERE deleted_at IS NULL AND ($1::uuid IS NULL OR id > $1)"
                             " ORDER BY id LIMIT $2";
const std::string sql_search = std::string("SELECT ") + user_columns +
                               " FROM users WHERE deleted_at IS NULL"
                               " AND (email ILIKE $1 ESCAPE '\\' OR username ILIKE $1 ESCAPE '\\')"
                               " ORDER BY created_at DESC, id DESC LIMIT 50";
// updated_at moves strictly forward, so a version read once matches at most one write.
const std::string sql_patch = std::string(
    "UPDATE users SET username = COALESCE($2, username), email = COALESCE($3, email),"
    " updated_at = GREATEST(clock_timestamp(), updated_at + interval '1 microsecond')"
    " WHERE id = $1 AND deleted_at IS NULL AND ($4::timestamptz IS NULL OR updated_at = $4::timestamptz)"
    " RETURNING ") + user_columns;
const std::string sql_delete = "UPDATE users SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL";

// A deliberately plain shape check: one '@', a dot in the domain, no spaces or controls.
bool plausible_email(std::string_view e) {
    auto at = e.find('@');
    if (at == std::string_view::npos || at == 0 || e.find('@', at + 1) != std::string_view::npos) return false;
    auto domain = e.substr(at + 1);
    auto dot = domain.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 >= domain.size()) return false;
    for (unsigned char c : e)
        if (c <= ' ' || c == 0x7f) return false;
    return domain.find("..") == std::string_view::npos;
}

[[noreturn]] void duplicate_email() {
    fail(status::conflict, "DUPLICATE_EMAIL", "a user with this email already exists",
         {json::object{{"field", "email"}, {"message", "is already taken"}}});
}

bool is_unique_violation(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const pgcoro::error& err) {
        return pgcoro::classify(err.sqlstate()) == pgcoro::sqlstate_kind::unique_violation;
    } catch (...) {
        return false;
    }
}

// LIKE pattern matching `q` literally anywhere.
std::string contains_pattern(std::string_view q) {
    std::string p = "%";
    for (char c : q) {
        if (c == '%' || c == '_' || c == '\\') p += '\\';
        p += c;
    }
    return p + "%";
}

// RFC 3339 as this API writes it; anything else in the version header is refused
// before it reaches SQL.
bool looks_like_timestamp(std::string_view s) {
    if (s.size() < 20 || s.size() > 35) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == ':' || c == 'T' || c == 'Z' ||
              c == '.' || c == '+'))
            return false;
    }
    return true;
}

awaitable_response create_user(services& svc, net::request_context& ctx) {
    auto body = net::parse_json_object(ctx.req);
    fields f(body);
    auto email = f.text("email", true, 3, 254);
    if (email && !plausible_email(*email)) f.add("email", "must be an email address");
    auto username = f.text("username", true, 3, 50);
    auto password = f.text("password", true, 8, 128);
    f.check();

    auto hash = co_await hash_password(svc, *password);
    std::exception_ptr failure;
    pgcoro::result r;
    try {
        r = co_await svc.pool(ctx.worker).query(sql_insert, *email, *username, hash);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        if (is_unique_violation(failure)) duplicate_email();
        std::rethrow_exception(failure);
    }
    co_return net::json_data(status::created, user_json(r.front()));
}

awaitable_response get_user(services& svc, net::request_context& ctx) {
    auto id = path_id(ctx, "id");
    auto found = co_await svc.find_by_id(ctx.worker, &services::lookups::users, sql_get, id);
    if (!found) fail(status::not_found, "USER_NOT_FOUND", "user not found");
    co_return net::json_data(status::ok, user_json(found->get()));
}

awaitable_response list_users(services& svc, net::request_context& ctx) {
    if (auto q = ctx.query_param("q")) {
        auto n = q->size();
        if (n == 0 || n > 400 /* bytes; code points checked below */)
            fail(status::bad_request, "VALIDATION_FAILED", "q must be 1 to 100 characters",
                 {json::object{{"field", "q"}, {"message", "must be 1 to 100 characters"}}});
        json::object wrapper{{"q", *q}};
        fields f(wrapper);
        f.text("q", true, 1, 100);
        f.check();
        auto r = co_await svc.pool(ctx.worker).read_query(sql_search, contains_pattern(*q));
        json::array data;
        for (int i = 0; i < r.size(); ++i) data.push_back(user_json(r[i]));
        co_return net::json_body(status::ok, json::object{{"data", std::move(data)}, {"next_cursor", nullptr}});
    }
    int limit = query_limit(ctx);
    auto cursor = query_cursor(ctx);
    auto r = co_await svc.pool(ctx.worker).read_query(sql_page, cursor, limit + 1);  // one more: is there a next page?
    json::array data;
    int shown = std::min(r.size(), limit);
    for (int i = 0; i < shown; ++i) data.push_back(user_json(r[i]));
    json::value next = nullptr;
    if (r.size() > limit) next = r[limit - 1].get<pgcoro::uuid>(0).to_string();
    co_return net::json_body(status::ok, json::object{{"data", std::move(data)}, {"next_cursor", next}});
}

awaitable_response patch_user(services& svc, net::request_context& ctx) {
    auto id = path_id(ctx, "id");
    auto body = net::parse_json_object(ctx.req);
    fields f(body);
    auto username = f.text("username", false, 3, 50);
    auto email = f.text("email", false, 3, 254);
    if (email && !plausible_email(*email)) f.add("email", "must be an email address");
    std::optional<std::string> version;
    if (auto h = ctx.req["If-Unmodified-Since-Version"]; !h.empty()) {
        if (!looks_like_timestamp(h)) f.add("If-Unmodified-Since-Version", "must be an updated_at value");
        else version = std::string(h);
    }
    f.check();

    auto& pool = svc.pool(ctx.worker);
    if (!username && !email) {  // empty patch: the user unchanged (the version still checked)
        auto r = co_await pool.query(sql_get, id);
        if (r.empty()) fail(status::not_found, "USER_NOT_FOUND", "user not found");
        if (version && pgcoro::format_rfc3339(r.front().get<pgcoro::timestamptz>(4)) != *version)
            fail(status::conflict, "CONCURRENT_MODIFICATION", "the user was modified since that version");
        co_return net::json_data(status::ok, user_json(r.front()));
    }
    std::exception_ptr failure;
    pgcoro::result r;
    try {
        r = co_await pool.query(sql_patch, id, username, email, version);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        if (is_unique_violation(failure)) duplicate_email();
        std::rethrow_exception(failure);
    }
    if (r.empty()) {
        auto exists = co_await pool.query(sql_get, id);
        if (exists.empty()) fail(status::not_found, "USER_NOT_FOUND", "user not found");
        fail(status::conflict, "CONCURRENT_MODIFICATION", "the user was modified since that version");
    }
    co_return net::json_data(status::ok, user_json(r.front()));
}

awaitable_response delete_user(services& svc, net::request_context& ctx) {
    auto id = path_id(ctx, "id");
    auto r = co_await svc.pool(ctx.worker).query(sql_delete, id);
    if (r.affected_rows() == 0) fail(status::not_found, "USER_NOT_FOUND", "user not found");
    net::response res{status::no_content, 11};
    res.prepare_payload();
    co_return res;
}

}  // namespace

json::object user_json(const pgcoro::row& r) {
    return {{"id", r.get<pgcoro::uuid>(0).to_string()},
            {"email", r.get<std::string>(1)},
            {"username", r.get<std::string>(2)},
            {"created_at", pgcoro::format_rfc3339(r.get<pgcoro::timestamptz>(3))},
            {"updated_at", pgcoro::format_rfc3339(r.get<pgcoro::timestamptz>(4))}};
}

const std::string& sql_get_live_user() { return sql_get; }

std::unique_ptr<pgcoro::lookup_batcher> make_user_lookup(pgcoro::pool& pool) {
    return std::make_unique<pgcoro::lookup_batcher>(pool, sql_get_many, 0);
}

void register_users(net::router& r, services& svc) {
    route(r, verb::post, "/users", svc, create_user);
    route(r, verb::get, "/users", svc, list_users);
    route(r, verb::get, "/users/{id}", svc, get_user);
    route(r, verb::patch, "/users/{id}", svc, patch_user);
    route(r, verb::delete_, "/users/{id}", svc, delete_user);
}

}  // namespace domain
