#include "domain/common/services.hpp"

#include "domain/auth/client_address.hpp"
#include "domain/auth/sessions.hpp"
#include "domain/health/probe.hpp"

namespace domain {

namespace {

boost::asio::awaitable<std::optional<pgcoro::found_row>> find_alone(pgcoro::pool& pool, const std::string& sql,
                                                                    pgcoro::uuid id) {
    auto r = co_await pool.read_query(sql, id);
    if (r.empty()) co_return std::nullopt;
    co_return pgcoro::found_row(std::move(r), 0);
}

}  // namespace

// Not a coroutine itself: the batched path, the hot one, costs no frame of its own.
boost::asio::awaitable<std::optional<pgcoro::found_row>> services::find_by_id(
    std::size_t worker, std::unique_ptr<pgcoro::lookup_batcher> lookups::*which, const std::string& sql,
    const pgcoro::uuid& id) {
    if (!batched.empty()) return (batched.at(worker).*which)->find(id.to_string());
    return find_alone(pool(worker), sql, id);
}

services::services() = default;
services::~services() = default;

pgcoro::pool_stats services::pool_stats() const {
    pgcoro::pool_stats sum;
    for (auto& p : pools) {
        auto s = p->stats();
        sum.total += s.total;
        sum.idle += s.idle;
        sum.in_use += s.in_use;
        sum.waiting += s.waiting;
        sum.max += s.max;
        sum.acquire_count += s.acquire_count;
        sum.acquire_timeouts += s.acquire_timeouts;
        sum.acquire_wait += s.acquire_wait;
        sum.connects += s.connects;
        sum.connect_failures += s.connect_failures;
        sum.statements += s.statements;
        sum.statement_errors += s.statement_errors;
        sum.statement_time += s.statement_time;
        sum.acquire_rejections += s.acquire_rejections;
        sum.autocommit_queries += s.autocommit_queries;
        sum.transaction_queries += s.transaction_queries;
        sum.last_answer = std::max(sum.last_answer, s.last_answer);
        sum.last_failure = std::max(sum.last_failure, s.last_failure);
    }
    return sum;
}

pgcoro::transaction_stats services::tx_stats() const {
    pgcoro::transaction_stats sum;
    for (auto& p : pools) {
        auto s = p->tx_stats();
        sum.attempts += s.attempts;
        sum.commits += s.commits;
        sum.retries_serialization += s.retries_serialization;
        sum.retries_deadlock += s.retries_deadlock;
        sum.retries_connection += s.retries_connection;
        sum.ran_alone += s.ran_alone;
        sum.exhausted += s.exhausted;
        sum.budget_denied += s.budget_denied;
        sum.retries_stale_plan += s.retries_stale_plan;
        sum.unknown_outcomes += s.unknown_outcomes;
    }
    return sum;
}

}  // namespace domain
