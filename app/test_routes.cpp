#include "app/test_routes.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <charconv>

#include "net/json_response.hpp"

namespace app {

namespace asio = boost::asio;
using net::http::status;
using net::http::verb;

void register_test_routes(net::router& routes) {
    routes.add(verb::get, "/debug/sleep", [](net::request_context& ctx) -> asio::awaitable<net::response> {
        auto text = ctx.query_param("ms").value_or("0");
        long long ms = -1;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
        if (ec != std::errc{} || end != text.data() + text.size() || ms < 0 || ms > 600000)
            throw net::http_error(status::bad_request, "VALIDATION_FAILED", "ms must be a whole number from 0 to 600000");
        auto ex = co_await asio::this_coro::executor;
        asio::steady_timer timer(ex, std::chrono::milliseconds(ms));
        co_await timer.async_wait(asio::use_awaitable);
        co_return net::json_data(status::ok, boost::json::object{{"slept_ms", ms}});
    });
    routes.add(verb::get, "/debug/hang", [](net::request_context&) -> asio::awaitable<net::response> {
        auto ex = co_await asio::this_coro::executor;
        asio::steady_timer timer(ex, asio::steady_timer::time_point::max());
        co_await timer.async_wait(asio::use_awaitable);  // throws when cancelled
        co_return net::json_data(status::ok, nullptr);
    });
}

}  // namespace app
