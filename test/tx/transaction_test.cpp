// Transactions: retries with backoff on serialization failures, errors that must not be
// retried, savepoints, and a backend killed mid-transaction.
#define BOOST_TEST_MODULE tx_transaction
#include <boost/test/unit_test.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <iostream>
#include <random>
#include <pgcoro/pgcoro.hpp>

#include "support/fault_proxy.hpp"
#include "support/pg_env.hpp"

namespace asio = boost::asio;
using namespace pgcoro;
using test_support::run;

namespace {

pool_options popts(std::size_t max) {
    pool_options o;
    o.connection.conninfo = test_support::database_url();
    o.max_size = max;
    o.acquire_timeout = std::chrono::seconds(30);
    return o;
}

struct domain_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace

// Hot rows under SERIALIZABLE: 64 coroutines move money among only 4 accounts through 16
// connections, with a read-check-write body (every pair of concurrent transfers that
// shares an account conflicts). Nothing may be lost or made up, no transfer may exhaust
// its retries, and none may take over 2 s: old attempts must win eventually
// (transaction_options::run_alone_after) rather than lose every race to new ones.
BOOST_AUTO_TEST_CASE(bank_transfers_on_four_hot_accounts_all_finish_in_time) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool p(ioc.get_executor(), popts(16));
        co_await p.query("DROP TABLE IF EXISTS tx_bank");
        co_await p.query("CREATE TABLE tx_bank (id int PRIMARY KEY, balance bigint NOT NULL)");
        co_await p.query("INSERT INTO tx_bank SELECT g, 1000 FROM generate_series(1, 4) g");

        constexpr int accounts = 4, workers = 64, transfers = 5000;
        int next = 0, done = 0, failed = 0;
        std::chrono::steady_clock::duration slowest{0};
        for (int w = 0; w < workers; ++w) {
            asio::co_spawn(
                ioc,
                [&, w]() -> asio::awaitable<void> {
                    std::minstd_rand rng(w + 1);
                    while (next < transfers) {
                        ++next;
                        int from = static_cast<int>(rng() % accounts) + 1;
                        int to = static_cast<int>(rng() % (accounts - 1)) + 1;
                        if (to >= from) ++to;
                        std::int64_t amount = static_cast<std::int64_t>(rng() % 50) + 1;
                        auto started = std::chrono::steady_clock::now();
                        try {
                            co_await p.transact([&](transaction& tx) -> asio::awaitable<void> {
                                auto r = co_await tx.query("SELECT balance FROM tx_bank WHERE id = $1", from);
                                if (r.scalar<std::int64_t>() < amount) co_return;  // read-check-write
                                // Rows written in id order, as any hot-row writer should: in
                                // the other order two transfers deadlock, and each deadlock
                                // costs deadlock_timeout (1 s) before the server breaks it.
                                auto debit = tx.query("UPDATE tx_bank SET balance = balance - $2 WHERE id = $1", from, amount);
                                auto credit = tx.query("UPDATE tx_bank SET balance = balance + $2 WHERE id = $1", to, amount);
                                if (from < to) {
                                    co_await std::move(debit);
                                    co_await std::move(credit);
                                } else {
                                    co_await std::move(credit);
                                    co_await std::move(debit);
                                }
                            });
                        } catch (const std::exception& e) {
                            ++failed;
                            std::cerr << "transfer failed: " << e.what() << "\n";
                        }
                        slowest = std::max(slowest, std::chrono::steady_clock::now() - started);
                        ++done;
                    }
                },
                asio::detached);
        }
        co_await test_support::wait_until(ioc, [&] { return done >= transfers; });
        auto sum = co_await p.query("SELECT sum(balance)::int8, min(balance) FROM tx_bank");
        BOOST_TEST(sum.front().get<std::int64_t>(0) == 4000);
        BOOST_TEST(sum.front().get<std::int64_t>(1) >= 0);
        auto s = p.tx_stats();
        auto slowest_ms = std::chrono::duration_cast<std::chrono::milliseconds>(slowest).count();
        std::cout << "bank: attempts=" << s.attempts << " commits=" << s.commits
                  << " retries(40001)=" << s.retries_serialization << " retries(40P01)=" << s.retries_deadlock
                  << " ran_alone=" << s.ran_alone << " exhausted=" << s.exhausted << " slowest=" << slowest_ms
                  << " ms\n";
        BOOST_TEST(failed == 0);
        BOOST_TEST(s.exhausted == 0u);
        BOOST_TEST(s.retries_serialization + s.retries_deadlock > 0u);  // the conflicts were real
        BOOST_TEST(slowest_ms < 2000);
    }());
}

