#include "domain/accounts/transfers.hpp"

#include <pgcoro/transaction.hpp>

#include "domain/auth/access.hpp"
#include "domain/common/errors.hpp"
#include "domain/common/input.hpp"
#include "domain/common/random.hpp"
#include "net/json_response.hpp"

namespace domain {

namespace {

using net::http::status;
using net::http::verb;
namespace json = boost::json;
namespace asio = boost::asio;
using awaitable_response = asio::awaitable<net::response>;

// The whole transfer is one statement, sent with BEGIN before it and COMMIT after it:
// one round trip (tx.query_and_commit). Row locks are held only while the server runs
// it, never across a round trip to the client, which is what bounds throughput on a
// busy account. The transfer's id ($6) is drawn here rather than by the database, so
// that when COMMIT's answer is lost (with this statement's) the transfer can still be
// looked for.
//
//   prior    the transfer already stored under this Idempotency-Key ($4; NULL: none).
//            When there is one nothing else runs: a replay locks and moves nothing.
//   locked   both accounts, locked in id order (every transfer locks in the same order,
//            so two transfers between the same accounts queue up instead of deadlocking).
//   verdict  both found (and locked)? enough money? Compared in NUMERIC by the
//            database: exact.
//            The source must be the caller's ($7; NULL for an operator), checked
//            before anything is locked: someone else's account is "not found", and
//            nothing is locked or moved.
//   debit, credit, created  run only when the verdict allows; their CTEs run whether or
//            not the final SELECT reads them.
//
// Exactly one row comes back: the outcome and, for 'created' and 'replay', the transfer
// (transfer_columns from column 1) and its request_hash (column 6).
//
// Under SERIALIZABLE, a concurrent transfer that committed on one of these accounts, or
// the same key inserted concurrently, makes this fail with 40001 (pool.transact retries:
// the retry then sees the prior transfer) or 23505 on the key (handled by the caller).
// The CHECK (balance >= 0) on accounts is the last line of defence, never the mechanism.
//
// Why SERIALIZABLE (API.md promises it): the transfer reads the idempotency key's row
// without locking it; two requests with the same key must not both find none and both
// move money. The unique index catches the second insert too, but SERIALIZABLE keeps the
// statement correct on its own, and on CockroachDB, which has only SERIALIZABLE.
//
// Its price is predicate locks, and a sequential scan takes one on the whole table: on a
// small or freshly analysed `transfers` (every new deployment) the planner prefers a
// sequential scan for `prior`, and then every concurrent transfer conflicts with every
// other (issue 14 measured 15-20% of attempts failing with 40001 and 0.3x the
// throughput of a warmed database). So
// the transaction runs with enable_seqscan off: every plan reaches its rows through an
// index whatever the table's size (test/domain/plans_test.cpp checks the plans).
const std::string sql_transfer = R"(
WITH prior AS (
    SELECT id, from_account_id, to_account_id, amount, created_at, request_hash
    FROM transfers WHERE idempotency_key = $4::text
),
locked AS (
    SELECT id, balance FROM accounts
    WHERE id IN ($1::uuid, $2::uuid) AND NOT EXISTS (SELECT 1 FROM prior)
      AND EXISTS (SELECT 1 FROM accounts WHERE id = $1::uuid AND ($7::uuid IS NULL OR owner_id = $7::uuid))
    ORDER BY id
    FOR UPDATE
),
verdict AS (
    SELECT coalesce(bool_or(id = $1::uuid), false) AS from_found,
           coalesce(bool_or(id = $2::uuid), false) AS to_found,
           coalesce(bool_or(id = $1::uuid AND balance >= $3::numeric), false) AS funded
    FROM locked
),
go AS (
    SELECT from_found AND to_found AND funded AS ok FROM verdict
),
debit AS (
    UPDATE accounts SET balance = balance - $3::numeric
    WHERE id = $1::uuid AND (SELECT ok FROM go) RETURNING id
),
credit AS (
    UPDATE accounts SET balance = balance + $3::numeric
    WHERE id = $2::uuid AND (SELECT ok FROM go) RETURNING id
),
created AS (
    INSERT INTO transfers (id, from_account_id, to_account_id, amount, idempotency_key, request_hash)
    SELECT $6::uuid, $1::uuid, $2::uuid, $3::numeric, $4::text, $5::text FROM go WHERE ok
    RETURNING id, from_account_id, to_account_id, amount, created_at, request_hash
)
SELECT CASE WHEN p.id IS NOT NULL THEN 'replay'
            WHEN c.id IS NOT NULL THEN 'created'
            WHEN NOT v.from_found THEN 'from_not_found'
            WHEN NOT v.to_found THEN 'to_not_found'
            ELSE 'insufficient_funds' END,
       coalesce(p.id, c.id), coalesce(p.from_account_id, c.from_account_id),
       coalesce(p.to_account_id, c.to_account_id), coalesce(p.amount, c.amount),
       coalesce(p.created_at, c.created_at), coalesce(p.request_hash, c.request_hash)
FROM verdict v LEFT JOIN prior p ON true LEFT JOIN created c ON true)";

const pgcoro::transaction_options transfer_options = [] {
    pgcoro::transaction_options o;
    o.level = pgcoro::isolation::serializable;
    o.settings = {{"enable_seqscan", "off"}};
    return o;
}();

const std::string sql_find_by_key = std::string("SELECT ") + transfer_columns +
                                    ", request_hash FROM transfers WHERE idempotency_key = $1::text";
const std::string sql_find_by_id = std::string("SELECT ") + transfer_columns +
                                   ", request_hash FROM transfers WHERE id = $1";
const std::string sql_lock_account = "SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE";

struct transfer_request {
    pgcoro::uuid from, to;
    pgcoro::decimal amount;          // normalised: "12.50"
    std::optional<std::string> key;  // Idempotency-Key, scoped to the caller (scoped_key)
    std::string fingerprint;         // stored as request_hash: what a replay must match
};

// A stored transfer, and whether this request created it or found it under its key.
struct stored_transfer {
    bool replay = false;
    pgcoro::uuid id;
    json::object data;
    std::string request_hash;
};

stored_transfer read_stored(const pgcoro::row& r, int first, bool replay) {
    return {replay, r.get<pgcoro::uuid>(first), transfer_json(r, first),
            r.get<std::optional<std::string>>(first + 5).value_or("")};
}

// Canonical form of what the transfer does. Ids are canonical lower-case UUIDs and the
// amount is normalised, so "12.5", 12.50 and "12.50" are the same request. The prefix
// versions the format, should it ever change.
std::string fingerprint(const pgcoro::uuid& from, const pgcoro::uuid& to, const std::string& amount) {
    return "v1:" + from.to_string() + ":" + to.to_string() + ":" + amount;
}

// Keys belong to their caller: two users sending the same key never meet, because the
// key stored is prefixed by the caller's id ("open:" with AUTH=off, where there is none,
// so an open key can never pose as a user's).
std::string scoped_key(const caller& who, std::string key) {
    return (who.user_id ? who.user_id->to_string() : std::string("open")) + ":" + key;
}

transfer_request read_request(const net::request_context& ctx, const caller& who) {
    auto body = net::parse_json_object(ctx.req);
    fields f(body);
    auto from = f.id("from_account_id", true);
    auto to = f.id("to_account_id", true);
    auto amount = f.money("amount", true, /*allow_zero=*/false);
    if (from && to && *from == *to) f.add("to_account_id", "must differ from from_account_id");

    std::optional<std::string> key;
    if (auto it = ctx.req.find("Idempotency-Key"); it != ctx.req.end()) {
        // Checked like a JSON text field (valid UTF-8, 1-200 code points) so that the
        // database never sees bytes it would refuse.
        json::object header{{"Idempotency-Key", std::string(it->value())}};
        fields h(header);
        key = h.text("Idempotency-Key", true, 1, 200);
        for (auto& d : h.details()) f.details().push_back(d);
    }
    f.check();
    if (key) key = scoped_key(who, std::move(*key));
    return {*from, *to, pgcoro::decimal{*amount}, std::move(key), fingerprint(*from, *to, *amount)};
}

[[noreturn]] void account_not_found(std::string_view field) {
    fail(status::not_found, "ACCOUNT_NOT_FOUND", "account not found",
         {json::object{{"field", field}, {"message", "no such account"}}});
}

net::response answer(const stored_transfer& t, const transfer_request& req) {
    if (!t.replay) return net::json_data(status::created, t.data);
    if (t.request_hash != req.fingerprint)
        fail(status::unprocessable_entity, "IDEMPOTENCY_KEY_REUSED",
             "this Idempotency-Key was already used for a different transfer",
             {json::object{{"field", "Idempotency-Key"}, {"message", "was used with another request body"}}});
    return net::json_data(status::ok, t.data);
}

// What a failed transact() leaves to do.
enum class recovery {
    none,             // the error stands (http_error, other database errors)
    key_taken,        // 23505: a concurrent request with the same key committed first
    outcome_unknown,  // the connection was lost after COMMIT was sent
};

recovery classify_failure(const std::exception_ptr& e, const transfer_request& req) {
    try {
        std::rethrow_exception(e);
    } catch (const pgcoro::error& err) {
        if (err.kind() == pgcoro::errc::commit_outcome_unknown) return recovery::outcome_unknown;
        // The only unique index a transfer can hit, besides a random primary key.
        if (req.key && err.kind() == pgcoro::errc::sql &&
            pgcoro::classify(err.sqlstate()) == pgcoro::sqlstate_kind::unique_violation)
            return recovery::key_taken;
    } catch (...) {
    }
    return recovery::none;
}

// The transfer stored under `key`. (By value: the coroutine starts only when awaited.)
asio::awaitable<std::optional<stored_transfer>> find_by_key(pgcoro::pool& pool, std::string key) {
    auto r = co_await pool.query(sql_find_by_key, key);
    if (r.empty()) co_return std::nullopt;
    co_return read_stored(r.front(), 0, /*replay=*/true);
}

// After COMMIT's outcome was lost: did the transfer `id`, which debited `from`, commit?
// The answer must be final, yet the lost transaction may still be finishing on the
// server. It held the lock on `from` until its end, so waiting for that lock first
// means the lookup that follows sees it committed or never will. One round trip: the
// two statements form one implicit READ COMMITTED transaction (the server default), in
// which the lookup takes its snapshot after the lock was granted. On a connection of
// its own: a lock wait must not stall statements pipelined behind it.
asio::awaitable<std::optional<stored_transfer>> find_settled(pgcoro::pool& pool, pgcoro::uuid from, pgcoro::uuid id) {
    auto acquire = pool.acquire();
    auto conn = co_await std::move(acquire);
    pgcoro::batch b;
    b.add(sql_lock_account, from);
    b.add(sql_find_by_id, id);
    auto run = conn->execute(std::move(b));
    auto out = co_await std::move(run);
    out.at(0).value();  // throws if the lock failed
    const auto& rows = out.at(1).value();
    if (rows.empty()) co_return std::nullopt;
    co_return read_stored(rows.front(), 0, false);
}

awaitable_response create_transfer(services& svc, net::request_context& ctx, const caller& who) {
    const auto req = read_request(ctx, who);
    const auto scope = who.scope();
    const auto id = random_uuid();
    auto& pool = svc.pool(ctx.worker);

    // Usually one round. Another only when a concurrent request with the same key won
    // the race but its row could not be read, or when COMMIT's outcome was lost and the
    // transfer turned out not to have committed.
    constexpr int max_rounds = 3;
    for (int round = 1;; ++round) {
        std::exception_ptr failure;
        try {
            auto run = pool.transact(transfer_options, [&req, &id, &scope](pgcoro::transaction& tx) -> asio::awaitable<stored_transfer> {
                // One round trip: COMMIT goes with the statement. Committing when the
                // verdict refused the transfer is harmless: nothing was written.
                auto r = co_await tx.query_and_commit(sql_transfer, req.from, req.to, req.amount, req.key,
                                                      req.fingerprint, id, scope);
                auto row = r.front();
                auto outcome = row.get<std::string>(0);
                if (outcome == "from_not_found") account_not_found("from_account_id");
                if (outcome == "to_not_found") account_not_found("to_account_id");
                if (outcome == "insufficient_funds")
                    fail(status::unprocessable_entity, "INSUFFICIENT_FUNDS",
                         "the source account's balance is lower than the amount",
                         {json::object{{"field", "amount"}, {"message", "exceeds the balance of from_account_id"}}});
                co_return read_stored(row, 1, outcome == "replay");
            });
            auto stored = co_await std::move(run);
            co_return answer(stored, req);
        } catch (...) {
            failure = std::current_exception();
        }

        switch (classify_failure(failure, req)) {
        case recovery::none:
            std::rethrow_exception(failure);
        case recovery::key_taken: {
            // The winner has committed (a unique violation is raised only then): answer
            // with its transfer, 200, or 422 when its body differs.
            auto op = find_by_key(pool, *req.key);
            auto prior = co_await std::move(op);
            if (prior) co_return answer(*prior, req);
            break;
        }
        case recovery::outcome_unknown: {
            // The statement's answer was lost with COMMIT's; the transfer, had it been
            // created, carries the id this request gave it.
            auto op = find_settled(pool, req.from, id);
            auto mine = co_await std::move(op);
            if (mine) co_return answer(*mine, req);  // it did commit: this request created it
            // It did not commit and never will: running it again cannot move money twice
            // (and a replay finds its prior transfer again).
            break;
        }
        }
        if (round == max_rounds) std::rethrow_exception(failure);
    }
}

}  // namespace

json::object transfer_json(const pgcoro::row& r, int first) {
    return {{"id", r.get<pgcoro::uuid>(first).to_string()},
            {"from_account_id", r.get<pgcoro::uuid>(first + 1).to_string()},
            {"to_account_id", r.get<pgcoro::uuid>(first + 2).to_string()},
            {"amount", r.get<std::string>(first + 3)},
            {"created_at", pgcoro::format_rfc3339(r.get<pgcoro::timestamptz>(first + 4))}};
}

const std::vector<std::string>& transfer_statements() {
    static const std::vector<std::string> all = {sql_transfer};
    return all;
}

const pgcoro::transaction_options& transfer_tx_options() { return transfer_options; }

void register_transfers(net::router& r, services& svc) {
    route(r, verb::post, "/transfers", access::user, svc, create_transfer);  // from their own accounts
}

}  // namespace domain
