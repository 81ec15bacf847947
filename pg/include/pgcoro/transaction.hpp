// pgcoro/transaction.hpp — awaitable transactions with retries, and scoped savepoints.
//
//   auto id = co_await pool.transact(opts, [&](pgcoro::transaction& tx) -> asio::awaitable<int> {
//       auto r = co_await tx.query("SELECT balance FROM accounts WHERE id = $1", from);
//       ...
//       co_return 42;
//   });
//
// transact() sends BEGIN (with transaction_options::settings) with the first statement
// (one round trip), runs the body and COMMITs. A body whose last statement is known can send COMMIT with it
// (tx.query_and_commit): a one-statement transaction then costs one round trip, and its
// row locks are released without waiting for the client. On a serialization failure (40001), a deadlock (40P01) or a connection lost
// before COMMIT was sent, it rolls back, sleeps with capped exponential backoff and full
// jitter, and runs the whole body again; the connection goes back to the pool for the
// wait. After transaction_options::run_alone_after failed attempts, the next ones run
// alone in the pool, so that old transactions finish.
// Other errors (the body's own exceptions among them) roll back and propagate unchanged.
// A connection lost after COMMIT was sent, or SQLSTATE 40003, throws
// errc::commit_outcome_unknown and is never retried; a spent budget throws
// errc::retry_exhausted carrying the last error's diagnostics.
//
// The body may run several times: it must not have side effects outside the database
// that cannot be repeated.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pgcoro/pool.hpp"

namespace pgcoro {

class savepoint;

class transaction {
public:
    transaction(connection& conn, const transaction_options& options);
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;

    asio::awaitable<result> execute(statement s);
    asio::awaitable<std::vector<outcome>> execute(batch b);  // throws the first failure
    template <typename... Args>
    asio::awaitable<result> query(std::string sql, const Args&... args) {
        return execute(statement::make(std::move(sql), args...));
    }

    // Runs the statement and COMMITs in the same round trip; returns the statement's rows
    // once COMMIT has succeeded. The transaction is over: another statement on it throws
    // std::logic_error, transact() commits nothing more,
    // and an exception the body throws afterwards no longer undoes it (so read what
    // decides between keeping and undoing the work inside the statement itself). Fails
    // like commit(): a lost connection throws commit_outcome_unknown, and a serialization
    // failure of the statement or of COMMIT is retried by transact() as usual.
    asio::awaitable<result> execute_and_commit(statement s);
    // The same for a batch: its outcomes once COMMIT has succeeded (the first failure is
    // thrown, as execute(batch) does).
    asio::awaitable<std::vector<outcome>> execute_and_commit(batch b);
    template <typename... Args>
    asio::awaitable<result> query_and_commit(std::string sql, const Args&... args) {
        return execute_and_commit(statement::make(std::move(sql), args...));
    }

    // A savepoint, set with the next statement (no round trip of its own). Leaving its
    // scope without release() rolls the transaction back to it, so "try this, skip it if
    // it fails" is: { auto sp = tx.savepoint(); try { ...; sp.release(); } catch (...) {} }
    pgcoro::savepoint savepoint();

    // COMMIT (with whatever statements are still queued). Throws commit_outcome_unknown
    // when the connection is lost after COMMIT was sent. Called by transact().
    asio::awaitable<void> commit();
    // ROLLBACK, errors ignored; the connection is closed when that fails.
    asio::awaitable<void> rollback();

    connection& conn() noexcept { return conn_; }
    int attempt() const noexcept { return attempt_; }  // 1 for the first run of the body
    bool began() const noexcept { return began_; }

    void set_attempt(int n) noexcept { attempt_ = n; }
    void restart_at_savepoint();  // CockroachDB: ROLLBACK TO SAVEPOINT cockroach_restart

private:
    friend class pgcoro::savepoint;
    friend class pgcoro::pool;
    asio::awaitable<std::vector<outcome>> send(std::vector<statement> statements);
    // Sends what is queued, then `last`, then COMMIT; returns last's outcomes.
    asio::awaitable<std::vector<outcome>> finish(std::vector<statement> last);
    // Runs one round trip, timed for the pool's query metrics when run by pool::transact.
    asio::awaitable<std::vector<outcome>> round_trip(batch b);

    connection& conn_;
    detail::pool_impl* pool_ = nullptr;  // set by pool::transact: where round trips are counted
    transaction_options options_;
    std::vector<statement> queued_;  // sent in front of the next statement
    bool began_ = false;
    bool committed_ = false;
    int next_savepoint_ = 0;
    int attempt_ = 1;
};

class savepoint {
public:
    savepoint(transaction& tx, std::string name);
    savepoint(savepoint&& other) noexcept;
    savepoint& operator=(savepoint&&) = delete;
    ~savepoint();  // rolls back to it unless released

    void release();  // keep the work done since it (RELEASE, sent with the next statement)
    const std::string& name() const noexcept { return name_; }

private:
    transaction* tx_;
    std::string name_;
};

template <typename F>
auto pool::transact(transaction_options options, F body)
    -> asio::awaitable<typename detail::awaitable_value<std::invoke_result_t<F&, transaction&>>::type> {
    using T = typename detail::awaitable_value<std::invoke_result_t<F&, transaction&>>::type;
    if constexpr (std::is_void_v<T>) {
        co_await run_transaction(options, [&body](transaction& tx) -> asio::awaitable<void> { co_await body(tx); });
    } else {
        std::optional<T> out;
        co_await run_transaction(options, [&body, &out](transaction& tx) -> asio::awaitable<void> {
            out.emplace(co_await body(tx));
        });
        co_return std::move(*out);
    }
}

}  // namespace pgcoro
