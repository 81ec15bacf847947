#include "domain/auth/login.hpp"

#include <boost/json/object.hpp>
#include <pgcoro/pool.hpp>

#include "domain/auth/access.hpp"
#include "domain/auth/client_address.hpp"
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
    "SELECT id, password_hash, role FROM users WHERE lower(email) = lower($1) AND deleted_at IS NULL";
// Only for a user still live when the session is written (a deletion between the
// password check and here leaves no session behind).
const std::string sql_insert_session =
    "INSERT INTO sessions (token_hash, user_id, role, expires_at)"
    " SELECT $1, $2, $3, now() + make_interval(secs => $4::float8)"
    " WHERE EXISTS (SELECT 1 FROM users WHERE id = $2 AND deleted_at IS NULL)"
    " RETURNING expires_at";
// Sessions that can never be used again, removed when their user next logs in: the
// table holds about one row per live session.
const std::string sql_prune_sessions =
    "DELETE FROM sessions WHERE user_id = $1 AND (revoked_at IS NOT NULL OR expires_at < now())";
const std::string sql_revoke = "UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL";

// The same answer for an unknown email, a deleted user and a wrong password.
[[noreturn]] void invalid_credentials() {
    fail(status::unauthorized, "INVALID_CREDENTIALS", "the email or the password is wrong");
}

[[noreturn]] void too_many_attempts(long long wait_s) {
    net::http_error e(status::too_many_requests, "TOO_MANY_ATTEMPTS", "too many failed log-ins; retry later");
    e.headers.emplace_back("Retry-After", std::to_string(wait_s));
    throw e;
}

std::string client_address(const services& svc, const net::request_context& ctx) {
    auto peer = ctx.peer_address();
    if (!svc.auth.proxies) return peer;
    return svc.auth.proxies->client(peer, ctx.req["X-Forwarded-For"]);
}

awaitable_response log_in(services& svc, net::request_context& ctx, const caller&) {
    auto body = net::parse_json_object(ctx.req);
    fields f(body);
    auto email = f.text("email", true, 1, 254);
    auto password = f.text("password", true, 1, 128);
    f.check();
    const auto address = client_address(svc, ctx);
    auto& pool = svc.pool(ctx.worker);

    // The throttle's counts and the user in one round trip.
    pgcoro::batch find;
    throttle::add_check(find, *email, address);
    find.add(sql_find_user, *email);
    auto found = co_await pool.execute(std::move(find));
    if (auto wait = throttle::wait_for(found.at(0).value())) too_many_attempts(*wait);
    const auto& users = found.at(1).value();

    // An unknown email is checked against a dummy hash of the same cost: it takes as long
    // as a wrong password, so timing does not tell which emails have accounts.
    bool known = !users.empty();
    auto hash = known ? users.front().get<std::string>(1) : svc.auth.dummy_hash;
    bool verified = co_await verify_password(svc, *password, std::move(hash));
    if (!known || !verified) {
        pgcoro::batch failed;
        throttle::add_failure(failed, *email, address);
        auto recorded = co_await pool.execute(std::move(failed));
        recorded.at(0).value();
        invalid_credentials();
    }

    auto user_id = users.front().get<pgcoro::uuid>(0);
    auto role = users.front().get<std::string>(2);
    auto token = make_token();
    pgcoro::batch open;  // one implicit transaction
    open.add(sql_insert_session, token.hash, user_id, role,
             static_cast<double>(svc.auth.sessions->settings().max.count()));
    throttle::add_success(open, *email);
    open.add(sql_prune_sessions, user_id);
    auto opened = co_await pool.execute(std::move(open));
    for (auto& o : opened) o.value();
    const auto& session = opened.at(0).rows;
    if (session.empty()) invalid_credentials();  // deleted meanwhile
    co_return net::json_data(status::created,
                             json::object{{"token", std::move(token.token)},
                                          {"user_id", user_id.to_string()},
                                          {"role", role},
                                          {"expires_at", pgcoro::format_rfc3339(session.front().get<pgcoro::timestamptz>(0))}});
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
