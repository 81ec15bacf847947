#include "domain/auth/sessions.hpp"

#include <boost/asio/post.hpp>
#include <pgcoro/lookup_batcher.hpp>
#include <pgcoro/pool.hpp>
#include <random>
#include <unordered_map>

#include "domain/auth/tokens.hpp"
#include "net/log.hpp"

namespace domain {

namespace {

using steady = std::chrono::steady_clock;

// A busy worker sees at most this many distinct sessions per cache_ttl; past it the
// cache starts over rather than grow without bound (a flood of valid tokens then costs
// lookups, never memory).
constexpr std::size_t max_cached_sessions = 100000;

const std::string sql_touch =
    "UPDATE sessions SET last_used_at = now() WHERE token_hash = $1 AND revoked_at IS NULL";

}  // namespace

struct session_store::worker_state {
    struct entry {
        caller who;
        steady::time_point valid_until;
    };
    pgcoro::pool* pool;
    std::unique_ptr<pgcoro::lookup_batcher> lookups;
    std::unordered_map<std::string, entry> cache;
    // Moves on at every forget_*(): a lookup that read its row before a revocation and
    // resumes after it must not put the session back in the cache.
    std::uint64_t revocations = 0;
    std::minstd_rand jitter{std::random_device{}()};
};

session_store::session_store(session_settings s) : settings_(s) {
    // last_used_at is written when it is older than this: a session used without pause
    // never looks idle, and its row is written a few times per idle period at most.
    auto touch = std::min<std::chrono::seconds>(std::chrono::seconds(60), std::max<std::chrono::seconds>(
                                                                               std::chrono::seconds(1), s.idle / 4));
    auto idle = std::to_string(s.idle.count());
    // A live session of a live user opened in the user's current epoch (a password change
    // or a deletion moves it on). The role is the user's now. Column 3: how long the
    // session stays valid, in ms, by the database's clock (the cache then never outlives
    // the session, whatever this host's clock says).
    sql_lookup_ =
        "SELECT s.token_hash, s.user_id, u.role,"
        " floor(extract(epoch FROM least(s.expires_at, s.last_used_at + make_interval(secs => " + idle +
        ")) - now()) * 1000)::int8,"
        " s.last_used_at < now() - make_interval(secs => " + std::to_string(touch.count()) + ")"
        " FROM sessions s JOIN users u ON u.id = s.user_id AND u.deleted_at IS NULL AND u.session_epoch = s.epoch"
        " WHERE s.token_hash = ANY($1::text[]) AND s.revoked_at IS NULL AND s.expires_at > now()"
        " AND s.last_used_at > now() - make_interval(secs => " + idle + ")";
}

session_store::~session_store() = default;

void session_store::add_worker(pgcoro::pool& pool) {
    auto w = std::make_unique<worker_state>();
    w->pool = &pool;
    w->lookups = std::make_unique<pgcoro::lookup_batcher>(pool, sql_lookup_, 0);
    workers_.push_back(std::move(w));
}

std::optional<caller> session_store::cached(std::size_t worker, const std::string& hash) const {
    auto& w = *workers_[worker];
    auto it = w.cache.find(hash);
    if (it == w.cache.end() || it->second.valid_until <= steady::now()) return std::nullopt;
    return it->second.who;
}

boost::asio::awaitable<std::optional<caller>> session_store::lookup(std::size_t worker, std::string hash) {
    auto& w = *workers_[worker];
    const auto revocations = w.revocations;
    auto found = co_await w.lookups->find(hash);
    if (!found) {
        w.cache.erase(hash);
        co_return std::nullopt;
    }
    auto row = found->get();
    // The database matched on the hash already; compared again in constant time so that
    // no code path ever trusts a non-constant-time comparison of a secret's hash.
    if (!equal_secrets(row.get<std::string>(0), hash)) co_return std::nullopt;
    caller who{row.get<pgcoro::uuid>(1), row.get<std::string>(2) == "operator", true};
    auto remaining = std::chrono::milliseconds(row.get<std::int64_t>(3));
    bool stale = row.get<bool>(4);

    if (w.revocations != revocations) co_return who;  // answered as read; not cached
    if (w.cache.size() >= max_cached_sessions) w.cache.clear();
    auto now = steady::now();
    auto& slot = w.cache[hash];
    // Several misses of one loop turn share this row: the first to resume writes
    // last_used_at, the others find the slot filled.
    bool first = slot.valid_until <= now;
    // Trusted for 3/4 to all of cache_ttl, at random: sessions looked up together (a
    // restart, a burst of log-ins) do not all expire and come back to the database at once.
    auto ttl = settings_.cache_ttl * 3 / 4 + std::chrono::milliseconds(w.jitter() % (settings_.cache_ttl.count() / 4 + 1));
    slot = {who, now + std::min<steady::duration>(ttl, remaining)};
    if (stale && first) {
        try {
            co_await w.pool->query(sql_touch, hash);
        } catch (const std::exception& e) {
            // Only idle expiry depends on it, and the next lookup tries again.
            net::log::debug("session last_used_at not updated: {}", e.what());
        }
    }
    co_return who;
}

namespace {

// Runs `forget` on worker `here` now and on every other worker's loop.
template <typename Workers, typename F>
void on_every_worker(Workers& workers, std::size_t here, F forget) {
    for (std::size_t i = 0; i < workers.size(); ++i) {
        auto* state = workers[i].get();
        if (i == here) forget(*state);
        else boost::asio::post(state->pool->get_executor(), [state, forget] { forget(*state); });
    }
}

}  // namespace

void session_store::forget_token(std::size_t here, const std::string& hash) {
    on_every_worker(workers_, here, [hash](worker_state& w) {
        ++w.revocations;
        w.cache.erase(hash);
    });
}

void session_store::forget_user(std::size_t here, const pgcoro::uuid& user) {
    on_every_worker(workers_, here, [user](worker_state& w) {
        ++w.revocations;
        std::erase_if(w.cache, [&](const auto& kv) { return kv.second.who.user_id == user; });
    });
}

}  // namespace domain
