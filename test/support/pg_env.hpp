// test/support/pg_env.hpp — what every database test needs: the private cluster's URL
// (set by scripts/test) and a way to run a coroutine to completion on an io_context.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>

namespace test_support {

inline std::string database_url() {
    const char* url = std::getenv("DATABASE_URL");
    if (!url || !*url) throw std::runtime_error("DATABASE_URL is not set: run the tests through scripts/test");
    return url;
}

// Runs the coroutine on ioc until it finishes and returns its value (or rethrows).
template <typename Awaitable>
auto run(boost::asio::io_context& ioc, Awaitable a) {
    auto fut = boost::asio::co_spawn(ioc, std::move(a), boost::asio::use_future);
    ioc.restart();
    // Background work (connection readers, pool upkeep) never lets run() return: run
    // until this coroutine is done.
    while (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready) ioc.run_one_for(std::chrono::milliseconds(50));
    return fut.get();
}

// Polls `done` every millisecond on the loop (other coroutines keep running meanwhile).
inline boost::asio::awaitable<void> wait_until(boost::asio::io_context& ioc, const std::function<bool()>& done) {
    boost::asio::steady_timer t(ioc);
    while (!done()) {
        t.expires_after(std::chrono::milliseconds(1));
        co_await t.async_wait(boost::asio::use_awaitable);
    }
}

}  // namespace test_support
