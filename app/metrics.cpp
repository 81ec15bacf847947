#include "app/metrics.hpp"

namespace app {

void register_database_metrics(net::metrics& registry, const domain::services& svc) {
    registry.add_collector([&svc](std::string& out) {
        using namespace net::prometheus;
        // pool_stats() and tx_stats() read each shard's atomics: safe from any worker.
        auto p = svc.pool_stats();
        auto gauge = [&out](const char* name, const char* help, std::uint64_t v) {
            family(out, name, "gauge", help);
            sample(out, name, "", v);
        };
        auto counter = [&out](const char* name, const char* help, auto v) {
            family(out, name, "counter", help);
            sample(out, name, "", v);
        };
        gauge("pgcoro_pool_connections", "Database connections open or being opened.", p.total);
        gauge("pgcoro_pool_idle_connections", "Database connections open and unused.", p.idle);
        gauge("pgcoro_pool_in_use_connections", "Database connections held by requests.", p.in_use);
        gauge("pgcoro_pool_waiting_acquirers", "Requests queued for a database connection.", p.waiting);
        gauge("pgcoro_pool_max_connections", "The pools' size limit.", p.max);
        counter("pgcoro_pool_acquires_total", "Connections handed out by the pools.", p.acquire_count);
        counter("pgcoro_pool_acquire_timeouts_total", "Acquires that gave up waiting for a connection.",
                p.acquire_timeouts);
        counter("pgcoro_pool_acquire_wait_seconds_total", "Time acquirers spent waiting for a connection.",
                std::chrono::duration<double>(p.acquire_wait).count());
        counter("pgcoro_pool_connects_total", "Database connections opened.", p.connects);
        counter("pgcoro_pool_connect_failures_total", "Database connection attempts that failed.",
                p.connect_failures);
        counter("pgcoro_statements_total", "Autocommit statements and batches completed (outside transactions).",
                p.statements);
        counter("pgcoro_statement_errors_total",
                "Of those, the ones that failed (database error, connection lost, cancelled, pool timeout).",
                p.statement_errors);
        counter("pgcoro_statement_seconds_total", "Their total time from the call to the answer, waits included.",
                std::chrono::duration<double>(p.statement_time).count());

        auto t = svc.tx_stats();
        counter("pgcoro_transaction_attempts_total", "Transaction bodies run, retries included.", t.attempts);
        counter("pgcoro_transaction_commits_total", "Transactions committed.", t.commits);
        family(out, "pgcoro_transaction_retries_total", "counter", "Transactions run again, by cause.");
        sample(out, "pgcoro_transaction_retries_total", label("cause", "serialization"), t.retries_serialization);
        sample(out, "pgcoro_transaction_retries_total", label("cause", "deadlock"), t.retries_deadlock);
        sample(out, "pgcoro_transaction_retries_total", label("cause", "connection"), t.retries_connection);
        counter("pgcoro_transaction_retries_exhausted_total", "Transactions that failed after their retry budget.",
                t.exhausted);
        counter("pgcoro_transaction_unknown_outcomes_total",
                "Commits whose outcome is unknown (connection lost after COMMIT was sent).", t.unknown_outcomes);
    });
}

}  // namespace app
