// domain/auth/sessions.hpp — which session a bearer token belongs to, at almost no cost
// per request.
//
// Each worker (event loop) keeps the sessions it verified for at most `cache_ttl`
// (SESSION_CACHE_MS, at most 4.5 s: under API.md's 5 s bound for a revocation to reach
// every process). A miss looks the token's hash up in PostgreSQL; the misses of one loop turn
// share one statement (pgcoro::lookup_batcher). `last_used_at` is written lazily: by the
// first lookup that finds it older than the touch interval, not per request.
//
// Like the pools, a worker's part is used only from that worker's thread; forget_*()
// may be called from any thread and reach every worker through its event loop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/auth/caller.hpp"

namespace pgcoro {
class pool;
}

namespace domain {

struct session_settings {
    std::chrono::seconds idle{1800};          // SESSION_IDLE_S: ends after this long unused
    std::chrono::seconds max{43200};          // SESSION_MAX_S: ends this long after log-in
    std::chrono::milliseconds cache_ttl{4000};  // SESSION_CACHE_MS
};

class session_store {
public:
    explicit session_store(session_settings settings);
    ~session_store();
    session_store(const session_store&) = delete;
    session_store& operator=(const session_store&) = delete;

    // One per worker, in worker order, once its pool exists.
    void add_worker(pgcoro::pool& pool);

    // The caller whose token hash is `hash`, when this worker verified it recently: no
    // allocation, no database. The hot path.
    std::optional<caller> cached(std::size_t worker, const std::string& hash) const;
    // Looks `hash` up in the database (shared with this loop turn's other misses): the
    // caller, or nullopt when no live session has it (unknown, expired or revoked).
    boost::asio::awaitable<std::optional<caller>> lookup(std::size_t worker, std::string hash);

    // Drop a session, or every session of a user, from every worker's cache: at once on
    // `here` (the calling worker), by the next turn of the other loops of this process;
    // other processes notice within cache_ttl.
    void forget_token(std::size_t here, const std::string& hash);
    void forget_user(std::size_t here, const pgcoro::uuid& user);

    const session_settings& settings() const noexcept { return settings_; }

    struct worker_state;

private:
    session_settings settings_;
    std::string sql_lookup_;
    std::vector<std::unique_ptr<worker_state>> workers_;
};

}  // namespace domain