BOOST_AUTO_TEST_CASE(body_error_runs_once_and_writes_nothing) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool p(ioc.get_executor(), popts(2));
        co_await p.query("DROP TABLE IF EXISTS tx_once");
        co_await p.query("CREATE TABLE tx_once (v int)");
        int runs = 0;
        bool caught = false;
        try {
            co_await p.transact([&](transaction& tx) -> asio::awaitable<void> {
                ++runs;
                co_await tx.query("INSERT INTO tx_once VALUES (1)");
                throw domain_error("insufficient funds");
            });
        } catch (const domain_error&) {
            caught = true;
        }
        BOOST_TEST(caught);
        BOOST_TEST(runs == 1);
        BOOST_TEST((co_await p.query("SELECT count(*) FROM tx_once")).scalar<std::int64_t>() == 0);
    }());
}

BOOST_AUTO_TEST_CASE(unique_violation_is_not_retried_and_keeps_its_diagnostics) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool p(ioc.get_executor(), popts(2));
        co_await p.query("DROP TABLE IF EXISTS tx_unique");
        co_await p.query("CREATE TABLE tx_unique (email text CONSTRAINT tx_unique_email UNIQUE)");
        co_await p.query("INSERT INTO tx_unique VALUES ('a@example.com')");
        int runs = 0;
        std::string state, constraint;
        try {
            co_await p.transact([&](transaction& tx) -> asio::awaitable<void> {
                ++runs;
                co_await tx.query("INSERT INTO tx_unique VALUES ($1)", "a@example.com");
            });
        } catch (const error& e) {
            state = e.sqlstate();
            constraint = e.constraint();
        }
        BOOST_TEST(runs == 1);
        BOOST_TEST(state == "23505");
        BOOST_TEST(constraint == "tx_unique_email");
    }());
}

BOOST_AUTO_TEST_CASE(savepoint_middle_part_fails_the_others_commit) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool p(ioc.get_executor(), popts(2));
        co_await p.query("DROP TABLE IF EXISTS tx_parts");
        co_await p.query("CREATE TABLE tx_parts (v int CHECK (v > 0))");
        co_await p.transact([&](transaction& tx) -> asio::awaitable<void> {
            for (int v : {1, -2, 3}) {
                auto sp = tx.savepoint();
                try {
                    co_await tx.query("INSERT INTO tx_parts VALUES ($1)", v);
                    sp.release();
                } catch (const error& e) {
                    BOOST_TEST(e.sqlstate() == "23514");
                }
            }
        });
        auto r = co_await p.query("SELECT array_agg(v ORDER BY v)::int4[] FROM tx_parts");
        BOOST_TEST((r.scalar<std::vector<std::int32_t>>() == std::vector<std::int32_t>{1, 3}));
    }());
}

BOOST_AUTO_TEST_CASE(backend_terminated_mid_body_is_retried_once_in_effect) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool p(ioc.get_executor(), popts(3));
        co_await p.query("DROP TABLE IF EXISTS tx_kill");
        co_await p.query("CREATE TABLE tx_kill (v int)");
        int runs = 0;
        co_await p.transact([&](transaction& tx) -> asio::awaitable<void> {
            ++runs;
            co_await tx.query("INSERT INTO tx_kill VALUES (1)");
            if (runs == 1) {
                auto pid = tx.conn().backend_pid();
                co_await p.query("SELECT pg_terminate_backend($1)", pid);
            }
            co_await tx.query("SELECT 1");
        });
        BOOST_TEST(runs == 2);
        BOOST_TEST((co_await p.query("SELECT count(*) FROM tx_kill")).scalar<std::int64_t>() == 1);
        BOOST_TEST(p.tx_stats().retries_connection == 1u);
    }());
}

