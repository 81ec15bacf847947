// pgcoro/options.hpp — settings for connections, pools and transactions, with their
// defaults. Every field has a sensible default; only the connection string is required.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgcoro {

class retry_budget;

using namespace std::chrono_literals;

struct connect_options {
    // A libpq connection string: "postgresql://user@host:port/db?..." or "host=... dbname=...".
    // Several hosts ("postgresql://h1:5432,h2:5432/db") fail over to the next when one is down.
    std::string conninfo;
    std::chrono::milliseconds connect_timeout = 5s;
    // Named prepared statements cached per connection (LRU). 0 disables them: every
    // statement is then parsed anew (for PgBouncer in transaction mode).
    std::size_t statement_cache_capacity = 256;
    std::string application_name = "pgcoro";
    // Read-only statements submitted in one loop turn share one Sync (see
    // statement::read_only). Off: every request ends in its own Sync.
    bool group_read_only = true;
    // Called with each NOTICE/WARNING the server sends; by default they are dropped
    // (libpq would print them to stderr).
    std::function<void(std::string_view)> on_notice;
};

// A statement (or a batch) that took longer than pool_options::slow_after; passed
// to pool_options::on_slow_statement. Never carries the statement's parameters.
struct slow_statement {
    std::string_view kind;   // "autocommit" or "transaction"
    std::string_view name;   // the first line of its (first meaningful) SQL, at most 120 bytes
    std::chrono::nanoseconds duration;  // from sending it to its last result
};

struct pool_options {
    connect_options connection;
    std::size_t min_size = 0;                  // kept open by the background maintainer
    std::size_t max_size = 10;                 // never more connections than this
    std::size_t max_waiters = 10000;           // acquirers queued beyond this fail at once
    std::chrono::milliseconds acquire_timeout = 5s;
    // An acquirer that would queue behind more work than the pool can get through within
    // acquire_timeout (its place in the queue times the recent time a connection is
    // held, over max_size) fails at once with pool_timeout instead of after
    // acquire_timeout: overload is refused fast. Counted in pool_stats::acquire_rejections.
    bool reject_hopeless_waits = true;
    std::chrono::milliseconds idle_timeout = 60s;      // idle connections above min_size close
    // With up to 10% jitter, checked every second. A connection past it is closed when
    // next idle; a shared one busy with pipelined statements takes no new ones meanwhile.
    std::chrono::milliseconds max_lifetime = 30min;
    std::chrono::milliseconds health_check_after = 30s; // idle longer: ping before hand-out
    // Concurrent autocommit statements (pool::query) share connections in pipeline mode.
    // Off: each statement holds a connection of its own for its round trip.
    bool auto_pipeline = true;
    // How many in-flight statements one shared connection takes before the pool prefers
    // opening another (up to max_size).
    std::size_t pipeline_depth = 64;
    // Statements (and each round trip of a transaction) slower than this are counted
    // (query_stats::slow) and passed to on_slow_statement, on the pool's thread. 0: off.
    std::chrono::milliseconds slow_after = 100ms;
    std::function<void(const slow_statement&)> on_slow_statement;
};

enum class isolation { read_committed, repeatable_read, serializable };

struct transaction_options {
    isolation level = isolation::serializable;
    bool read_only = false;
    // Retry policy: attempt n (n >= 1) sleeps a uniformly random time in
    // [0, min(backoff_cap, backoff_base * 2^(n-1))] ("full jitter") before running again.
    int max_attempts = 30;
    std::chrono::milliseconds backoff_base = 5ms;
    std::chrono::milliseconds backoff_cap = 250ms;
    std::chrono::milliseconds deadline = 10s;  // overall, across attempts
    // Fairness under contention: once a transaction has lost this many attempts to
    // conflicts (40001, 40P01), its next ones run alone in their pool: no younger transaction of the pool starts until it
    // ends, and it starts once those already running have ended. Old transactions then
    // finish instead of losing every race to new ones. 0: never. (Transactions of other
    // pools or processes are not held back.)
    int run_alone_after = 3;
    // Shared across transactions (and pools, threads): retries beyond its share of the
    // transactions started fail fast with errc::retry_budget_exhausted instead of
    // feeding a retry storm. Null: only max_attempts and deadline bound retries.
    std::shared_ptr<retry_budget> budget;
    // CockroachDB's client-side retry protocol (SAVEPOINT cockroach_restart).
    bool cockroach_savepoint = false;
    // Settings for this transaction only (set_config(name, value, true), like SET LOCAL),
    // sent with BEGIN: no round trip of their own. E.g. {"enable_seqscan", "off"} keeps a
    // SERIALIZABLE transaction on index scans, whose predicate locks cover rows rather
    // than whole tables.
    std::vector<std::pair<std::string, std::string>> settings;
};

}  // namespace pgcoro
