#include "pgcoro/transaction.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <stdexcept>

#include "pgcoro/retry_budget.hpp"
#include "pgcoro/timeout.hpp"
#include "pool_impl.hpp"

namespace pgcoro {

namespace {

const char* begin_sql(const transaction_options& o) {
    switch (o.level) {
    case isolation::read_committed:
        return o.read_only ? "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY" : "BEGIN ISOLATION LEVEL READ COMMITTED";
    case isolation::repeatable_read:
        return o.read_only ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN ISOLATION LEVEL REPEATABLE READ";
    case isolation::serializable:
    default:
        return o.read_only ? "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY" : "BEGIN ISOLATION LEVEL SERIALIZABLE";
    }
}

}  // namespace

// --- transaction

transaction::transaction(connection& conn, const transaction_options& options) : conn_(conn), options_(options) {
    queued_.push_back(statement{begin_sql(options), {}});
    for (auto& [name, value] : options.settings)
        queued_.push_back(statement::make("SELECT set_config($1, $2, true)", name, value));
    if (options.cockroach_savepoint) queued_.push_back(statement{"SAVEPOINT cockroach_restart", {}});
}

asio::awaitable<std::vector<outcome>> transaction::round_trip(batch b) {
    if (!pool_) co_return co_await conn_.execute(std::move(b));
    detail::statement_name name(b.statements);
    const auto sent = std::chrono::steady_clock::now();
    std::exception_ptr failure;
    std::vector<outcome> out;
    try {
        out = co_await conn_.execute(std::move(b));
    } catch (...) {
        failure = std::current_exception();
    }
    pool_->round_trip_done(true, sent, name, failure);
    if (failure) std::rethrow_exception(failure);
    co_return out;
}

void transaction::restart_at_savepoint() {
    queued_.clear();
    queued_.push_back(statement{"ROLLBACK TO SAVEPOINT cockroach_restart", {}});
    began_ = true;
}

asio::awaitable<std::vector<outcome>> transaction::send(std::vector<statement> statements) {
    if (committed_) throw std::logic_error("pgcoro::transaction: used after it committed");
    batch b;
    std::size_t prefix = queued_.size();
    b.statements = std::move(queued_);
    queued_.clear();
    for (auto& s : statements) b.statements.push_back(std::move(s));
    if (prefix > 0) began_ = true;  // BEGIN, if still queued, goes out now
    auto out = co_await round_trip(std::move(b));
    for (auto& o : out)
        if (o.failure) throw *o.failure;
    out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(prefix));
    co_return out;
}

asio::awaitable<result> transaction::execute(statement s) {
    if (s.timeout.count() > 0) {
        // On time the statement is cancelled on the server: the transaction has failed,
        // and errc::timeout (not retried) makes transact() roll it back.
        auto limit = s.timeout;
        s.timeout = {};
        co_return co_await with_timeout(execute(std::move(s)), limit);
    }
    std::vector<statement> one;
    one.push_back(std::move(s));
    auto out = co_await send(std::move(one));
    co_return std::move(out.back().rows);
}

asio::awaitable<std::vector<outcome>> transaction::execute(batch b) {
    co_return co_await send(std::move(b.statements));
}

pgcoro::savepoint transaction::savepoint() {
    std::string name = "pgcoro_sp_" + std::to_string(next_savepoint_++);
    queued_.push_back(statement{"SAVEPOINT " + name, {}});
    return pgcoro::savepoint(*this, std::move(name));
}

asio::awaitable<void> transaction::commit() {
    if (committed_) co_return;  // execute_and_commit() did
    if (!began_) {              // the body ran no statement: there is nothing to commit
        queued_.clear();
        co_return;
    }
    co_await finish({});
}

asio::awaitable<result> transaction::execute_and_commit(statement s) {
    std::vector<statement> one;
    one.push_back(std::move(s));
    auto out = co_await finish(std::move(one));
    co_return std::move(out.at(0).rows);
}

asio::awaitable<std::vector<outcome>> transaction::execute_and_commit(batch b) {
    co_return co_await finish(std::move(b.statements));
}