BOOST_AUTO_TEST_CASE(backoff_waits_follow_the_policy_and_cancel_at_once) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool p(ioc.get_executor(), popts(2));
        transaction_options o;
        o.max_attempts = 6;
        o.backoff_base = std::chrono::milliseconds(20);
        o.backoff_cap = std::chrono::milliseconds(80);
        std::vector<std::chrono::steady_clock::time_point> starts;
        errc kind{};
        std::string state;
        try {
            co_await p.transact(o, [&](transaction& tx) -> asio::awaitable<void> {
                starts.push_back(std::chrono::steady_clock::now());
                co_await tx.query("SELECT 1");
                diagnostics d;
                d.sqlstate = "40001";
                throw error(errc::sql, "simulated serialization failure", d);
            });
        } catch (const error& e) {
            kind = e.kind();
            state = e.sqlstate();
        }
        BOOST_TEST((kind == errc::retry_exhausted));
        BOOST_TEST(state == "40001");
        BOOST_TEST(starts.size() == 6u);
        // Wait before attempt n+1 lies in [0, min(cap, base * 2^(n-1))] plus a round trip.
        for (std::size_t n = 1; n < starts.size(); ++n) {
            auto bound = std::min<long>(80, 20L << (n - 1)) + 30;  // + slack for ROLLBACK and BEGIN
            auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(starts[n] - starts[n - 1]).count();
            BOOST_TEST(waited <= bound);
        }

        // Cancelling during the wait returns at once.
        o.backoff_base = o.backoff_cap = std::chrono::seconds(5);
        o.max_attempts = 3;
        auto t0 = std::chrono::steady_clock::now();
        errc cancelled{};
        try {
            co_await with_timeout(p.transact(o,
                                             [&](transaction& tx) -> asio::awaitable<void> {
                                                 co_await tx.query("SELECT 1");
                                                 diagnostics d;
                                                 d.sqlstate = "40001";
                                                 throw error(errc::sql, "simulated", d);
                                             }),
                                  std::chrono::milliseconds(100));
        } catch (const error& e) {
            cancelled = e.kind();
        }
        BOOST_TEST((cancelled == errc::timeout));
        BOOST_TEST((std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(500)));
    }());
}

// Counted at a proxy between the pool and PostgreSQL: every write the client makes while
// the proxy waits for it is one round trip.
BOOST_AUTO_TEST_CASE(query_and_commit_sends_commit_with_its_statement) {
    auto [host, port] = test_support::host_port(test_support::database_url());
    test_support::fault_proxy proxy(host, port);
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        auto o = popts(1);
        o.connection.conninfo = test_support::via_port(test_support::database_url(), proxy.port());
        pool p(ioc.get_executor(), o);
        pool direct(ioc.get_executor(), popts(1));
        co_await direct.query("DROP TABLE IF EXISTS tx_qc");
        co_await direct.query("CREATE TABLE tx_qc (v int)");
        co_await p.query("SELECT 1");  // the connection is open: only statements are counted from here
        auto count = [&]() -> asio::awaitable<std::int64_t> {
            auto r = co_await direct.query("SELECT count(*) FROM tx_qc");
            co_return r.scalar<std::int64_t>();
        };

        // The usual way: BEGIN travels with the statement, COMMIT after it.
        auto before = proxy.client_chunks();
        co_await p.transact([&](transaction& tx) -> asio::awaitable<void> {
            co_await tx.query("INSERT INTO tx_qc VALUES (1)");
        });
        BOOST_TEST(proxy.client_chunks() - before == 2u);

        // BEGIN, the statement and COMMIT in one round trip: committed by the time it returns.
        before = proxy.client_chunks();
        std::int64_t seen_inside = -1;
        co_await p.transact([&](transaction& tx) -> asio::awaitable<void> {
            auto r = co_await tx.query_and_commit("INSERT INTO tx_qc VALUES (2) RETURNING v");
            BOOST_TEST(r.scalar<std::int32_t>() == 2);
            seen_inside = co_await count();
        });
        BOOST_TEST(proxy.client_chunks() - before == 1u);
        BOOST_TEST(seen_inside == 2);

        // An exception after it does not undo it, and sends no ROLLBACK; the transaction
        // takes no more statements.
        before = proxy.client_chunks();
        bool thrown = false, refused = false;
        try {
            co_await p.transact([&](transaction& tx) -> asio::awaitable<void> {
                co_await tx.query_and_commit("INSERT INTO tx_qc VALUES (3)");
                try {
                    co_await tx.query("SELECT 1");
                } catch (const std::logic_error&) {
                    refused = true;
                }
                throw domain_error("decided after the commit");
            });
        } catch (const domain_error&) {
            thrown = true;
        }
        BOOST_TEST(thrown);
        BOOST_TEST(refused);
        BOOST_TEST(proxy.client_chunks() - before == 1u);
        auto n = co_await count();
        BOOST_TEST(n == 3);
        BOOST_TEST(p.tx_stats().commits == 2u);
    }());
}

