// pgcoro/connection.hpp — one PostgreSQL connection driven by an Asio event loop.
//
// The connection runs libpq in nonblocking pipeline mode: every request (one statement
// or a batch) is written at once and ends in its own Sync, and a single reader hands
// each request's results back to its awaiting coroutine in order. So many coroutines
// may await statements on one connection at the same time (tokio-postgres's model),
// and an error in one request never disturbs another.
//
// A connection is bound to one executor and is not thread-safe: use it from the thread
// (or strand) that runs that executor. Copies are handles to the same connection; the
// connection closes when the last handle goes away or on close().
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pgcoro/error.hpp"
#include "pgcoro/options.hpp"
#include "pgcoro/result.hpp"
#include "pgcoro/types.hpp"

namespace pgcoro {

namespace asio = boost::asio;

// One statement with its parameters ($1, $2, ...).
struct statement {
    std::string sql;
    std::vector<param> params;
    // A statement with no effects (a plain SELECT). On a shared connection, read-only
    // statements submitted during one turn of the event loop share one Sync, so they
    // leave in one write and come back in one read. If one of them fails, the others
    // are sent again on their own: they never ran. Never set it for a statement that
    // writes, locks, or calls a function with side effects.
    bool read_only = false;
    // Per statement: the longest it may take, from being handed to the connection (or
    // the pool) to its last result. Past it the statement is cancelled on the server
    // (the connection stays usable) and errc::timeout is thrown. 0: no limit of its own.
    // Honoured by connection::execute, pool::execute and transaction::execute for one
    // statement (a batch has no per-statement limit: bound it with with_timeout).
    std::chrono::milliseconds timeout{0};
    // A name for metrics and the slow-statement log (slow_statement::name) instead of the
    // first line of the SQL. Never sent to the server.
    std::string name{};

    // Fluent setters: statement::make("SELECT ...", id).with_timeout(50ms).named("user_by_id")
    statement&& with_timeout(std::chrono::milliseconds limit) && {
        timeout = limit;
        return std::move(*this);
    }
    statement&& named(std::string n) && {
        name = std::move(n);
        return std::move(*this);
    }

    template <typename... Args>
    static statement make(std::string sql, const Args&... args) {
        return statement{std::move(sql), {to_param(args)...}};
    }
    template <typename... Args>
    static statement make_read_only(std::string sql, const Args&... args) {
        return statement{std::move(sql), {to_param(args)...}, true};
    }
};

// Several statements sent in one round trip. Unless they contain BEGIN/COMMIT
// themselves they run as one implicit transaction: when one fails, the ones after it
// are not run and the ones before it are rolled back.
struct batch {
    std::vector<statement> statements;

    template <typename... Args>
    batch& add(std::string sql, const Args&... args) {
        statements.push_back(statement::make(std::move(sql), args...));
        return *this;
    }
};

// The outcome of one statement of a batch: its rows, or why it failed.
struct outcome {
    result rows;
    std::optional<error> failure;

    bool ok() const noexcept { return !failure.has_value(); }
    const result& value() const {  // throws the failure
        if (failure) throw *failure;
        return rows;
    }
};

// Cancelling a running statement sends PostgreSQL a CancelRequest, on a connection of its
// own, from a small pool of threads shared by the process: never more than this many
// cancel sockets at once, however many statements are cancelled together.
inline constexpr std::size_t max_concurrent_cancels = 4;

// Process-wide counters of those CancelRequests. Thread-safe.
struct cancel_stats {
    std::uint64_t requested = 0;  // statements that asked for a server-side cancel
    std::uint64_t sent = 0;       // CancelRequests sent
    std::uint64_t coalesced = 0;  // folded into one already waiting for the same connection
    std::uint64_t skipped = 0;    // not sent: the statement had ended by the time its turn came
    std::uint64_t rerun = 0;      // autocommit statements run again after a cancel meant for the one before
    std::size_t peak_sockets = 0; // most cancel sockets open at once (<= max_concurrent_cancels)
};
cancel_stats cancel_statistics() noexcept;

enum class transaction_state { idle, in_transaction, failed, active, unknown };

namespace detail {
struct connection_impl;
}

class connection {
public:
    connection() = default;  // an empty handle; connect() makes real ones

    // Opens a connection without blocking the loop; throws errc::connect_failed or
    // errc::timeout (options.connect_timeout).
    static asio::awaitable<connection> connect(asio::any_io_executor ex, connect_options options);

    // Runs one statement; throws pgcoro::error (errc::sql with the server's diagnostics,
    // errc::connection_lost, errc::cancelled when the awaiting coroutine is cancelled).
    asio::awaitable<result> execute(statement s);

    template <typename... Args>
    asio::awaitable<result> query(std::string sql, const Args&... args) {
        return execute(statement::make(std::move(sql), args...));
    }
    // query() for a statement with no effects; see statement::read_only.
    template <typename... Args>
    asio::awaitable<result> read_query(std::string sql, const Args&... args) {
        return execute(statement::make_read_only(std::move(sql), args...));
    }

    // Runs a batch in one round trip; each statement's outcome in order. Throws only for
    // failures of the whole request (connection lost, cancelled).
    asio::awaitable<std::vector<outcome>> execute(batch b);

    // Runs SQL text that may hold several statements and no parameters (migrations).
    // Needs the connection to itself: nothing else may be in flight.
    asio::awaitable<void> execute_script(std::string sql);

    bool is_open() const noexcept;          // false once broken or closed
    std::size_t in_flight() const noexcept; // requests sent and not yet answered
    transaction_state state() const noexcept;
    int backend_pid() const noexcept;
    asio::any_io_executor get_executor() const noexcept;
    void close() noexcept;                  // fails requests in flight with connection_lost

    // For the pool and tests.
    detail::connection_impl* impl() const noexcept;
    explicit connection(std::shared_ptr<detail::connection_impl> impl);

private:
    struct owner;
    std::shared_ptr<owner> owner_;
};

}  // namespace pgcoro
