// Private: the state behind a pgcoro::pool.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <deque>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include "pgcoro/pool.hpp"

namespace pgcoro::detail {

struct pool_entry {
    connection conn;
    std::chrono::steady_clock::time_point created;
    std::chrono::steady_clock::time_point last_used;
    std::chrono::steady_clock::time_point expires;  // max lifetime, jittered
    bool exclusive = false;                          // held through acquire()
    std::chrono::steady_clock::time_point held_since;  // when acquire() handed it out
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

// What a round trip is called in the slow log (pool_options::on_slow_statement): the
// first line of its first statement that is not transaction control (BEGIN,
// SAVEPOINT, set_config...), else of its last (COMMIT); at most 120 bytes, never a
// parameter. Copied out before the statements are handed over, without allocating.
struct statement_name {
    explicit statement_name(std::span<const statement> statements);
    std::string_view view() const noexcept { return {text.data(), size}; }
    std::array<char, 120> text{};
    std::size_t size = 0;
};

// query_stats with atomic counters: recorded on the pool's thread, read from any.
struct atomic_query_stats {
    std::array<std::atomic<std::uint64_t>, query_stats::bounds.size() + 1> buckets{};
    std::atomic<std::uint64_t> count{0}, sum_ns{0}, slow{0};

    void record(std::chrono::nanoseconds d, bool slow_one) noexcept;
    query_stats snapshot() const noexcept;
};

// Which transactions may start an attempt (transaction_options::run_alone_after): any
// number together, or one alone. Whoever waits to run alone is served first, in order;
// the others wait meanwhile. Touched only on the pool's thread.
struct transaction_gate {
    std::size_t running = 0;             // attempts running together
    bool alone = false;                  // an attempt is running alone
    std::deque<waiter*> alone_waiters;   // waiting to run alone
    std::deque<waiter*> waiters;         // waiting for the lone ones to finish
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
    // `judge`: refuse at once when the wait looks hopeless (pool_options::reject_hopeless_waits).
    asio::awaitable<std::shared_ptr<pool_entry>> wait_in(std::deque<waiter*>& queue,
                                                         std::chrono::steady_clock::time_point start, bool judge);
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

    // Whether an acquirer joining the queue now could be served within acquire_timeout
    // (pool_options::reject_hopeless_waits).
    bool hopeless_wait() const;
    // The server answered / a connection failed (pool_stats::last_answer, last_failure).
    void note_answer() noexcept;
    void note_failure() noexcept;
    // One round trip (autocommit, or of a transaction) sent at `sent` ended, `failure`
    // what it threw if anything: counted, reported when slow under `name`, and noted as
    // an answer unless it failed other than with a server error.
    void round_trip_done(bool in_transaction, std::chrono::steady_clock::time_point sent, const statement_name& name,
                         const std::exception_ptr& failure);

    // The transaction gate: enter before an attempt (alone or not), leave after it.
    // Throws pool_timeout past `deadline`, cancelled when cancelled.
    asio::awaitable<void> enter_gate(bool alone, std::chrono::steady_clock::time_point deadline);
    void leave_gate(bool alone);
    void leave_gate_check();

    asio::any_io_executor ex;
    pool_options opts;
    std::vector<std::shared_ptr<pool_entry>> entries;
    std::size_t connecting = 0;
    std::deque<waiter*> waiters;         // for a connection of their own
    std::deque<waiter*> shared_waiters;  // for a slot in a shared connection's pipeline
    bool closed = false;
    asio::steady_timer maintenance_timer;
    std::minstd_rand rng{std::random_device{}()};
    transaction_gate gate;
    // Recent time a connection stays held through acquire() (exponentially weighted).
    std::chrono::nanoseconds typical_hold{0};

    // Readable from any thread.
    std::atomic<std::size_t> g_total{0}, g_idle{0}, g_in_use{0}, g_waiting{0};
    std::atomic<std::uint64_t> acquire_count{0}, acquire_timeouts{0}, acquire_rejections{0}, acquire_wait_ns{0},
        connects{0}, connect_failures{0};
    std::atomic<std::int64_t> last_answer_ns{0}, last_failure_ns{0};  // steady_clock, since its epoch
    atomic_query_stats autocommit_queries, transaction_queries;
    std::atomic<std::uint64_t> statements{0}, statement_errors{0}, statement_ns{0};
    std::atomic<std::uint64_t> tx_attempts{0}, tx_commits{0}, tx_retry_serialization{0}, tx_retry_deadlock{0},
        tx_retry_connection{0}, tx_ran_alone{0}, tx_exhausted{0}, tx_budget_denied{0}, tx_unknown{0}, tx_retry_stale_plan{0};
};

}  // namespace pgcoro::detail
