// domain/common/services.hpp — what handlers share: one pgcoro pool per server worker
// (each bound to that worker's event loop, so a request's queries stay on its thread).
#pragma once

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pgcoro/lookup_batcher.hpp>
#include <pgcoro/pool.hpp>

namespace domain {

class database_probe;
class session_store;
class trusted_proxies;

struct services {
    services();
    ~services();

    std::vector<std::unique_ptr<pgcoro::pool>> pools;  // indexed by worker
    // Lookups by key of one loop turn merged into one statement (pgcoro::lookup_batcher),
    // one set per worker; empty when DB_BATCH_LOOKUPS=0. Declared after the pools:
    // destroyed before them.
    struct lookups {
        std::unique_ptr<pgcoro::lookup_batcher> users;      // GET /users/{id} (make_user_lookup)
        std::unique_ptr<pgcoro::lookup_batcher> inventory;  // GET /inventory/{product_id} (make_inventory_lookup)
    };
    std::vector<lookups> batched;

    // The row whose id is `id`, or nullopt: through the worker's `which` batcher when
    // lookups are batched, else by `sql` (the single-row SELECT, $1 the id) on its own.
    boost::asio::awaitable<std::optional<pgcoro::found_row>> find_by_id(
        std::size_t worker, std::unique_ptr<pgcoro::lookup_batcher> lookups::*which, const std::string& sql,
        const pgcoro::uuid& id);

    // GET /health's own database connection, one per worker (see domain/health).
    std::vector<std::unique_ptr<database_probe>> probes;
    // Set when a shutdown begins: GET /health answers 503 "draining" from then on.
    std::atomic<bool> draining{false};

    // Blocking work (password hashing) runs here, never on an event loop.
    boost::asio::thread_pool blocking{2};

    // Argon2id cost: "interactive" (libsodium's default for logins), "moderate", or
    // "min" (for tests and load tests only).
    std::string password_cost = "interactive";

    // Sessions and who may do what (domain/auth).
    struct auth_state {
        bool required = true;  // AUTH=required; false: AUTH=off, the open API
        std::unique_ptr<session_store> sessions;
        // Log-in checks an unknown email against this hash (same cost as real ones).
        std::string dummy_hash;
        // TRUSTED_PROXIES; null: X-Forwarded-For is never believed.
        std::shared_ptr<const trusted_proxies> proxies;
        // Password hashes and checks waiting or running at once; past it 503 OVERLOADED.
        int hash_queue = 32;
        std::atomic<int> hashing{0};
    } auth;

    pgcoro::pool& pool(std::size_t worker) { return *pools.at(worker); }

    // The sum over all shards (last_answer, last_failure: the latest); safe from any thread.
    pgcoro::pool_stats pool_stats() const;
    pgcoro::transaction_stats tx_stats() const;
};

}  // namespace domain
