#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>

#include "connection_impl.hpp"
#include "pool_impl.hpp"

namespace pgcoro {

namespace detail {

using clock = std::chrono::steady_clock;

pool_impl::pool_impl(asio::any_io_executor e, pool_options o)
    : ex(std::move(e)), opts(std::move(o)), maintenance_timer(ex) {
    if (opts.max_size == 0) opts.max_size = 1;
    opts.min_size = std::min(opts.min_size, opts.max_size);
}

void pool_impl::update_gauges() {
    std::size_t busy = 0;
    for (auto& e : entries)
        if (e->exclusive || e->conn.in_flight() > 0 || e->reserved > 0) ++busy;
    g_total = entries.size() + connecting;
    g_in_use = busy;
    g_idle = entries.size() - busy;
    g_waiting = waiters.size() + shared_waiters.size();
}

asio::awaitable<std::shared_ptr<pool_entry>> pool_impl::open_entry(bool exclusive) {
    auto self = shared_from_this();
    ++connecting;
    update_gauges();
    connection c;
    try {
        c = co_await connection::connect(ex, opts.connection);
    } catch (...) {
        --connecting;
        ++connect_failures;
        note_failure();
        update_gauges();
        wake_one();  // the slot it reserved is free again
        throw;
    }
    --connecting;
    ++connects;
    note_answer();
    if (closed) {
        c.close();
        update_gauges();
        throw error(errc::pool_closed, "the connection pool is closed");
    }
    auto now = clock::now();
    auto e = std::make_shared<pool_entry>();
    e->conn = std::move(c);
    e->conn.impl()->on_broken = [weak = weak_from_this()] {
        if (auto pool = weak.lock()) pool->note_failure();
    };
    e->created = e->last_used = now;
    // Up to 10% jitter so connections opened together do not all expire together.
    auto life = opts.max_lifetime.count();
    auto jitter = life > 10 ? std::uniform_int_distribution<long long>(0, life / 10)(rng) : 0;
    e->expires = now + std::chrono::milliseconds(life - jitter);
    e->exclusive = exclusive;
    entries.push_back(e);
    update_gauges();
    co_return e;
}

asio::awaitable<std::shared_ptr<pool_entry>> pool_impl::acquire_entry() {
    auto self = shared_from_this();
    const auto start = clock::now();
    ++acquire_count;
    bool queued_before = false;
    for (;;) {
        if (closed) throw error(errc::pool_closed, "the connection pool is closed");
        auto now = clock::now();
        // An idle connection: most recently used first, so the hot ones stay warm and
        // the others age out through idle_timeout.
        std::shared_ptr<pool_entry> found;
        for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
            auto& e = *it;
            if (e->exclusive || e->conn.in_flight() > 0 || e->reserved > 0) continue;
            if (!e->conn.is_open() || now >= e->expires) continue;  // the maintainer drops them
            if (!found || e->last_used > found->last_used) found = e;
        }
        if (found) {
            found->exclusive = true;
            update_gauges();
            if (now - found->last_used > opts.health_check_after) {
                bool healthy = true;
                std::exception_ptr cancelled;
                try {
                    co_await found->conn.query("SELECT 1");
                    note_answer();
                } catch (const error& err) {
                    healthy = false;
                    if (err.kind() == errc::cancelled) cancelled = std::current_exception();
                } catch (...) {
                    healthy = false;
                    cancelled = std::current_exception();
                }
                if (!healthy) {
                    found->exclusive = false;
                    drop(found);
                    if (cancelled) std::rethrow_exception(cancelled);
                    continue;
                }
            }
            record_wait(start);
            found->held_since = clock::now();
            co_return found;
        }
        if (entries.size() + connecting < opts.max_size) {
            auto e = co_await open_entry(true);
            record_wait(start);
            e->held_since = clock::now();
            co_return e;
        }
        // Judged hopeless only when it first queues: one woken to look again has waited
        // its turn already.
        auto handed = co_await wait_in(waiters, start, /*judge=*/!queued_before);
        queued_before = true;
        if (handed) {
            record_wait(start);
            handed->held_since = clock::now();
            co_return handed;
        }
    }
}

void pool_impl::record_wait(clock::time_point start) {
    acquire_wait_ns += static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - start).count());
}

bool pool_impl::hopeless_wait() const {
    if (!opts.reject_hopeless_waits || typical_hold.count() == 0) return false;
    // Connections come free at about max_size per typical hold: the newcomer, behind
    // everyone queued, would wait about this long.
    auto expected = typical_hold * static_cast<long long>(waiters.size() + 1) / static_cast<long long>(opts.max_size);
    return expected > opts.acquire_timeout;
}