// The statement sent with COMMIT meets a row another transaction changed after this one's
// snapshot: 40001, rolled back, and the whole body runs again.
BOOST_AUTO_TEST_CASE(query_and_commit_is_retried_on_a_serialization_failure) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool p(ioc.get_executor(), popts(2));
        co_await p.query("DROP TABLE IF EXISTS tx_qc_conflict");
        co_await p.query("CREATE TABLE tx_qc_conflict (id int PRIMARY KEY, v int NOT NULL)");
        co_await p.query("INSERT INTO tx_qc_conflict VALUES (1, 0)");
        int runs = 0;
        auto v = co_await p.transact([&](transaction& tx) -> asio::awaitable<std::int32_t> {
            ++runs;
            co_await tx.query("SELECT v FROM tx_qc_conflict WHERE id = 1");  // the snapshot is taken
            if (runs == 1) {
                auto other = co_await p.acquire();
                co_await other->query("UPDATE tx_qc_conflict SET v = v + 10 WHERE id = 1");
            }
            auto r = co_await tx.query_and_commit("UPDATE tx_qc_conflict SET v = v + 1 WHERE id = 1 RETURNING v");
            co_return r.scalar<std::int32_t>();
        });
        BOOST_TEST(runs == 2);
        BOOST_TEST(v == 11);
        auto stored = co_await p.query("SELECT v FROM tx_qc_conflict WHERE id = 1");
        BOOST_TEST(stored.scalar<std::int32_t>() == 11);
        BOOST_TEST(p.tx_stats().retries_serialization == 1u);
    }());
}

BOOST_AUTO_TEST_CASE(cockroach_savepoint_protocol_commits) {
    // PostgreSQL speaks the same statements (SAVEPOINT cockroach_restart, RELEASE), so
    // the happy path of the CockroachDB protocol is checked here.
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool p(ioc.get_executor(), popts(2));
        co_await p.query("DROP TABLE IF EXISTS tx_crdb");
        co_await p.query("CREATE TABLE tx_crdb (v int)");
        transaction_options o;
        o.cockroach_savepoint = true;
        auto n = co_await p.transact(o, [&](transaction& tx) -> asio::awaitable<std::int64_t> {
            co_await tx.query("INSERT INTO tx_crdb VALUES (1), (2)");
            co_return (co_await tx.query("SELECT count(*) FROM tx_crdb")).scalar<std::int64_t>();
        });
        BOOST_TEST(n == 2);
        // RELEASE SAVEPOINT goes between the last statement and COMMIT.
        co_await p.transact(o, [&](transaction& tx) -> asio::awaitable<void> {
            co_await tx.query_and_commit("INSERT INTO tx_crdb VALUES (3)");
        });
        auto stored = co_await p.query("SELECT count(*) FROM tx_crdb");
        BOOST_TEST(stored.scalar<std::int64_t>() == 3);
    }());
}

BOOST_AUTO_TEST_CASE(cockroach_restart_on_a_connection_that_broke_begins_anew) {
    // A restart in place (ROLLBACK TO SAVEPOINT cockroach_restart) needs the transaction
    // it restarts. When the connection breaks during the backoff, the retry runs on a
    // fresh connection, where it must BEGIN again rather than roll back to a savepoint
    // that does not exist there (25P01, which would end the transaction as a failure).
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool p(ioc.get_executor(), popts(2));
        pool killer(ioc.get_executor(), popts(1));
        co_await p.query("DROP TABLE IF EXISTS tx_crdb_broken");
        co_await p.query("CREATE TABLE tx_crdb_broken (v int)");
        transaction_options o;
        o.cockroach_savepoint = true;
        o.backoff_base = o.backoff_cap = std::chrono::milliseconds(200);  // time for the break to be seen
        std::vector<int> pids;
        co_await p.transact(o, [&](transaction& tx) -> asio::awaitable<void> {
            co_await tx.query("INSERT INTO tx_crdb_broken VALUES ($1)", tx.attempt());
            pids.push_back(tx.conn().backend_pid());
            if (tx.attempt() == 1) {
                co_await killer.query("SELECT pg_terminate_backend($1)", tx.conn().backend_pid());
                diagnostics d;
                d.sqlstate = "40001";
                throw error(errc::sql, "simulated restart", d);
            }
        });
        BOOST_TEST_REQUIRE(pids.size() >= 2u);
        BOOST_TEST(pids.front() != pids.back());  // the retry ran on another connection
        auto stored = co_await p.query("SELECT array_agg(v ORDER BY v)::text FROM tx_crdb_broken");
        BOOST_TEST(stored.scalar<std::string>() == "{" + std::to_string(pids.size()) + "}");  // only the last attempt's row
    }());
}

BOOST_AUTO_TEST_CASE(read_only_transaction_refuses_writes) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool p(ioc.get_executor(), popts(2));
        transaction_options o;
        o.read_only = true;
        std::string state;
        try {
            co_await p.transact(o, [&](transaction& tx) -> asio::awaitable<void> {
                co_await tx.query("CREATE TEMP TABLE tx_ro (v int)");
            });
        } catch (const error& e) {
            state = e.sqlstate();
        }
        BOOST_TEST(state == "25006");  // read_only_sql_transaction
    }());
}

