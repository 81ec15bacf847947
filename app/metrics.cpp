#include "app/metrics.hpp"

#include <cstdio>
#include <utility>

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
        counter("pgcoro_pool_acquire_rejections_total",
                "Of the acquire timeouts, those refused at once (queue full, or too long to wait in).",
                p.acquire_rejections);
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

        // Round trips to the database by kind: autocommit statements and batches, and
        // each round trip of a transaction (COMMIT included); pool waits excluded.
        const std::pair<const char*, const pgcoro::query_stats*> kinds[] = {
            {"autocommit", &p.autocommit_queries}, {"transaction", &p.transaction_queries}};
        family(out, "pgcoro_queries_total", "counter", "Round trips to the database, by kind.");
        for (auto& [kind, q] : kinds) sample(out, "pgcoro_queries_total", label("kind", kind), q->count);
        family(out, "pgcoro_queries_duration_seconds", "histogram",
               "Time from sending a statement (or a transaction's round trip) to its last result.");
        for (auto& [kind, q] : kinds) {
            std::uint64_t cumulative = 0;
            for (std::size_t b = 0; b <= pgcoro::query_stats::bounds.size(); ++b) {
                cumulative += q->buckets[b];
                char le[32];
                if (b < pgcoro::query_stats::bounds.size())
                    std::snprintf(le, sizeof le, "%g", pgcoro::query_stats::bounds[b]);
                else
                    std::snprintf(le, sizeof le, "+Inf");
                sample(out, "pgcoro_queries_duration_seconds_bucket", label("kind", kind) + "," + label("le", le),
                       cumulative);
            }
            sample(out, "pgcoro_queries_duration_seconds_sum", label("kind", kind),
                   std::chrono::duration<double>(q->sum).count());
            sample(out, "pgcoro_queries_duration_seconds_count", label("kind", kind), q->count);
        }
        family(out, "pgcoro_slow_queries_total", "counter", "Round trips slower than SLOW_QUERY_MS, by kind.");
        for (auto& [kind, q] : kinds) sample(out, "pgcoro_slow_queries_total", label("kind", kind), q->slow);

        auto t = svc.tx_stats();
        counter("pgcoro_transaction_attempts_total", "Transaction bodies run, retries included.", t.attempts);
        counter("pgcoro_transaction_commits_total", "Transactions committed.", t.commits);
        family(out, "pgcoro_transaction_retries_total", "counter", "Transactions run again, by cause.");
        sample(out, "pgcoro_transaction_retries_total", label("cause", "serialization"), t.retries_serialization);
        sample(out, "pgcoro_transaction_retries_total", label("cause", "deadlock"), t.retries_deadlock);
        sample(out, "pgcoro_transaction_retries_total", label("cause", "connection"), t.retries_connection);
        sample(out, "pgcoro_transaction_retries_total", label("cause", "stale_plan"), t.retries_stale_plan);
        counter("pgcoro_transaction_ran_alone_total",
                "Attempts run alone in their pool after repeated conflicts (fairness to old transactions).",
                t.ran_alone);
        counter("pgcoro_transaction_retries_exhausted_total", "Transactions that failed after their retry budget.",
                t.exhausted);
        counter("pgcoro_transaction_retries_denied_total",
                "Retries refused by the shared retry budget (the transaction failed fast).", t.budget_denied);
        counter("pgcoro_transaction_unknown_outcomes_total",
                "Commits whose outcome is unknown (connection lost after COMMIT was sent).", t.unknown_outcomes);
    });
}

}  // namespace app
