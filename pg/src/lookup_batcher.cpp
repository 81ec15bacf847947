#include "pgcoro/lookup_batcher.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pgcoro/pool.hpp"

namespace pgcoro {

namespace {

struct key_batch;

// A caller of find(), on its coroutine frame. The timer is only a wake-up signal: it
// never expires on its own, it is cancelled when the batch answers (or by the caller's
// cancellation, which async_wait honours).
struct lookup_waiter {
    explicit lookup_waiter(asio::any_io_executor ex) : timer(std::move(ex)) {
        timer.expires_at(asio::steady_timer::time_point::max());
    }
    asio::steady_timer timer;
    std::string key;
    std::shared_ptr<key_batch> batch;
    std::size_t slot = 0;  // index in batch->waiters
    bool answered = false;
    std::optional<found_row> found;
    std::exception_ptr failure;
};

struct key_batch {
    std::vector<lookup_waiter*> waiters;  // nullptr: left (cancelled)
    std::size_t present = 0;              // waiters not left
    bool started = false;
    asio::cancellation_signal cancel;     // cancels the statement once every caller left
};

}  // namespace

struct lookup_batcher::state : std::enable_shared_from_this<state> {
    state(pool& p, std::string sql, int key_column, std::size_t max_keys)
        : p(p), sql(std::move(sql)), key_column(key_column), max_keys(max_keys == 0 ? 1 : max_keys) {}

    void start(const std::shared_ptr<key_batch>& b);
    asio::awaitable<void> run(std::shared_ptr<key_batch> b);

    pool& p;
    std::string sql;
    int key_column;
    std::size_t max_keys;
    std::shared_ptr<key_batch> open;  // collecting keys until its posted start runs
};

lookup_batcher::lookup_batcher(pool& p, std::string sql, int key_column, std::size_t max_keys)
    : state_(std::make_shared<state>(p, std::move(sql), key_column, max_keys)) {}

lookup_batcher::~lookup_batcher() = default;

void lookup_batcher::state::start(const std::shared_ptr<key_batch>& b) {
    if (b->started) return;
    b->started = true;
    if (open == b) open.reset();
    asio::co_spawn(p.get_executor(), run(b),
                   asio::bind_cancellation_slot(b->cancel.slot(), [](std::exception_ptr) {}));
}

asio::awaitable<void> lookup_batcher::state::run(std::shared_ptr<key_batch> b) {
    auto self = shared_from_this();
    if (b->present == 0) co_return;  // every caller left before it started
    // Distinct keys as a text array literal; a key asked for twice is sent once.
    std::string keys = "{";
    std::unordered_map<std::string_view, int> seen;
    for (auto* w : b->waiters) {
        if (!w || !seen.emplace(w->key, 0).second) continue;
        if (keys.size() > 1) keys += ',';
        detail::append_array_element(keys, w->key);
    }
    keys += '}';
    statement s{sql, {param{std::move(keys), oids::unspecified}}, true};

    std::exception_ptr failure;
    result rows;
    try {
        rows = co_await p.execute(std::move(s));
    } catch (...) {
        failure = std::current_exception();
    }
    std::unordered_map<std::string_view, int> row_of;
    if (!failure) {
        try {
            for (int i = 0; i < rows.size(); ++i)
                if (auto k = rows.raw(i, key_column)) row_of.emplace(*k, i);
        } catch (...) {  // key_column out of range: the caller's mistake, reported to every caller
            failure = std::current_exception();
        }
    }
    for (auto* w : b->waiters) {
        if (!w) continue;
        w->answered = true;
        if (failure) w->failure = failure;
        else if (auto it = row_of.find(w->key); it != row_of.end()) w->found.emplace(rows, it->second);
        w->timer.cancel();
    }
}

asio::awaitable<std::optional<found_row>> lookup_batcher::find(std::string key) {
    auto st = state_;
    lookup_waiter w(st->p.get_executor());
    w.key = std::move(key);
    if (!st->open) {
        st->open = std::make_shared<key_batch>();
        asio::post(st->p.get_executor(), [st, b = st->open] { st->start(b); });
    }
    w.batch = st->open;
    w.slot = w.batch->waiters.size();
    w.batch->waiters.push_back(&w);
    ++w.batch->present;
    if (w.batch->waiters.size() >= st->max_keys) st->start(w.batch);

    boost::system::error_code ec;
    co_await w.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!w.answered) {  // cancelled by the caller: leave the batch
        w.batch->waiters[w.slot] = nullptr;
        if (--w.batch->present == 0 && w.batch->started) w.batch->cancel.emit(asio::cancellation_type::terminal);
        throw error(errc::cancelled, "lookup cancelled");
    }
    if (w.failure) std::rethrow_exception(w.failure);
    co_return std::move(w.found);
}

}  // namespace pgcoro
