// Private: the state behind a pgcoro::pool.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <deque>
#include <random>
#include <vector>

#include "pgcoro/pool.hpp"

namespace pgcoro::detail {

struct pool_entry {
    connection conn;
    std::chrono::steady_clock::time_point created;
    std::chrono::steady_clock::time_point last_used;
    std::chrono::steady_clock::time_point expires;  // max lifetime, jittered
    bool exclusive = false;                          // held through acquire()
    std::size_t reserved = 0;                        // pipeline slots handed to waiters, not yet used
    // Past its lifetime while shared statements were in flight (a shared connection under
    // load is never idle when the maintainer looks): it takes no new statements and is
    // closed once they are answered.
    bool retiring = false;
};

// An acquirer queued for a connection. The timer doubles as the wake-up signal: it
// expires at the acquire deadline, and is cancelled early when the waiter is served.
struct waiter {
    explicit waiter(asio::any_io_executor ex) : timer(std::move(ex)) {}
    asio::steady_timer timer;
    std::shared_ptr<pool_entry> handed;  // the connection handed over, if any
    bool woken = false;                  // woken to retry (capacity freed, pool closed)
};

struct pool_impl : std::enable_shared_from_this<pool_impl> {
    pool_impl(asio::any_io_executor ex, pool_options opts);

    asio::awaitable<std::shared_ptr<pool_entry>> acquire_entry();
    asio::awaitable<std::shared_ptr<pool_entry>> open_entry(bool exclusive);
    std::shared_ptr<pool_entry> pick_shared();
    // Waits until a shared connection has room (auto-pipelining with every slot taken);
    // returns it with one slot reserved for the caller (see pool_entry::reserved).
    asio::awaitable<std::shared_ptr<pool_entry>> wait_for_room();
    // Queues the caller in `queue` (waiters or shared_waiters) until it is handed a
    // connection (returned), woken to look again (nullptr), or acquire_timeout after
    // `start` passes (pool_timeout, the wait recorded) or it is cancelled (cancelled).
    asio::awaitable<std::shared_ptr<pool_entry>> wait_in(std::deque<waiter*>& queue,
                                                         std::chrono::steady_clock::time_point start);
    // Adds the time since `start` to the acquire wait total (pool_stats::acquire_wait).
    void record_wait(std::chrono::steady_clock::time_point start);
    // Hands the free pipeline slots of `e` to queued statements.
    void hand_room(const std::shared_ptr<pool_entry>& e);
    void release(const std::shared_ptr<pool_entry>& e, bool discard);
    void became_idle(const std::shared_ptr<pool_entry>& e);
    void drop(const std::shared_ptr<pool_entry>& e);
    void wake_one();
    void close();
    void update_gauges();
    asio::awaitable<void> maintain();

    asio::any_io_executor ex;
    pool_options opts;
    std::vector<std::shared_ptr<pool_entry>> entries;
    std::size_t connecting = 0;
    std::deque<waiter*> waiters;         // for a connection of their own
    std::deque<waiter*> shared_waiters;  // for a slot in a shared connection's pipeline
    bool closed = false;
    asio::steady_timer maintenance_timer;
    std::minstd_rand rng{std::random_device{}()};

    // Readable from any thread.
    std::atomic<std::size_t> g_total{0}, g_idle{0}, g_in_use{0}, g_waiting{0};
    std::atomic<std::uint64_t> acquire_count{0}, acquire_timeouts{0}, acquire_wait_ns{0}, connects{0},
        connect_failures{0};
    std::atomic<std::uint64_t> statements{0}, statement_errors{0}, statement_ns{0};
    std::atomic<std::uint64_t> tx_attempts{0}, tx_commits{0}, tx_retry_serialization{0}, tx_retry_deadlock{0},
        tx_retry_connection{0}, tx_exhausted{0}, tx_unknown{0};
};

}  // namespace pgcoro::detail
