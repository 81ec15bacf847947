#include "domain/users/users.hpp"

#include <boost/json/object.hpp>
#include <pgcoro/pool.hpp>

#include "domain/auth/access.hpp"
#include "domain/auth/sessions.hpp"
#include "domain/auth/throttle.hpp"
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
// A password change ($5, the new hash) also ends every session of the user, in the same
// statement (and moves session_epoch on, which also ends any session whose log-in is
// still in flight); $6 is the hash the current password was verified against, so a concurrent
// change of the password makes this one miss (409) rather than silently win.
const std::string sql_patch = std::string(
    "WITH patched AS (UPDATE users SET username = COALESCE($2, username), email = COALESCE($3, email),"
    " password_hash = COALESCE($5, password_hash),"
    " session_epoch = session_epoch + CASE WHEN $5::text IS NULL THEN 0 ELSE 1 END,"
    " updated_at = GREATEST(clock_timestamp(), updated_at + interval '1 microsecond')"
    " WHERE id = $1 AND deleted_at IS NULL AND ($4::timestamptz IS NULL OR updated_at = $4::timestamptz)"
    " AND ($6::text IS NULL OR password_hash = $6::text)"
    " RETURNING ") + user_columns + "),"
    " ended AS (UPDATE sessions SET revoked_at = now() WHERE user_id IN (SELECT id FROM patched)"
    " AND $5::text IS NOT NULL AND revoked_at IS NULL)"
    " SELECT * FROM patched";
const std::string sql_password_hash = "SELECT password_hash, email FROM users WHERE id = $1 AND deleted_at IS NULL";
// A deleted user's sessions end with it.
const std::string sql_delete =
    "WITH gone AS (UPDATE users SET deleted_at = now(), session_epoch = session_epoch + 1"
    " WHERE id = $1 AND deleted_at IS NULL RETURNING id),"
    " ended AS (UPDATE sessions SET revoked_at = now() WHERE user_id IN (SELECT id FROM gone) AND revoked_at IS NULL)"
    " SELECT id FROM gone";

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

awaitable_response create_user(services& svc, net::request_context& ctx, const caller&) {
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

awaitable_response get_user(services& svc, net::request_context& ctx, const caller& who) {
    auto id = path_id(ctx, "id");
    if (!who.may_act_for(id)) user_not_found();  // someone else: as if absent
    auto found = co_await svc.find_by_id(ctx.worker, &services::lookups::users, sql_get, id);
    if (!found) user_not_found();
    co_return net::json_data(status::ok, user_json(found->get()));
}

awaitable_response list_users(services& svc, net::request_context& ctx, const caller&) {
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

// A new password needs the current one, whoever asks (an operator included): the stored
// hash it was verified against, and the new password's hash. A wrong current_password
// counts as a failed log-in of the user's email (domain/auth/throttle.hpp): a stolen
// session cannot be used to guess the password faster than the log-in page allows.
boost::asio::awaitable<std::pair<std::string, std::string>> change_password(services& svc,
                                                                            const net::request_context& ctx,
                                                                            pgcoro::uuid id, std::string current,
                                                                            std::string password) {
    auto& pool = svc.pool(ctx.worker);
    auto stored = co_await pool.query(sql_password_hash, id);
    if (stored.empty()) user_not_found();
    auto verified_hash = stored.front().get<std::string>(0);
    auto email = stored.front().get<std::string>(1);
    const auto address = throttle::client_address(svc, ctx);
    pgcoro::batch attempt;
    throttle::add_attempt(attempt, email, address);
    auto counted = co_await pool.execute(std::move(attempt));
    throttle::check(counted.at(0).value());
    bool verified = co_await verify_password(svc, std::move(current), verified_hash);
    if (!verified)
        fail(status::forbidden, "FORBIDDEN", "current_password is not the user's password",
             {json::object{{"field", "current_password"}, {"message", "is wrong"}}});
    pgcoro::batch success;
    throttle::add_success(success, email, address);
    auto cleared = co_await pool.execute(std::move(success));
    for (auto& c : cleared) c.value();
    auto new_hash = co_await hash_password(svc, std::move(password));
    co_return std::pair{std::move(verified_hash), std::move(new_hash)};
}

awaitable_response patch_user(services& svc, net::request_context& ctx, const caller& who) {
    auto id = path_id(ctx, "id");
    if (!who.may_act_for(id)) user_not_found();
    auto body = net::parse_json_object(ctx.req);
    fields f(body);
    auto username = f.text("username", false, 3, 50);
    auto email = f.text("email", false, 3, 254);
    if (email && !plausible_email(*email)) f.add("email", "must be an email address");
    auto password = f.text("password", false, 8, 128);
    auto current_password = f.text("current_password", password.has_value(), 1, 128);
    std::optional<std::string> version;
    if (auto h = ctx.req["If-Unmodified-Since-Version"]; !h.empty()) {
        if (!looks_like_timestamp(h)) f.add("If-Unmodified-Since-Version", "must be an updated_at value");
        else version = std::string(h);
    }
    f.check();

    auto& pool = svc.pool(ctx.worker);
    if (!username && !email && !password) {  // empty patch: the user unchanged (the version still checked)
        auto r = co_await pool.query(sql_get, id);
        if (r.empty()) user_not_found();
        if (version && pgcoro::format_rfc3339(r.front().get<pgcoro::timestamptz>(4)) != *version)
            fail(status::conflict, "CONCURRENT_MODIFICATION", "the user was modified since that version");
        co_return net::json_data(status::ok, user_json(r.front()));
    }
    std::optional<std::string> new_hash, verified_hash;
    if (password) {
        auto hashes = co_await change_password(svc, ctx, id, *current_password, *password);
        verified_hash = std::move(hashes.first);
        new_hash = std::move(hashes.second);
    }
    std::exception_ptr failure;
    pgcoro::result r;
    try {
        r = co_await pool.query(sql_patch, id, username, email, version, new_hash, verified_hash);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        if (is_unique_violation(failure)) duplicate_email();
        std::rethrow_exception(failure);
    }
    if (r.empty()) {
        auto exists = co_await pool.query(sql_get, id);
        if (exists.empty()) user_not_found();
        fail(status::conflict, "CONCURRENT_MODIFICATION", "the user was modified since that version");
    }
    if (new_hash && svc.auth.sessions) svc.auth.sessions->forget_user(ctx.worker, id);
    co_return net::json_data(status::ok, user_json(r.front()));
}

awaitable_response delete_user(services& svc, net::request_context& ctx, const caller& who) {
    auto id = path_id(ctx, "id");
    if (!who.may_act_for(id)) user_not_found();
    auto r = co_await svc.pool(ctx.worker).query(sql_delete, id);
    if (r.empty()) user_not_found();
    if (svc.auth.sessions) svc.auth.sessions->forget_user(ctx.worker, id);
    net::response res{status::no_content, 11};
    res.prepare_payload();
    co_return res;
}

}  // namespace

void user_not_found() { fail(net::http::status::not_found, "USER_NOT_FOUND", "user not found"); }

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
    route(r, verb::post, "/users", access::anyone, svc, create_user);           // sign-up
    route(r, verb::get, "/users", access::operator_only, svc, list_users);      // list and search
    route(r, verb::get, "/users/{id}", access::user, svc, get_user);            // themselves only
    route(r, verb::patch, "/users/{id}", access::user, svc, patch_user);        // themselves only
    route(r, verb::delete_, "/users/{id}", access::user, svc, delete_user);     // themselves only
}

}  // namespace domain
