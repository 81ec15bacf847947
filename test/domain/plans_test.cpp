// domain: every statement a SERIALIZABLE transaction runs reaches its rows through an
// index, on an empty and on a seeded, analysed database. A sequential scan would take a
// predicate lock on the whole table, and every concurrent transaction writing to it
// would then conflict (40001). Checked with EXPLAIN under the transaction's own settings,
// for the generic plan (what a prepared statement settles on) and a custom one.
#define BOOST_TEST_MODULE domain_plans
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <pgcoro/pgcoro.hpp>
#include <unistd.h>

#include "domain/accounts/transfers.hpp"
#include "support/pg_env.hpp"
#include "support/server_process.hpp"

namespace asio = boost::asio;
using test_support::run;

namespace {

// A database of its own, dropped at the end: the plans depend on table sizes.
struct scratch_database {
    std::string name = "pgcoro_plans_" + std::to_string(::getpid());
    std::string url;

    scratch_database() {
        admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        admin("CREATE DATABASE " + name);
        auto base = test_support::database_url();
        auto q = base.find('?');  // options (sslmode=... with PG_TLS=1) stay
        auto options = q == std::string::npos ? std::string() : base.substr(q);
        base = base.substr(0, q);
        url = base.substr(0, base.rfind('/')) + "/" + name + options;
        server({"migrate"});
    }
    ~scratch_database() {
        try {
            admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        } catch (...) {
        }
    }
    static void admin(const std::string& sql) {
        asio::io_context ioc;
        run(ioc, [&]() -> asio::awaitable<void> {
            pgcoro::connect_options o;
            o.conninfo = test_support::database_url();
            auto c = co_await pgcoro::connection::connect(ioc.get_executor(), o);
            co_await c.query(sql);
        }());
    }
    void server(const std::vector<std::string>& args) const {
        auto r = test_support::run_process(PGCORO_SERVER_BIN, args, {{"DATABASE_URL", url}, {"PGCORO_LOG_LEVEL", "warn"}});
        BOOST_REQUIRE_MESSAGE(r.status == 0, r.output);
    }
};

const char* from_account = "00000000-0000-4000-9000-000000000001";
const char* to_account = "00000000-0000-4000-9000-000000000002";

// EXPLAIN of every transfer statement, generic and custom, with and without an
// Idempotency-Key, for an operator (no owner) and a user; returns the plans that scan a table sequentially.
std::vector<std::string> sequential_plans(const std::string& url) {
    std::vector<std::string> bad;
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pgcoro::connect_options o;
        o.conninfo = url;
        o.statement_cache_capacity = 0;
        auto c = co_await pgcoro::connection::connect(ioc.get_executor(), o);
        for (auto& [name, value] : domain::transfer_tx_options().settings)
            co_await c.query("SELECT set_config($1, $2, false)", name, value);
        int n = 0;
        for (auto& sql : domain::transfer_statements()) {
            for (const char* mode : {"force_generic_plan", "force_custom_plan"}) {
                for (const char* key : {"NULL", "'a key'"})
                for (const char* owner : {"NULL", "gen_random_uuid()"}) {
                    co_await c.query(std::string("SET plan_cache_mode = ") + mode);
                    std::string stmt = "s" + std::to_string(n++);
                    co_await c.query("PREPARE " + stmt + " AS " + sql);
                    auto plan = co_await c.query("EXPLAIN (COSTS OFF) EXECUTE " + stmt + "('" + from_account + "', '" +
                                                 to_account + "', 1.00, " + key + ", 'v1:x', gen_random_uuid(), " + owner + ")");
                    std::string text;
                    for (int r = 0; r < plan.size(); ++r) text += plan[r].get<std::string>(0) + "\n";
                    if (text.find("Seq Scan") != std::string::npos)
                        bad.push_back(std::string(mode) + ", key " + key + ", owner " + owner + ":\n" + text);
                    co_await c.query("DEALLOCATE " + stmt);
                }
            }
        }
    }());
    return bad;
}

}  // namespace

BOOST_AUTO_TEST_CASE(transfer_statements_use_indexes_on_empty_and_seeded_tables) {
    scratch_database db;
    BOOST_TEST_REQUIRE(!domain::transfer_statements().empty());

    auto empty = sequential_plans(db.url);
    for (auto& p : empty) BOOST_ERROR("sequential scan on the empty database, " << p);

    // Small, analysed tables are where the planner likes sequential scans best.
    db.server({"seed", "--users", "50", "--accounts", "20", "--products", "5"});
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pgcoro::connect_options o;
        o.conninfo = db.url;
        auto c = co_await pgcoro::connection::connect(ioc.get_executor(), o);
        co_await c.query(
            "INSERT INTO transfers (from_account_id, to_account_id, amount, idempotency_key, request_hash)"
            " SELECT $1::uuid, $2::uuid, 0.01, CASE WHEN g % 2 = 0 THEN 'k' || g END, 'v1:x'"
            " FROM generate_series(1, 300) g",
            std::string(from_account), std::string(to_account));
        co_await c.query("ANALYZE");
    }());
    auto seeded = sequential_plans(db.url);
    for (auto& p : seeded) BOOST_ERROR("sequential scan on the seeded database, " << p);
}
