// app/config.hpp — the server's settings, from environment variables and the same as
// command-line flags (flags win). Validated at start with clear messages.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "net/server.hpp"

namespace app {

struct config {
    net::server_options http;
    std::string database_url;      // DATABASE_URL / --database-url
    std::size_t pool_max = 0;      // DB_POOL_MAX / --db-pool-max: connections per process (0: 4 per worker)
    bool auto_pipeline = true;     // DB_AUTO_PIPELINE / --db-auto-pipeline=0|1
    bool group_reads = true;       // DB_GROUP_READS: read-only statements of a loop turn share a Sync
    bool batch_lookups = true;     // DB_BATCH_LOOKUPS: GET /users/{id}, /inventory/{id} of a loop turn share one statement
    std::string password_cost = "interactive";  // PASSWORD_HASH_COST: interactive | moderate | min
    std::chrono::milliseconds slow_query{100};  // SLOW_QUERY_MS: slower statements are counted and logged (0: off)
    std::chrono::milliseconds drain_delay{0};   // DRAIN_DELAY_MS: /health says "draining" this long before stopping
    bool test_routes = false;      // PGCORO_TEST_ROUTES: the /debug routes of app/test_routes.cpp (tests only)
    // Authentication (domain/auth; README, Security).
    struct {
        bool required = true;                      // AUTH=required|off
        std::chrono::seconds idle{1800};           // SESSION_IDLE_S
        std::chrono::seconds max{43200};           // SESSION_MAX_S
        std::chrono::milliseconds cache{4000};     // SESSION_CACHE_MS (at most 4500: under API.md's 5 s revocation bound)
        std::string trusted_proxies;               // TRUSTED_PROXIES: CIDR list
        int hash_queue = 32;                       // HASH_QUEUE_MAX
        std::string operator_email;                // BOOTSTRAP_OPERATOR_EMAIL
        std::string operator_password;             // BOOTSTRAP_OPERATOR_PASSWORD (never logged)
    } auth;
    std::string command = "serve"; // serve | migrate | seed | operator
    std::string operator_email;    // operator only: the EMAIL argument
    // seed only: how many rows of each kind (--users, --accounts, --products).
    struct {
        long long users = 10000;
        long long accounts = 1000;
        long long products = 1000;
        std::string tokens_file;  // --tokens FILE: sessions for the first seeded users, one token per line
        long long tokens = 1000;  // --sessions N: how many (at most the users)
    } seed;
};

// Parses env and argv. Returns nullopt after printing --help or --version; throws
// std::invalid_argument with a message naming the bad setting.
std::optional<config> load_config(int argc, char** argv);

std::string usage();

}  // namespace app
