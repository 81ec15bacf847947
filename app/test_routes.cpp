#include "app/test_routes.hpp"

#include <pgcoro/transaction.hpp>

#include "domain/auth/access.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/system/system_error.hpp>
#include <charconv>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/json_response.hpp"

namespace app {

namespace asio = boost::asio;
using net::http::status;
using net::http::verb;

namespace {
long long sleep_ms(const net::request_context& ctx) {
    auto text = ctx.query_param("ms").value_or("0");
    long long ms = -1;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec != std::errc{} || end != text.data() + text.size() || ms < 0 || ms > 600000)
        throw net::http_error(status::bad_request, "VALIDATION_FAILED", "ms must be a whole number from 0 to 600000");
    return ms;
}
}  // namespace

void register_test_routes(net::router& routes, domain::services& svc) {
    // SELECT pg_sleep(ms / 1000) through the worker's pool, with `tag` as a parameter the
    // slow-statement log must not show; tx=1 runs it in a transaction, which holds a
    // connection of its own for the whole time (how tests fill the pool).
    domain::route(routes, verb::get, "/debug/db_sleep", domain::access::anyone, svc,
                  [](domain::services& svc, net::request_context& ctx, const domain::caller&) -> asio::awaitable<net::response> {
                      auto ms = sleep_ms(ctx);
                      std::string tag(ctx.query_param("tag").value_or(""));
                      const std::string sql = "SELECT pg_sleep($1::float8 / 1000), $2::text";
                      auto& pool = svc.pool(ctx.worker);
                      if (ctx.query_param("tx").value_or("0") == "1") {
                          auto op = pool.transact([&](pgcoro::transaction& tx) -> asio::awaitable<void> {
                              co_await tx.query(sql, static_cast<double>(ms), tag);
                          });
                          co_await std::move(op);
                      } else {
                          co_await pool.query(sql, static_cast<double>(ms), tag);
                      }
                      co_return net::json_data(status::ok, boost::json::object{{"slept_ms", ms}});
                  });
    routes.add(verb::get, "/debug/sleep", [](net::request_context& ctx) -> asio::awaitable<net::response> {
        auto ms = sleep_ms(ctx);
        auto ex = co_await asio::this_coro::executor;
        asio::steady_timer timer(ex, std::chrono::milliseconds(ms));
        co_await timer.async_wait(asio::use_awaitable);
        co_return net::json_data(status::ok, boost::json::object{{"slept_ms", ms}});
    });
    // Per worker thread: the requests of a rendezvous are handled on one worker when
    // they come on one connection, which is what the tests use it for.
    auto rendezvous = [](net::request_context& ctx) -> asio::awaitable<net::response> {
        struct waiter {
            asio::steady_timer timer;
            bool met = false;
        };
        thread_local std::unordered_map<std::string, std::vector<waiter*>> waiting;
        auto key = ctx.query_param("key").value_or("");
        auto text = ctx.query_param("n").value_or("");
        long long n = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (ec != std::errc{} || end != text.data() + text.size() || n < 1 || n > 1000)
            throw net::http_error(status::bad_request, "VALIDATION_FAILED", "n must be a whole number from 1 to 1000");
        auto& others = waiting[key];
        if (static_cast<long long>(others.size()) + 1 >= n) {
            for (auto* w : others) {
                w->met = true;
                w->timer.cancel();
            }
            waiting.erase(key);
            co_return net::json_data(status::ok, boost::json::object{{"met", n}});
        }
        auto ex = co_await asio::this_coro::executor;
        waiter self{asio::steady_timer(ex, asio::steady_timer::time_point::max())};
        others.push_back(&self);
        co_await self.timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (!self.met) {  // cancelled (the deadline): leave the rendezvous
            auto& list = waiting[key];
            std::erase(list, &self);
            if (list.empty()) waiting.erase(key);
            throw boost::system::system_error(asio::error::operation_aborted);
        }
        co_return net::json_data(status::ok, boost::json::object{{"met", n}});
    };
    routes.add(verb::get, "/debug/rendezvous", rendezvous);
    routes.add(verb::post, "/debug/rendezvous", rendezvous);
    routes.add(verb::get, "/debug/hang", [](net::request_context&) -> asio::awaitable<net::response> {
        auto ex = co_await asio::this_coro::executor;
        asio::steady_timer timer(ex, asio::steady_timer::time_point::max());
        co_await timer.async_wait(asio::use_awaitable);  // throws when cancelled
        co_return net::json_data(status::ok, nullptr);
    });
}

}  // namespace app
