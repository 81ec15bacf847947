#include "pgcoro/lookup_batcher.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "pgcoro/pool.hpp"

namespace pgcoro {

namespace {

using lookup_handler = asio::any_completion_handler<void(std::exception_ptr, std::optional<found_row>)>;

// A caller of find(): its key and, until answered or cancelled, how to resume it.
struct lookup_waiter {
    std::string key;
    std::optional<lookup_handler> handler;
};

struct key_batch {
    std::vector<lookup_waiter> waiters;
    std::size_t present = 0;           // waiters not cancelled
    bool started = false;
    asio::cancellation_signal cancel;  // cancels the statement once every caller left
};

// Completions are posted, never run inline: the caller may resume into code that calls
// find() again, or destroys the batcher. The caller's cancellation slot is cleared,
// except from within that slot's own handler (clearing would destroy it mid-call).
void deliver(asio::any_io_executor ex, lookup_handler h, std::exception_ptr e, std::optional<found_row> row,
             bool clear_slot = true) {
    if (clear_slot) asio::get_associated_cancellation_slot(h).clear();
    asio::post(ex, [h = std::move(h), e, row = std::move(row)]() mutable { std::move(h)(e, std::move(row)); });
}

}  // namespace

struct lookup_batcher::state : std::enable_shared_from_this<state> {
    state(pool& p, std::string sql, int key_column, std::size_t max_keys)
        : p(p), sql(std::move(sql)), key_column(key_column), max_keys(max_keys == 0 ? 1 : max_keys) {}

    void enqueue(std::string key, lookup_handler handler);
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
    std::unordered_set<std::string_view> seen;
    for (auto& w : b->waiters) {
        if (!w.handler || !seen.insert(w.key).second) continue;
        if (keys.size() > 1) keys += ',';
        detail::append_array_element(keys, w.key);
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
    for (auto& w : b->waiters) {
        if (!w.handler) continue;
        auto h = std::move(*w.handler);
        w.handler.reset();
        if (failure) {
            deliver(p.get_executor(), std::move(h), failure, std::nullopt);
        } else if (auto it = row_of.find(w.key); it != row_of.end()) {
            deliver(p.get_executor(), std::move(h), nullptr, found_row(rows, it->second));
        } else {
            deliver(p.get_executor(), std::move(h), nullptr, std::nullopt);
        }
    }
}

void lookup_batcher::state::enqueue(std::string key, lookup_handler handler) {
    if (!open) {
        open = std::make_shared<key_batch>();
        asio::post(p.get_executor(), [self = shared_from_this(), b = open] { self->start(b); });
    }
    auto b = open;
    std::size_t index = b->waiters.size();
    auto slot = asio::get_associated_cancellation_slot(handler);
    b->waiters.push_back({std::move(key), std::move(handler)});
    ++b->present;
    if (slot.is_connected()) {
        slot.assign([w = std::weak_ptr<key_batch>(b), index, ex = p.get_executor()](asio::cancellation_type t) {
            if ((t & (asio::cancellation_type::terminal | asio::cancellation_type::partial |
                      asio::cancellation_type::total)) == asio::cancellation_type::none)
                return;
            auto b = w.lock();
            if (!b || !b->waiters[index].handler) return;
            auto h = std::move(*b->waiters[index].handler);
            b->waiters[index].handler.reset();
            deliver(ex, std::move(h), std::make_exception_ptr(error(errc::cancelled, "lookup cancelled")),
                    std::nullopt, false);
            if (--b->present == 0 && b->started) b->cancel.emit(asio::cancellation_type::terminal);
        });
    }
    if (b->waiters.size() >= max_keys) start(b);
}

asio::awaitable<std::optional<found_row>> lookup_batcher::find(std::string key) {
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, std::optional<found_row>)>(
        [st = state_](auto handler, std::string key) { st->enqueue(std::move(key), std::move(handler)); },
        asio::use_awaitable, std::move(key));
}

}  // namespace pgcoro