asio::awaitable<std::vector<outcome>> transaction::finish(std::vector<statement> last) {
    if (committed_) throw std::logic_error("pgcoro::transaction: used after it committed");
    batch b;
    b.statements = std::move(queued_);
    queued_.clear();
    const std::size_t last_at = b.statements.size(), last_count = last.size();
    for (auto& st : last) b.statements.push_back(std::move(st));
    if (options_.cockroach_savepoint) b.statements.push_back(statement{"RELEASE SAVEPOINT cockroach_restart", {}});
    b.statements.push_back(statement{"COMMIT", {}});
    began_ = true;  // BEGIN, if still queued, goes out now
    std::vector<outcome> out;
    try {
        out = co_await round_trip(std::move(b));
    } catch (const error& e) {
        if (is_connection_error(e))
            throw error(errc::commit_outcome_unknown, "connection lost while committing", e.diag());
        throw;
    }
    // The first failure is the one that counts: the pipeline skips what follows it.
    for (auto& o : out) {
        if (!o.failure) continue;
        if (classify(o.failure->sqlstate()) == sqlstate_kind::statement_completion_unknown)
            throw error(errc::commit_outcome_unknown, "the server does not know whether COMMIT succeeded",
                        o.failure->diag());
        throw *o.failure;
    }
    // COMMIT of a transaction that had failed answers ROLLBACK, not an error.
    if (out.back().rows.command_tag() == "ROLLBACK") {
        diagnostics d;
        d.sqlstate = "25P02";
        d.message = "the transaction had failed and was rolled back";
        throw error(errc::sql, "COMMIT rolled back a failed transaction", std::move(d));
    }
    committed_ = true;
    began_ = false;  // nothing is left to roll back
    std::vector<outcome> mine(std::make_move_iterator(out.begin() + static_cast<std::ptrdiff_t>(last_at)),
                              std::make_move_iterator(out.begin() + static_cast<std::ptrdiff_t>(last_at + last_count)));
    co_return mine;
}

asio::awaitable<void> transaction::rollback() {
    queued_.clear();
    if (!began_ || !conn_.is_open()) co_return;
    try {
        co_await conn_.query("ROLLBACK");
    } catch (...) {
        conn_.close();  // cannot tell its state: never hand it out again
    }
    began_ = false;
}

// --- savepoint

savepoint::savepoint(transaction& tx, std::string name) : tx_(&tx), name_(std::move(name)) {}
savepoint::savepoint(savepoint&& other) noexcept : tx_(other.tx_), name_(std::move(other.name_)) { other.tx_ = nullptr; }

savepoint::~savepoint() {
    if (!tx_) return;
    try {
        tx_->queued_.push_back(statement{"ROLLBACK TO SAVEPOINT " + name_, {}});
        tx_->queued_.push_back(statement{"RELEASE SAVEPOINT " + name_, {}});
    } catch (...) {
        // Out of memory while unwinding: the transaction stays failed and COMMIT says so.
    }
}

void savepoint::release() {
    if (!tx_) return;
    tx_->queued_.push_back(statement{"RELEASE SAVEPOINT " + name_, {}});
    tx_ = nullptr;
}

// --- the retry loop

// GCC 12 takes Asio's coroutine frame allocator (aligned_alloc, freed by the frame's own
// operator delete) for a mismatched new/delete once this frame's allocation is inlined:
// a false positive (test/pg/pipeline_test.cpp shows the same).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
// A transaction's place in its pool's gate (pool_impl::enter_gate), left on every exit.
struct gate_pass {
    gate_pass() = default;
    gate_pass(const gate_pass&) = delete;
    gate_pass& operator=(const gate_pass&) = delete;
    detail::pool_impl* pool = nullptr;
    bool alone = false;
    void leave() noexcept {
        if (pool) pool->leave_gate(alone);
        pool = nullptr;
    }
    ~gate_pass() { leave(); }
};
}  // namespace

