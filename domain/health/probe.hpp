// domain/health/probe — a database check that application work cannot starve: a
// connection of its own, outside the pools, used only by GET /health. One per worker,
// used on that worker's thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <pgcoro/options.hpp>

namespace domain {

class database_probe {
public:
    struct outcome {
        bool up = false;
        std::chrono::microseconds latency{0};  // of the round trip, when up
    };

    database_probe(boost::asio::any_io_executor ex, pgcoro::connect_options options);
    ~database_probe();
    database_probe(const database_probe&) = delete;
    database_probe& operator=(const database_probe&) = delete;

    // SELECT 1 on the probe's connection, opened (again) when needed; down once `limit`
    // passes. The probe runs on its own, detached from the callers: one that goes away
    // (a health checker hanging up) cancels nothing but its own wait. Concurrent calls
    // share one probe, and an answer younger than 250 ms is reused while the connection
    // stays open: a burst of health checks costs the database one round trip.
    boost::asio::awaitable<outcome> check(std::chrono::milliseconds limit);

    // The last probe's answer, if any.
    std::optional<outcome> last() const;

    void close();  // at worker stop: the connection lives on the worker's event loop

    struct state;  // shared with the running probe, which may outlive this object

private:
    std::shared_ptr<state> state_;
};

}  // namespace domain
