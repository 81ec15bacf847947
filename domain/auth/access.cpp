#include "domain/auth/access.hpp"

#include <type_traits>

#include "domain/auth/sessions.hpp"
#include "domain/auth/tokens.hpp"
#include "domain/common/errors.hpp"
#include "domain/common/services.hpp"

namespace domain {

namespace {

using net::http::status;

[[noreturn]] void unauthenticated() {
    net::http_error e(status::unauthorized, "UNAUTHENTICATED", "a valid session token is required");
    e.headers.emplace_back("WWW-Authenticate", "Bearer");
    throw e;
}

// The caller of a request to a route with `rule`; throws 401/403 when the rule refuses it.
boost::asio::awaitable<caller> identify(services& svc, const net::request_context& ctx, access rule) {
    if (!svc.auth.required) co_return caller::open();
    if (rule == access::anyone) co_return caller{};
    auto token = bearer_token(ctx.req[net::http::field::authorization]);
    if (!token) unauthenticated();
    auto hash = token_hash(*token);
    auto who = svc.auth.sessions->cached(ctx.worker, hash);
    if (!who) who = co_await svc.auth.sessions->lookup(ctx.worker, std::move(hash));
    if (!who) unauthenticated();
    if (rule == access::operator_only && !who->is_operator)
        throw net::http_error(status::forbidden, "FORBIDDEN", "this operation is for operators");
    co_return *who;
}

template <typename Call>
boost::asio::awaitable<net::response> guarded(services& svc, net::request_context& ctx, access rule, Call call) {
    // `call` is a parameter of this coroutine: keep it a plain bundle of references and
    // pointers (see domain/users/password.cpp on GCC 12 and lambda parameters).
    static_assert(std::is_trivially_destructible_v<Call>);
    // Known before anything can fail: whether the answer, error or not, is a signed-in
    // caller's (and so must not be stored by caches on the way).
    const bool private_answer = svc.auth.required && rule != access::anyone;
    std::exception_ptr failure;
    try {
        auto who = co_await identify(svc, ctx, rule);
        auto res = co_await call(who);
        if (private_answer) res.set(net::http::field::cache_control, "no-store");
        co_return res;
    } catch (...) {
        failure = std::current_exception();
    }
    auto e = to_http_error(failure);
    if (private_answer) e.headers.emplace_back("Cache-Control", "no-store");
    throw e;
}

}  // namespace

void route(net::router& r, net::http::verb method, std::string pattern, access rule, services& svc,
           guarded_handler fn) {
    r.add(method, std::move(pattern), [&svc, rule, fn](net::request_context& ctx) {
        return guarded(svc, ctx, rule, [&svc, &ctx, fn](const caller& who) { return fn(svc, ctx, who); });
    });
}

void route(net::router& r, net::http::verb method, std::string pattern, access rule, services& svc,
           net::handler h) {
    r.add(method, std::move(pattern), [&svc, rule, h = std::move(h)](net::request_context& ctx) {
        return guarded(svc, ctx, rule, [&ctx, &h](const caller&) { return h(ctx); });
    });
}

}  // namespace domain
