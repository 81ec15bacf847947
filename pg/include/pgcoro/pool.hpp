// pgcoro/pool.hpp — an async connection pool bound to one executor.
//
// acquire() hands out a connection for exclusive use (FIFO waiters, acquire timeout);
// execute()/query() run autocommit statements, and with auto_pipeline (the default)
// many concurrent statements share one connection in pipeline mode. transact() (in
// transaction.hpp) runs a retried transaction. Like a connection, a pool is used from
// the thread that runs its executor; stats() may be read from any thread.
//
// A server with one event loop per core keeps one pool per loop ("shards").
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>

#include "pgcoro/connection.hpp"
#include "pgcoro/options.hpp"

namespace pgcoro {

class transaction;

namespace detail {
struct pool_impl;
struct pool_entry;

template <typename A>
struct awaitable_value;
template <typename T>
struct awaitable_value<asio::awaitable<T>> {
    using type = T;
};
}  // namespace detail

// Round trips to the server of one kind (autocommit statements and batches, or each
// round trip of a transaction, COMMIT included): how many, a histogram of their
// durations from sending to the last result (waits for a connection excluded), and how
// many were slower than pool_options::slow_after.
struct query_stats {
    // Upper bounds of the buckets, in seconds; one more bucket holds the rest (+Inf).
    static constexpr std::array<double, 12> bounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1,    2.5};
    std::array<std::uint64_t, bounds.size() + 1> buckets{};  // per bucket, not cumulative
    std::uint64_t count = 0;
    std::chrono::nanoseconds sum{0};
    std::uint64_t slow = 0;

    query_stats& operator+=(const query_stats& o);
};

// A snapshot of a pool's state and counters.
struct pool_stats {
    std::size_t total = 0;     // open connections, including ones being opened
    std::size_t idle = 0;      // open, unused
    std::size_t in_use = 0;    // held by acquire() or running shared statements
    std::size_t waiting = 0;   // acquirers queued
    std::size_t max = 0;
    std::uint64_t acquire_count = 0;
    std::uint64_t acquire_timeouts = 0;    // gave up waiting, or refused at once (below)
    std::uint64_t acquire_rejections = 0;  // of those, refused at once (queue full or hopeless)
    std::chrono::nanoseconds acquire_wait{0};  // total time acquirers spent waiting
    std::uint64_t connects = 0;
    std::uint64_t connect_failures = 0;
    // Autocommit statements and batches run through query()/read_query()/execute()
    // (not those inside transact(), counted in transaction_stats): how many completed,
    // how many of those failed (database error, connection lost, cancelled, pool
    // timeout), and their total time from the call to the answer, waits included.
    std::uint64_t statements = 0;
    std::uint64_t statement_errors = 0;
    std::chrono::nanoseconds statement_time{0};
    query_stats autocommit_queries;
    query_stats transaction_queries;
    // What the pool knows of the server without asking it: when it last answered on
    // any of the pool's connections (a result, a server error, a connection opened), and
    // when a connection last failed to open or broke. time_point{} means never. A
    // health check can trust a recent answer and probe only when it is stale.
    std::chrono::steady_clock::time_point last_answer{};
    std::chrono::steady_clock::time_point last_failure{};
};

// Counters of transact(): read by the metrics endpoint.
struct transaction_stats {
    std::uint64_t attempts = 0;
    std::uint64_t commits = 0;
    std::uint64_t retries_serialization = 0;  // 40001
    std::uint64_t retries_deadlock = 0;       // 40P01
    std::uint64_t retries_connection = 0;     // connection lost before COMMIT was sent
    std::uint64_t retries_stale_plan = 0;     // 0A000 "cached plan must not change result type"
    std::uint64_t ran_alone = 0;              // attempts run alone (transaction_options::run_alone_after)
    std::uint64_t exhausted = 0;
    std::uint64_t budget_denied = 0;          // retries refused by transaction_options::budget
    std::uint64_t unknown_outcomes = 0;
};

// A connection held for exclusive use; returned to the pool when destroyed. A
// connection left broken, inside a transaction or with requests in flight is closed
// instead of being handed out again.
class pooled_connection {
public:
    pooled_connection() = default;
    pooled_connection(pooled_connection&&) noexcept = default;
    pooled_connection& operator=(pooled_connection&&) noexcept;
    ~pooled_connection();

    connection& operator*() noexcept;
    connection* operator->() noexcept;
    explicit operator bool() const noexcept { return entry_ != nullptr; }
    void discard() noexcept;  // close it rather than return it
    void reset() noexcept;    // return it now

    pooled_connection(std::shared_ptr<detail::pool_impl> pool, std::shared_ptr<detail::pool_entry> entry);

private:
    std::shared_ptr<detail::pool_impl> pool_;
    std::shared_ptr<detail::pool_entry> entry_;
};

class pool {
public:
    pool(asio::any_io_executor ex, pool_options options);
    ~pool();  // closes the pool
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    // Throws errc::pool_timeout after options.acquire_timeout (or at once when
    // max_waiters are already queued), errc::connect_failed when a needed connection
    // cannot be opened, errc::cancelled, errc::pool_closed.
    asio::awaitable<pooled_connection> acquire();

    // Autocommit statements, pipelined on shared connections when auto_pipeline is on.
    asio::awaitable<result> execute(statement s);
    asio::awaitable<std::vector<outcome>> execute(batch b);
    template <typename... Args>
    asio::awaitable<result> query(std::string sql, const Args&... args) {
        return execute(statement::make(std::move(sql), args...));
    }
    // query() for a statement with no effects (see statement::read_only): concurrent
    // ones share a Sync and a write on a shared connection.
    template <typename... Args>
    asio::awaitable<result> read_query(std::string sql, const Args&... args) {
        return execute(statement::make_read_only(std::move(sql), args...));
    }

    // Runs body(transaction&) in a transaction, retried on serialization failures and
    // deadlocks as options say; returns the body's value. Defined in transaction.hpp.
    template <typename F>
    auto transact(transaction_options options, F body)
        -> asio::awaitable<typename detail::awaitable_value<std::invoke_result_t<F&, transaction&>>::type>;
    template <typename F>
    auto transact(F body) {
        return transact(transaction_options{}, std::move(body));
    }

    pool_stats stats() const;
    transaction_stats tx_stats() const;
    const pool_options& options() const noexcept;
    asio::any_io_executor get_executor() const noexcept;

    // Stops handing out connections, fails waiters with pool_closed and closes idle
    // connections; held ones close when returned.
    void close();

    // Type-erased transaction loop behind transact(), compiled once.
    asio::awaitable<void> run_transaction(const transaction_options& options,
                                          std::function<asio::awaitable<void>(transaction&)> body);

private:
    std::shared_ptr<detail::pool_impl> impl_;
};

}  // namespace pgcoro