asio::awaitable<std::shared_ptr<pool_entry>> pool_impl::wait_in(std::deque<waiter*>& queue, clock::time_point start,
                                                                bool judge) {
    if (waiters.size() + shared_waiters.size() >= opts.max_waiters) {
        ++acquire_timeouts;
        ++acquire_rejections;
        throw error(errc::pool_timeout, "too many callers waiting for a connection");
    }
    if (judge && &queue == &waiters && hopeless_wait()) {
        ++acquire_timeouts;
        ++acquire_rejections;
        throw error(errc::pool_timeout, "the connection pool is saturated: a connection would not come free in time");
    }
    waiter w(ex);
    w.timer.expires_at(start + opts.acquire_timeout);
    queue.push_back(&w);
    update_gauges();
    boost::system::error_code ec;
    co_await w.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (auto it = std::find(queue.begin(), queue.end(), &w); it != queue.end()) queue.erase(it);
    update_gauges();
    if (w.handed || w.woken) co_return w.handed;
    if (!ec) {
        ++acquire_timeouts;
        record_wait(start);
        throw error(errc::pool_timeout, "no database connection became available in time");
    }
    throw error(errc::cancelled, "acquire cancelled");
}

// The first shared connection with room, not the least loaded: concentrating the
// statements of a loop turn on one connection lets them leave in one write (and
// read-only ones under one Sync), and leaves the other connections free for
// transactions. Spreading them evenly measured slower and with long tails.
std::shared_ptr<pool_entry> pool_impl::pick_shared() {
    for (auto& e : entries) {
        if (e->exclusive || e->retiring || !e->conn.is_open()) continue;
        if (e->conn.in_flight() + e->reserved < opts.pipeline_depth) return e;
    }
    return nullptr;
}

asio::awaitable<std::shared_ptr<pool_entry>> pool_impl::wait_for_room() {
    auto self = shared_from_this();
    const auto start = clock::now();
    for (;;) {
        if (closed) throw error(errc::pool_closed, "the connection pool is closed");
        if (auto e = pick_shared()) {
            ++e->reserved;
            co_return e;
        }
        if (entries.size() + connecting < opts.max_size) {
            auto e = co_await open_entry(false);
            ++e->reserved;
            co_return e;
        }
        auto handed = co_await wait_in(shared_waiters, start, false);
        if (!handed) continue;
        if (handed->conn.is_open() && !closed) {
            record_wait(start);
            co_return handed;  // its slot stays reserved
        }
        --handed->reserved;
    }
}

void pool_impl::hand_room(const std::shared_ptr<pool_entry>& e) {
    while (!shared_waiters.empty() && !e->exclusive && !e->retiring && e->conn.is_open() &&
           e->conn.in_flight() + e->reserved < opts.pipeline_depth) {
        waiter* w = shared_waiters.front();
        shared_waiters.pop_front();
        ++e->reserved;
        w->handed = e;
        w->timer.cancel();
    }
}

void pool_impl::release(const std::shared_ptr<pool_entry>& e, bool discard) {
    e->last_used = clock::now();
    if (e->exclusive) {
        // One long hold (a transaction waiting on a lock for seconds) must not make the
        // pool refuse everyone for a while: a sample counts for at most twice the
        // acquire timeout.
        auto held = std::min<std::chrono::nanoseconds>(e->last_used - e->held_since, 2 * opts.acquire_timeout);
        typical_hold = typical_hold.count() == 0 ? held : (typical_hold * 7 + held) / 8;
    }
    e->exclusive = false;
    if (discard || closed || !e->conn.is_open() || e->conn.in_flight() > 0 ||
        e->conn.state() != transaction_state::idle || e->last_used >= e->expires) {
        drop(e);
        return;
    }
    became_idle(e);
}

void pool_impl::became_idle(const std::shared_ptr<pool_entry>& e) {
    if (e->retiring && e->reserved == 0) {
        drop(e);  // wakes a waiter, who opens the replacement
        return;
    }
    if (!waiters.empty() && !e->exclusive && e->conn.in_flight() == 0 && e->reserved == 0 && e->conn.is_open()) {
        waiter* w = waiters.front();
        waiters.pop_front();
        e->exclusive = true;
        w->handed = e;
        w->timer.cancel();
    }
    hand_room(e);
    update_gauges();
}

void pool_impl::drop(const std::shared_ptr<pool_entry>& e) {
    auto it = std::find(entries.begin(), entries.end(), e);
    if (it == entries.end()) return;
    if (!e->conn.is_open()) note_failure();  // it broke (rather than being retired)
    if (auto* impl = e->conn.impl()) impl->on_broken = nullptr;  // closed on purpose: not a failure
    e->conn.close();
    entries.erase(it);
    wake_one();
    update_gauges();
}

