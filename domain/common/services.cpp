#include "domain/common/services.hpp"

namespace domain {

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
        sum.exhausted += s.exhausted;
        sum.unknown_outcomes += s.unknown_outcomes;
    }
    return sum;
}

}  // namespace domain
