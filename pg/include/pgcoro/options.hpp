// pgcoro/options.hpp — settings for connections, pools and transactions, with their
// defaults. Every field has a sensible default; only the connection string is required.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace pgcoro {

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

struct pool_options {
    connect_options connection;
    std::size_t min_size = 0;                  // kept open by the background maintainer
    std::size_t max_size = 10;                 // never more connections than this
    std::size_t max_waiters = 10000;           // acquirers queued beyond this fail at once
    std::chrono::milliseconds acquire_timeout = 5s;
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
    // CockroachDB's client-side retry protocol (SAVEPOINT cockroach_restart).
    bool cockroach_savepoint = false;
};

}  // namespace pgcoro