// A connection slot is free: the first exclusive waiter (else the first shared one)
// retries, and opens a connection.
void pool_impl::wake_one() {
    if (entries.size() + connecting >= opts.max_size) return;
    auto& queue = waiters.empty() ? shared_waiters : waiters;
    if (queue.empty()) return;
    waiter* w = queue.front();
    queue.pop_front();
    w->woken = true;
    w->timer.cancel();
}

void pool_impl::close() {
    if (closed) return;
    closed = true;
    maintenance_timer.cancel();
    for (auto* queue : {&waiters, &shared_waiters}) {
        for (auto* w : *queue) {
            w->woken = true;
            w->timer.cancel();
        }
        queue->clear();
    }
    auto idle = entries;
    for (auto& e : idle)
        if (!e->exclusive && e->conn.in_flight() == 0) drop(e);
    update_gauges();
}

// Background upkeep: close connections idle too long (above min_size), broken or past
// their lifetime, and keep min_size open. A failed connect is retried on the next tick.
asio::awaitable<void> pool_impl::maintain() {
    auto self = shared_from_this();
    while (!closed) {
        maintenance_timer.expires_after(std::chrono::seconds(1));
        boost::system::error_code ec;
        co_await maintenance_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (closed) break;
        auto now = clock::now();
        auto snapshot = entries;
        for (auto& e : snapshot) {
            if (now >= e->expires) e->retiring = true;  // held or busy: closed when it comes back
            if (e->exclusive || e->conn.in_flight() > 0 || e->reserved > 0) continue;
            bool stale = now - e->last_used > opts.idle_timeout && entries.size() > opts.min_size;
            if (!e->conn.is_open() || e->retiring || stale) drop(e);
        }
        while (!closed && entries.size() + connecting < opts.min_size) {
            try {
                auto e = co_await open_entry(false);
                became_idle(e);
            } catch (const std::exception&) {
                break;
            }
        }
    }
}

}  // namespace detail

// --- pooled_connection

pooled_connection::pooled_connection(std::shared_ptr<detail::pool_impl> pool, std::shared_ptr<detail::pool_entry> entry)
    : pool_(std::move(pool)), entry_(std::move(entry)) {}

pooled_connection& pooled_connection::operator=(pooled_connection&& other) noexcept {
    if (this != &other) {
        reset();
        pool_ = std::move(other.pool_);
        entry_ = std::move(other.entry_);
    }
    return *this;
}

pooled_connection::~pooled_connection() { reset(); }

connection& pooled_connection::operator*() noexcept { return entry_->conn; }
connection* pooled_connection::operator->() noexcept { return &entry_->conn; }

void pooled_connection::reset() noexcept {
    if (entry_ && pool_) pool_->release(entry_, false);
    entry_.reset();
    pool_.reset();
}

void pooled_connection::discard() noexcept {
    if (entry_ && pool_) pool_->release(entry_, true);
    entry_.reset();
    pool_.reset();
}

// --- pool

pool::pool(asio::any_io_executor ex, pool_options options)
    : impl_(std::make_shared<detail::pool_impl>(std::move(ex), std::move(options))) {
    asio::co_spawn(impl_->ex, [impl = impl_] { return impl->maintain(); }, asio::detached);
}

pool::~pool() { impl_->close(); }

asio::awaitable<pooled_connection> pool::acquire() {
    auto e = co_await impl_->acquire_entry();
    co_return pooled_connection(impl_, std::move(e));
}

namespace {
// Runs `run` on a shared connection of the pool (auto-pipelining), or on one held for
// the request when pipelining is off.
template <typename T, typename Run>
asio::awaitable<T> run_shared(std::shared_ptr<detail::pool_impl> impl, Run run, const detail::statement_name& name);

// Counts the statement (pool_stats::statements and friends) whichever way it ends.
template <typename T, typename Run>
asio::awaitable<T> on_shared(std::shared_ptr<detail::pool_impl> impl, Run run, detail::statement_name name) {
    struct count {
        detail::pool_impl& pool;
        std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
        bool ok = false;
        ~count() {
            pool.statements.fetch_add(1, std::memory_order_relaxed);
            if (!ok) pool.statement_errors.fetch_add(1, std::memory_order_relaxed);
            pool.statement_ns.fetch_add(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                                       std::chrono::steady_clock::now() - start)
                                                                       .count()),
                                        std::memory_order_relaxed);
        }
    } counted{*impl};
    auto out = co_await run_shared<T>(impl, std::move(run), name);
    counted.ok = true;
    co_return out;
}