// A retry budget shared by every transaction: 64 coroutines on 2 hot rows (every pair of
// concurrent transfers conflicts) with the budget at 20%. Retries stay within what the
// budget allows (20% of the transactions started, plus its per-second reserve and the
// second's worth it starts with); the transactions it refuses fail fast with their own
// error kind, and money is neither lost nor made up.
BOOST_AUTO_TEST_CASE(a_retry_budget_caps_retries_and_the_rest_fail_fast) {
    asio::io_context ioc;
    run(ioc, [&]() -> asio::awaitable<void> {
        pool p(ioc.get_executor(), popts(16));
        co_await p.query("DROP TABLE IF EXISTS tx_budget");
        co_await p.query("CREATE TABLE tx_budget (id int PRIMARY KEY, balance bigint NOT NULL)");
        co_await p.query("INSERT INTO tx_budget VALUES (1, 100000), (2, 100000)");

        constexpr double ratio = 0.2, per_second = 10;
        auto budget = std::make_shared<retry_budget>(ratio, per_second);
        transaction_options o;
        o.budget = budget;
        o.run_alone_after = 0;  // every retry goes through the budget, none is let off by fairness

        constexpr int workers = 64, transfers = 2000;
        int next = 0, done = 0, committed = 0, denied = 0, other = 0;
        std::chrono::steady_clock::duration slowest_denied{0};
        const auto started = std::chrono::steady_clock::now();
        for (int w = 0; w < workers; ++w) {
            asio::co_spawn(
                ioc,
                [&, w]() -> asio::awaitable<void> {
                    while (next < transfers) {
                        ++next;
                        int from = (w % 2) + 1;
                        auto t0 = std::chrono::steady_clock::now();
                        try {
                            co_await p.transact(o, [&](transaction& tx) -> asio::awaitable<void> {
                                auto r = co_await tx.query("SELECT balance FROM tx_budget WHERE id = $1", from);
                                if (r.scalar<std::int64_t>() < 1) co_return;
                                // Both rows in one statement, in id order: no deadlocks,
                                // only serialization failures.
                                co_await tx.query(
                                    "UPDATE tx_budget SET balance = balance + CASE WHEN id = $1 THEN -1 ELSE 1 END "
                                    "WHERE id IN (1, 2)",
                                    from);
                            });
                            ++committed;
                        } catch (const pgcoro::error& e) {
                            if (e.kind() == errc::retry_budget_exhausted) {
                                ++denied;
                                BOOST_TEST(e.sqlstate() == "40001");  // the conflict that was not retried
                                slowest_denied = std::max(slowest_denied, std::chrono::steady_clock::now() - t0);
                            } else {
                                ++other;
                                std::cerr << "transfer failed: " << e.what() << "\n";
                            }
                        }
                        ++done;
                    }
                },
                asio::detached);
        }
        co_await test_support::wait_until(ioc, [&] { return done >= transfers; });
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        auto b = budget->stats();
        auto s = p.tx_stats();
        auto sum = co_await p.query("SELECT sum(balance)::int8 FROM tx_budget");
        std::cout << "budget: transactions=" << transfers << " committed=" << committed << " denied=" << denied
                  << " retries=" << b.spent << " (allowed at most " << ratio * transfers + per_second * (seconds + 1)
                  << " in " << seconds << " s) attempts=" << s.attempts << "\n";
        BOOST_TEST(sum.scalar<std::int64_t>() == 200000);
        BOOST_TEST(other == 0);
        BOOST_TEST(committed + denied == transfers);
        BOOST_TEST(b.deposits == static_cast<std::uint64_t>(transfers));
        BOOST_TEST(denied > 0);  // the storm was real, and the budget said no
        BOOST_TEST(b.denied == static_cast<std::uint64_t>(denied));
        BOOST_TEST(s.budget_denied == static_cast<std::uint64_t>(denied));
        // Within the budget: its share of the transactions, plus the reserve it refills
        // each second and the second's worth it starts with.
        BOOST_TEST(static_cast<double>(b.spent) <= ratio * transfers + per_second * (seconds + 1));
        BOOST_TEST(s.attempts == static_cast<std::uint64_t>(transfers) + b.spent);
        // Failing fast: a refused transaction gave up at its first conflict, no backoff ladder.
        BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(slowest_denied).count() < 2000);
    }());
}
