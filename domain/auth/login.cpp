#include "domain/auth/login.hpp"

#include <boost/json/object.hpp>
#include <pgcoro/pool.hpp>

#include "domain/auth/access.hpp"
#include "domain/auth/sessions.hpp"
#include "domain/auth/throttle.hpp"
#include "domain/auth/tokens.hpp"
#include "domain/common/input.hpp"
#include "domain/users/password.hpp"
#include "net/json_response.hpp"

namespace domain {

namespace {

using net::http::status;
using net::http::verb;
namespace json = boost::json;
using awaitable_response = boost::asio::awaitable<net::response>;

const std::string sql_find_user =
    "SELECT id, password_hash, role, session_epoch FROM users WHERE lower(email) = lower($1) AND deleted_at IS NULL";
// The epoch is the one read with the password's hash: should the password change (or the
// user go) meanwhile, the session is born dead (domain/auth/sessions.cpp checks it).
const std::string sql_insert_session =
    "INSERT INTO sessions (token_hash, user_id, role, epoch, expires_at)"
    " VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::float8)) RETURNING expires_at";
// Sessions that can never be used again, removed when their user next logs in: the
// table holds about one row per live session.
const std::string sql_prune_sessions =
    "DELETE FROM sessions WHERE user_id = $1 AND (revoked_at IS NOT NULL OR expires_at < now())";
const std::string sql_revoke = "UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL";

// The same answer for an unknown email, a deleted user and a wrong password.
[[noreturn]] void invalid_credentials() {
    fail(status::unauthorized, "INVALID_CREDENTIALS", "the email or the password is wrong");
}

awaitable_response log_in(services& svc, net::request_context& ctx, const caller&) {
    auto body = net::parse_json_object(ctx.req);
    fields f(body);
    auto email = f.text("email", true, 1, 254);
    auto password = f.text("password", true, 1, 128);
    f.check();
    const auto address = throttle::client_address(svc, ctx);
    auto& pool = svc.pool(ctx.worker);

    // The attempt counted (throttle.hpp) and the user read, in one round trip.
    pgcoro::batch find;
    throttle::add_attempt(find, *email, address);
    find.add(sql_find_user, *email);
    auto found = co_await pool.execute(std::move(find));
    throttle::check(found.at(0).value());
    const auto& users = found.at(1).value();

    // An unknown email is checked against a dummy hash of the same cost: it takes as long
    // as a wrong password, so timing does not tell which emails have accounts.
    bool known = !users.empty();
    auto hash = known ? users.front().get<std::string>(1) : svc.auth.dummy_hash;
    bool verified = co_await verify_password(svc, *password, std::move(hash));
    if (!known || !verified) invalid_credentials();  // the attempt stays counted

    auto user = users.front();
    auto user_id = user.get<pgcoro::uuid>(0);
    auto role = user.get<std::string>(2);
    auto token = make_token();
    pgcoro::batch open;  // one implicit transaction
    open.add(sql_insert_session, token.hash, user_id, role, user.get<std::int32_t>(3),
             static_cast<double>(svc.auth.sessions->settings().max.count()));
    throttle::add_success(open, *email, address);
    open.add(sql_prune_sessions, user_id);
    auto opened = co_await pool.execute(std::move(open));
    for (auto& o : opened) o.value();
    auto res = net::json_data(
        status::created,
        json::object{{"token", std::move(token.token)},
                     {"user_id", user_id.to_string()},
                     {"role", role},
                     {"expires_at", pgcoro::format_rfc3339(opened.at(0).rows.front().get<pgcoro::timestamptz>(0))}});
    res.set(net::http::field::cache_control, "no-store");  // it carries the token
    co_return res;
}

awaitable_response log_out(services& svc, net::request_context& ctx, const caller&) {
    // With AUTH=required the access rule has verified the token already; with AUTH=off
    // there may be none, and then nothing to end.
    if (auto token = bearer_token(ctx.req[net::http::field::authorization])) {
        auto hash = token_hash(*token);
        co_await svc.pool(ctx.worker).query(sql_revoke, hash);
        svc.auth.sessions->forget_token(ctx.worker, hash);
    }
    net::response res{status::no_content, 11};
    res.prepare_payload();
    co_return res;
}

}  // namespace

void register_sessions(net::router& r, services& svc) {
    route(r, verb::post, "/sessions", access::anyone, svc, log_in);
    route(r, verb::delete_, "/sessions/current", access::user, svc, log_out);
}

}  // namespace domain
