// domain/health/probe — a database check that application work cannot starve: a
// connection of its own, outside the pools, used only by GET /health. One per worker,
// used on that worker's thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <optional>
#include <pgcoro/connection.hpp>
#include <vector>

namespace domain {

class database_probe {
public:
    struct outcome {
        bool up = false;
        std::chrono::microseconds latency{0};  // of the round trip, when up
    };

    database_probe(boost::asio::any_io_executor ex, pgcoro::connect_options options);
    database_probe(const database_probe&) = delete;
    database_probe& operator=(const database_probe&) = delete;

    // SELECT 1 on the probe's connection, opened (again) when needed; down once `limit`
    // passes. Concurrent calls share one probe, and an answer younger than 250 ms is
    // reused while the connection stays open: a burst of health checks costs the
    // database one round trip.
    boost::asio::awaitable<outcome> check(std::chrono::milliseconds limit);

    // The last probe's answer, if any.
    std::optional<outcome> last() const { return last_; }

    void close();  // at worker stop: the connection lives on the worker's event loop

private:
    boost::asio::awaitable<outcome> probe(std::chrono::milliseconds limit);

    boost::asio::any_io_executor ex_;
    pgcoro::connect_options options_;
    pgcoro::connection conn_;
    bool running_ = false;
    std::vector<boost::asio::steady_timer*> waiting_;  // callers waiting for the running probe
    std::optional<outcome> last_;
    std::chrono::steady_clock::time_point last_at_{};
};

}  // namespace domain
