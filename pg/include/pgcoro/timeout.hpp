// pgcoro/timeout.hpp — bound any awaitable by a deadline. When the time passes, the
// operation is cancelled through its cancellation slot (a running statement is then
// cancelled on the server too) and errc::timeout is thrown. An operation that fails
// before the deadline rethrows its own error at once.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <type_traits>

#include "pgcoro/error.hpp"

namespace pgcoro {

template <typename T>
boost::asio::awaitable<T> with_timeout(boost::asio::awaitable<T> op, std::chrono::steady_clock::duration limit) {
    namespace asio = boost::asio;
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex, limit);
    // Not `op || timer`: operator|| waits for the first *success*, so a failing op
    // would wait for the timer. wait_for_one ends at the first completion of either.
    auto group = asio::experimental::make_parallel_group(asio::co_spawn(ex, std::move(op), asio::deferred),
                                                         timer.async_wait(asio::deferred));
    if constexpr (std::is_void_v<T>) {
        auto [order, failure, timer_ec] =
            co_await group.async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
        if (order[0] == 1) throw error(errc::timeout, "operation timed out");
        if (failure) std::rethrow_exception(failure);
    } else {
        auto [order, failure, value, timer_ec] =
            co_await group.async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
        if (order[0] == 1) throw error(errc::timeout, "operation timed out");
        if (failure) std::rethrow_exception(failure);
        co_return std::move(value);
    }
}

}  // namespace pgcoro