asio::awaitable<void> pool::run_transaction(const transaction_options& o,
                                            std::function<asio::awaitable<void>(transaction&)> body) {
    using clock = std::chrono::steady_clock;
    auto impl = impl_;
    const auto deadline = clock::now() + o.deadline;
    std::optional<error> last;
    pooled_connection held;
    gate_pass pass;
    bool restart_in_place = false;
    int conflicts = 0;  // attempts lost to 40001 or 40P01
    int stale_plan_retries = 0;

    for (int attempt = 1;; ++attempt) {
        // Past run_alone_after conflicts the attempt waits for the others to end and runs
        // alone (a lost connection is no race, and does not count). A CockroachDB restart
        // in place keeps its place: its transaction is open.
        if (!pass.pool) {
            const bool alone = o.run_alone_after > 0 && conflicts >= o.run_alone_after;
            co_await impl->enter_gate(alone, deadline);
            pass.pool = impl.get();
            pass.alone = alone;
            if (alone) ++impl->tx_ran_alone;
        }
        ++impl->tx_attempts;
        if (attempt == 1 && o.budget) o.budget->deposit();
        if (!held || !held->is_open()) {
            if (held) held.discard();
            held = co_await acquire();
            // A fresh connection has no transaction to restart at its savepoint (the old
            // one broke during the backoff): it begins anew.
            restart_in_place = false;
        }
        transaction tx(*held, o);
        tx.pool_ = impl.get();
        tx.set_attempt(attempt);
        if (restart_in_place) tx.restart_at_savepoint();

        std::exception_ptr failure;
        try {
            co_await body(tx);
            co_await tx.commit();
            ++impl->tx_commits;
            co_return;
        } catch (...) {
            failure = std::current_exception();
        }

        // Sort the failure: retry, unknown outcome, or give up at once.
        enum class next { give_up, retry_conflict, retry_deadlock, retry_connection, retry_stale_plan } what =
            next::give_up;
        try {
            std::rethrow_exception(failure);
        } catch (const error& e) {
            if (e.kind() == errc::commit_outcome_unknown) {
                ++impl->tx_unknown;
                held.discard();
                throw;
            }
            if (e.kind() == errc::sql && classify(e.sqlstate()) == sqlstate_kind::serialization_failure)
                what = next::retry_conflict;
            else if (e.kind() == errc::sql && classify(e.sqlstate()) == sqlstate_kind::deadlock_detected)
                what = next::retry_deadlock;
            else if (is_connection_error(e))
                what = next::retry_connection;
            else if (is_stale_plan(e) && stale_plan_retries++ == 0)
                what = next::retry_stale_plan;  // the connection forgot the plan: once more, prepared afresh
            if (what != next::give_up) last = e;
        } catch (...) {
        }

        if (what == next::give_up) {
            co_await tx.rollback();
            held.reset();
            std::rethrow_exception(failure);
        }
        if (what == next::retry_conflict) ++impl->tx_retry_serialization;
        if (what == next::retry_deadlock) ++impl->tx_retry_deadlock;
        if (what == next::retry_conflict || what == next::retry_deadlock) ++conflicts;
        if (what == next::retry_connection) ++impl->tx_retry_connection;
        if (what == next::retry_stale_plan) ++impl->tx_retry_stale_plan;

        // Full jitter: a uniform wait in [0, min(cap, base * 2^(attempt-1))]. The first
        // attempt to run alone goes at once: it no longer races anyone of its pool.
        auto ceiling = o.backoff_base.count() << std::min(attempt - 1, 30);
        ceiling = std::min<long long>(ceiling, o.backoff_cap.count());
        if (o.run_alone_after > 0 && conflicts == o.run_alone_after) ceiling = 0;
        auto wait = std::chrono::microseconds(
            std::uniform_int_distribution<long long>(0, std::max<long long>(ceiling, 0) * 1000)(impl->rng));
        bool exhausted = attempt >= o.max_attempts || clock::now() + wait >= deadline;

        restart_in_place = !exhausted && o.cockroach_savepoint && what != next::retry_connection && held->is_open();
        if (!restart_in_place) {
            co_await tx.rollback();  // ROLLBACK before sleeping: release locks for the others
            // The connection goes back for the wait: a retrying transaction must not keep
            // one from everyone else. (The pool hands out the most recently used first, so
            // without contention it gets the same one back.)
            if (what == next::retry_connection) held.discard();
            else held.reset();
            pass.leave();
        }
        if (!exhausted && o.budget && !o.budget->try_spend()) {
            if (restart_in_place) co_await tx.rollback();  // kept open for a retry that will not come
            held.reset();
            ++impl->tx_budget_denied;
            throw error(errc::retry_budget_exhausted,
                        "transaction not retried: the retry budget is spent (" + std::string(last->what()) + ")",
                        last->diag());
        }
        if (exhausted) {
            held.reset();
            ++impl->tx_exhausted;
            throw error(errc::retry_exhausted, "transaction retry budget exhausted after " + std::to_string(attempt) +
                                                   " attempts: " + last->what(),
                        last->diag());
        }
        if (wait.count() > 0) {
            asio::steady_timer timer(impl->ex, wait);
            boost::system::error_code ec;
            co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            if (ec) throw error(errc::cancelled, "transaction cancelled while waiting to retry");
        }
    }
}

}  // namespace pgcoro
