#include "app/seed.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <pgcoro/connection.hpp>
#include <stdexcept>
#include <vector>

#include "domain/auth/tokens.hpp"

#include "net/log.hpp"

namespace app {

namespace {

// Seeded ids derive from a sequence number n = 1, 2, ..., so load tests (scripts/wrk,
// pgbench in scripts/bench) compute them instead of reading them back:
//
//   user n     id 00000000-0000-4000-8000-<n in 12 digits>, email seed<n>@example.com,
//              username seed<n>, password "seed-password"
//   account n  id 00000000-0000-4000-9000-<n in 12 digits>, balance 1000.00, owned by
//              user ((n - 1) mod users) + 1 when that user exists
//   product n  id 00000000-0000-4000-a000-<n in 12 digits>: an inventory row with
//              1,000,000 in stock
//
// e.g. user 42 is 00000000-0000-4000-8000-000000000042. The ids are valid version-4
// UUIDs. scripts/bench reads the user prefix from the first statement below and the
// account prefix from the second: keep the users statement first and the accounts one
// second in this file.
//
// Existing rows are left alone (ON CONFLICT DO NOTHING, on any unique index: a live user
// who already has a seed email keeps it), so seeding twice adds nothing the second time;
// balances and stock changed by earlier runs are not reset.
constexpr const char* sql_users = R"(
INSERT INTO users (id, email, username, password_hash)
SELECT ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid,
       'seed' || n || '@example.com', 'seed' || n, $2::text
FROM generate_series(1, $1::bigint) AS n
ON CONFLICT DO NOTHING)";

// The owner is joined, not computed, so that an account never names a user that is
// absent (skipped above because its email was taken, or fewer users than accounts).
constexpr const char* sql_accounts = R"(
INSERT INTO accounts (id, owner_id, balance)
SELECT ('00000000-0000-4000-9000-' || lpad(n::text, 12, '0'))::uuid, u.id, 1000.00
FROM generate_series(1, $1::bigint) AS n
LEFT JOIN users u
  ON u.id = ('00000000-0000-4000-8000-' || lpad(((n - 1) % NULLIF($2::bigint, 0) + 1)::text, 12, '0'))::uuid
 AND u.deleted_at IS NULL
ON CONFLICT DO NOTHING)";

constexpr const char* sql_products = R"(
INSERT INTO inventory (product_id, quantity)
SELECT ('00000000-0000-4000-a000-' || lpad(n::text, 12, '0'))::uuid, 1000000
FROM generate_series(1, $1::bigint) AS n
ON CONFLICT DO NOTHING)";

// One Argon2id hash (libsodium, interactive cost) of "seed-password", shared by every
// seeded user: hashing thousands of passwords would make seeding take minutes.
constexpr const char* seed_password_hash =
    "$argon2id$v=19$m=65536,t=2,p=1$Y6RTbnbLw8h+cFiusF3bPQ$ayVevG7baEYS6nhu3dRK6/kuldI9IASCURf6qkhBx04";

// Sessions for seeded users n = 1..$2 (those that exist), $1 the tokens' hashes in user
// order: what POST /sessions stores, without the password check.
constexpr const char* sql_sessions = R"(
INSERT INTO sessions (token_hash, user_id, role, epoch, expires_at)
SELECT t.hash, u.id, u.role, u.session_epoch, now() + make_interval(secs => $2::float8)
FROM unnest($1::text[]) WITH ORDINALITY AS t(hash, n)
JOIN users u ON u.id = ('00000000-0000-4000-8000-' || lpad(t.n::text, 12, '0'))::uuid AND u.deleted_at IS NULL)";

// Tokens for the first seeded users: what the file gets, and what the database keeps.
struct seed_tokens {
    std::vector<std::string> hashes;  // in user order
    std::string lines;                // one token per line
};

seed_tokens make_seed_tokens(long long count) {
    seed_tokens out;
    for (long long n = 0; n < count; ++n) {
        auto t = domain::make_token();
        out.hashes.push_back(std::move(t.hash));
        out.lines += t.token;
        out.lines += '\n';
    }
    return out;
}

// Readable by its owner only: the tokens are bearer credentials.
void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
    out.close();
    if (!out) throw std::runtime_error("could not write " + path);
    std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::replace);
}

}  // namespace

int seed(const config& cfg) {
    boost::asio::io_context ioc;
    pgcoro::connect_options o;
    o.conninfo = cfg.database_url;
    const auto start = std::chrono::steady_clock::now();
    long long sessions = -1;
    seed_tokens tokens;
    if (!cfg.seed.tokens_file.empty()) tokens = make_seed_tokens(std::min(cfg.seed.tokens, cfg.seed.users));
    auto open_sessions =
        pgcoro::statement::make(sql_sessions, tokens.hashes, static_cast<double>(cfg.auth.max.count()));
    auto done = boost::asio::co_spawn(
        ioc,
        [&]() -> boost::asio::awaitable<std::vector<pgcoro::outcome>> {
            auto conn = co_await pgcoro::connection::connect(ioc.get_executor(), o);
            // One round trip, one implicit transaction: all of it or nothing.
            pgcoro::batch b;
            b.add(sql_users, static_cast<std::int64_t>(cfg.seed.users), std::string(seed_password_hash));
            b.add(sql_accounts, static_cast<std::int64_t>(cfg.seed.accounts), static_cast<std::int64_t>(cfg.seed.users));
            b.add(sql_products, static_cast<std::int64_t>(cfg.seed.products));
            auto out = co_await conn.execute(std::move(b));
            // Fresh statistics, as pgbench -i leaves them: until autovacuum's next look
            // (up to a minute later) the planner would plan for the tables as they were
            // before seeding, and load tests started at once would measure those plans.
            bool loaded = true;
            for (auto& r : out) loaded = loaded && r.ok();
            if (loaded) co_await conn.execute_script("ANALYZE users, accounts, inventory");
            if (loaded && !tokens.hashes.empty()) {
                auto r = co_await conn.execute(std::move(open_sessions));
                sessions = static_cast<long long>(r.affected_rows());
            }
            co_return out;
        },
        boost::asio::use_future);
    ioc.run();
    try {
        auto out = done.get();
        for (auto& r : out) r.value();  // throws the first failure
        auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf("seed: %lld users (%lld new), %lld accounts (%lld new), %lld products (%lld new) in %.2f s\n",
                    cfg.seed.users, static_cast<long long>(out[0].rows.affected_rows()), cfg.seed.accounts,
                    static_cast<long long>(out[1].rows.affected_rows()), cfg.seed.products,
                    static_cast<long long>(out[2].rows.affected_rows()), secs);
        if (sessions >= 0) write_file(cfg.seed.tokens_file, tokens.lines);
        if (sessions >= 0) std::printf("seed: %lld sessions, tokens in %s\n", sessions, cfg.seed.tokens_file.c_str());
        return 0;
    } catch (const std::exception& e) {
        net::log::error("seed failed: {}", e.what());
        return 1;
    }
}

}  // namespace app