// Runs `run` on `c` for run_shared, and tells the pool how the round trip went.
template <typename T, typename Run>
asio::awaitable<T> timed(detail::pool_impl& impl, Run& run, connection& c, const detail::statement_name& name) {
    const auto sent = std::chrono::steady_clock::now();
    std::exception_ptr failure;
    std::optional<T> out;
    try {
        auto pending = run(c);
        impl.update_gauges();
        out.emplace(co_await std::move(pending));
    } catch (...) {
        failure = std::current_exception();
    }
    impl.round_trip_done(false, sent, name, failure);
    if (failure) std::rethrow_exception(failure);
    co_return std::move(*out);
}

template <typename T, typename Run>
asio::awaitable<T> run_shared(std::shared_ptr<detail::pool_impl> impl, Run run, const detail::statement_name& name) {
    if (impl->closed) throw error(errc::pool_closed, "the connection pool is closed");
    if (!impl->opts.auto_pipeline) {
        pooled_connection held(impl, co_await impl->acquire_entry());
        co_return co_await timed<T>(*impl, run, *held, name);
    }
    // A slot in a shared connection's pipeline: at once when one has room, else in FIFO
    // order as statements complete (not a connection of its own: with every connection
    // busy pipelining, none would ever become idle).
    auto e = impl->pick_shared();
    if (!e) {
        e = co_await impl->wait_for_room();
        --e->reserved;  // the slot kept for this statement is now its own
    }
    ++impl->acquire_count;
    std::exception_ptr failure;
    std::optional<T> out;
    try {
        out.emplace(co_await timed<T>(*impl, run, e->conn, name));
    } catch (...) {
        failure = std::current_exception();
    }
    e->last_used = std::chrono::steady_clock::now();
    if (!e->conn.is_open()) impl->drop(e);
    else if (!e->exclusive && e->conn.in_flight() == 0) impl->became_idle(e);
    else {
        impl->hand_room(e);
        impl->update_gauges();
    }
    if (failure) std::rethrow_exception(failure);
    co_return std::move(*out);
}
}  // namespace

asio::awaitable<result> pool::execute(statement s) {
    detail::statement_name name(std::span<const statement>(&s, 1));
    return on_shared<result>(
        impl_, [s = std::move(s)](connection& c) mutable { return detail::execute_autocommit(c, std::move(s)); }, name);
}

asio::awaitable<std::vector<outcome>> pool::execute(batch b) {
    detail::statement_name name(b.statements);
    return on_shared<std::vector<outcome>>(
        impl_, [b = std::move(b)](connection& c) mutable { return c.execute(std::move(b)); }, name);
}

pool_stats pool::stats() const {
    pool_stats s;
    s.total = impl_->g_total;
    s.idle = impl_->g_idle;
    s.in_use = impl_->g_in_use;
    s.waiting = impl_->g_waiting;
    s.max = impl_->opts.max_size;
    s.acquire_count = impl_->acquire_count;
    s.acquire_timeouts = impl_->acquire_timeouts;
    s.acquire_rejections = impl_->acquire_rejections;
    s.acquire_wait = std::chrono::nanoseconds(impl_->acquire_wait_ns.load());
    s.connects = impl_->connects;
    s.connect_failures = impl_->connect_failures;
    s.statements = impl_->statements;
    s.statement_errors = impl_->statement_errors;
    s.statement_time = std::chrono::nanoseconds(impl_->statement_ns.load());
    s.autocommit_queries = impl_->autocommit_queries.snapshot();
    s.transaction_queries = impl_->transaction_queries.snapshot();
    auto at = [](std::int64_t ns) {
        return ns == 0 ? std::chrono::steady_clock::time_point{}
                       : std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns));
    };
    s.last_answer = at(impl_->last_answer_ns.load(std::memory_order_relaxed));
    s.last_failure = at(impl_->last_failure_ns.load(std::memory_order_relaxed));
    return s;
}

transaction_stats pool::tx_stats() const {
    transaction_stats s;
    s.attempts = impl_->tx_attempts;
    s.commits = impl_->tx_commits;
    s.retries_serialization = impl_->tx_retry_serialization;
    s.retries_deadlock = impl_->tx_retry_deadlock;
    s.retries_connection = impl_->tx_retry_connection;
    s.retries_stale_plan = impl_->tx_retry_stale_plan;
    s.ran_alone = impl_->tx_ran_alone;
    s.exhausted = impl_->tx_exhausted;
    s.budget_denied = impl_->tx_budget_denied;
    s.unknown_outcomes = impl_->tx_unknown;
    return s;
}

const pool_options& pool::options() const noexcept { return impl_->opts; }
asio::any_io_executor pool::get_executor() const noexcept { return impl_->ex; }
void pool::close() { impl_->close(); }

}  // namespace pgcoro
