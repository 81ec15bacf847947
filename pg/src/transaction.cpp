#include "pgcoro/transaction.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <stdexcept>

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
    if (options.cockroach_savepoint) queued_.push_back(statement{"SAVEPOINT cockroach_restart", {}});
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
    auto out = co_await conn_.execute(std::move(b));
    for (auto& o : out)
        if (o.failure) throw *o.failure;
    out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(prefix));
    co_return out;
}

asio::awaitable<result> transaction::execute(statement s) {
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
    co_await finish(std::nullopt);
}

asio::awaitable<result> transaction::execute_and_commit(statement s) {
    co_return co_await finish(std::move(s));
}

asio::awaitable<result> transaction::finish(std::optional<statement> last) {
    if (committed_) throw std::logic_error("pgcoro::transaction: used after it committed");
    batch b;
    b.statements = std::move(queued_);
    queued_.clear();
    const std::size_t last_at = b.statements.size();
    const bool with_last = last.has_value();
    if (with_last) b.statements.push_back(std::move(*last));
    if (options_.cockroach_savepoint) b.statements.push_back(statement{"RELEASE SAVEPOINT cockroach_restart", {}});
    b.statements.push_back(statement{"COMMIT", {}});
    began_ = true;  // BEGIN, if still queued, goes out now
    std::vector<outcome> out;
    try {
        out = co_await conn_.execute(std::move(b));
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
    co_return with_last ? std::move(out.at(last_at).rows) : result{};
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

asio::awaitable<void> pool::run_transaction(const transaction_options& o,
                                            std::function<asio::awaitable<void>(transaction&)> body) {
    using clock = std::chrono::steady_clock;
    auto impl = impl_;
    const auto deadline = clock::now() + o.deadline;
    std::optional<error> last;
    pooled_connection held;
    bool restart_in_place = false;

    for (int attempt = 1;; ++attempt) {
        ++impl->tx_attempts;
        // A retry keeps its connection (unless it broke): going back to the end of the
        // pool's queue would add a wait to every conflict.
        if (!held || !held->is_open()) {
            if (held) held.discard();
            held = co_await acquire();
        }
        transaction tx(*held, o);
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
        enum class next { give_up, retry_conflict, retry_deadlock, retry_connection } what = next::give_up;
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
        if (what == next::retry_connection) ++impl->tx_retry_connection;

        // Full jitter: a uniform wait in [0, min(cap, base * 2^(attempt-1))].
        auto ceiling = o.backoff_base.count() << std::min(attempt - 1, 30);
        ceiling = std::min<long long>(ceiling, o.backoff_cap.count());
        auto wait = std::chrono::microseconds(
            std::uniform_int_distribution<long long>(0, std::max<long long>(ceiling, 0) * 1000)(impl->rng));
        bool exhausted = attempt >= o.max_attempts || clock::now() + wait >= deadline;

        restart_in_place = !exhausted && o.cockroach_savepoint && what != next::retry_connection && held->is_open();
        if (!restart_in_place) {
            co_await tx.rollback();  // ROLLBACK before sleeping: release locks for the others
            if (what == next::retry_connection) held.discard();
        }
        if (exhausted) {
            held.reset();
            ++impl->tx_exhausted;
            throw error(errc::retry_exhausted, "transaction retry budget exhausted after " + std::to_string(attempt) +
                                                   " attempts: " + last->what(),
                        last->diag());
        }
        asio::steady_timer timer(impl->ex, wait);
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) throw error(errc::cancelled, "transaction cancelled while waiting to retry");
    }
}

}  // namespace pgcoro
