// LISTEN/NOTIFY on a connection of its own (pgcoro/listener.hpp). The connection's reader
// hands each notification to the listener (connection_impl::on_notification); a
// supervising coroutine reconnects and LISTENs again when the connection breaks.
#include "pgcoro/listener.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <deque>
#include <set>

#include "connection_impl.hpp"

namespace pgcoro {

namespace asio = boost::asio;

// --- the connection's side: handing notifications over, pausing for a slow consumer

namespace detail {

void connection_impl::deliver_notifications() {
    if (broken || read_paused) return;
    if (queue.empty()) PQisBusy(conn);  // parses what PQconsumeInput read (process_input did otherwise)
    while (PGnotify* n = PQnotifies(conn)) {
        notification note{n->relname ? n->relname : "", n->extra ? n->extra : "", n->be_pid};
        PQfreemem(n);
        if (!on_notification || !on_notification(std::move(note))) {
            read_paused = true;
            return;
        }
    }
}

void connection_impl::resume_reading() {
    if (!read_paused) return;
    read_paused = false;
    resume_signal.cancel();
}

}  // namespace detail

// --- the listener

struct listener::state : std::enable_shared_from_this<listener::state> {
    state(asio::any_io_executor e, listener_options o)
        : ex(std::move(e)), options(std::move(o)), wake(ex), broke(ex), backoff(ex) {
        wake.expires_at(std::chrono::steady_clock::time_point::max());
        broke.expires_at(std::chrono::steady_clock::time_point::max());
        options.reconnect_min = std::max(options.reconnect_min, std::chrono::milliseconds(1));
        options.reconnect_max = std::max(options.reconnect_max, options.reconnect_min);
    }

    asio::any_io_executor ex;
    listener_options options;
    connection conn;                 // empty until the first listen()
    std::set<std::string> channels;  // LISTENed, to LISTEN again after a reconnect
    std::deque<listener_event> events;
    asio::steady_timer wake;         // cancelled when an event arrives (next() waits on it)
    asio::steady_timer broke;        // cancelled when the connection breaks (the supervisor waits on it)
    asio::steady_timer backoff;      // the supervisor's wait before reconnecting (close() cancels it)
    bool supervising = false;
    bool closed = false;
    listener_stats counts;

    static std::string quoted(const std::string& name) {
        std::string q = "\"";
        for (char c : name) {
            if (c == '"') q += '"';
            q += c;
        }
        return q + "\"";
    }

    void push(listener_event e) {
        events.push_back(std::move(e));
        wake.cancel();
    }

    // Wires a fresh connection to this listener.
    void adopt(connection c) {
        conn = std::move(c);
        auto* impl = conn.impl();
        impl->on_notification = [w = weak_from_this()](notification n) {
            auto self = w.lock();
            if (!self) return true;
            ++self->counts.received;
            self->push(listener_event{std::move(n), {}});
            // Pause the reader while the consumer is `capacity` behind (next() resumes it).
            if (self->events.size() < self->options.capacity) return true;
            ++self->counts.paused;
            return false;
        };
        impl->on_broken = [w = weak_from_this()] {
            if (auto self = w.lock()) self->broke.cancel();
        };
    }

    // The first listen() connects; after that the supervisor owns reconnecting.
    asio::awaitable<void> ensure_connected() {
        if (supervising) co_return;
        auto c = co_await connection::connect(ex, options.connection);
        if (closed) {
            c.close();
            co_return;
        }
        adopt(std::move(c));
        supervising = true;
        asio::co_spawn(ex, [self = shared_from_this()] { return self->supervise(); }, asio::detached);
    }

    // Waits for the connection to break, then reconnects (capped exponential backoff)
    // and LISTENs again; the consumer is told of the gap.
    asio::awaitable<void> supervise() {
        auto self = shared_from_this();
        auto delay = options.reconnect_min;
        while (!closed) {
            if (conn.is_open()) {
                boost::system::error_code ec;
                co_await broke.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                broke.expires_at(std::chrono::steady_clock::time_point::max());
                continue;  // closed, or broken (checked above), or woken for nothing
            }
            backoff.expires_after(delay);
            boost::system::error_code ec;
            co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            if (closed) break;
            try {
                auto c = co_await connection::connect(ex, options.connection);
                if (closed) {
                    c.close();
                    break;
                }
                // The hooks go on before LISTEN: a notification that arrives with LISTEN's
                // answer is then handed over, not left parsed in libpq.
                adopt(c);
                batch b;
                for (auto& ch : channels) b.statements.push_back(statement{"LISTEN " + quoted(ch), {}});
                if (!b.statements.empty())
                    for (auto& o : co_await c.execute(std::move(b))) o.value();
                if (closed) break;
                ++counts.reconnects;
                delay = options.reconnect_min;
                push(listener_event{std::nullopt, "reconnected: notifications sent while disconnected are lost"});
            } catch (const std::exception&) {
                if (conn.impl()) conn.close();  // half set up: start again after the backoff
                delay = std::min(options.reconnect_max, delay * 2);
            }
        }
    }
};

listener::listener(asio::any_io_executor ex, listener_options options)
    : state_(std::make_shared<state>(std::move(ex), std::move(options))) {}

listener::~listener() { close(); }

asio::awaitable<void> listener::listen(std::string channel) {
    auto s = state_;
    if (s->closed) throw error(errc::pool_closed, "the listener is closed");
    co_await s->ensure_connected();
    // Recorded first: a reconnect from here on LISTENs on it too. While disconnected,
    // the supervisor's reconnect does the LISTEN.
    s->channels.insert(channel);
    if (s->conn.is_open()) co_await s->conn.query("LISTEN " + state::quoted(channel));
}

asio::awaitable<void> listener::unlisten(std::string channel) {
    auto s = state_;
    if (s->closed) throw error(errc::pool_closed, "the listener is closed");
    s->channels.erase(channel);
    if (s->conn.is_open()) co_await s->conn.query("UNLISTEN " + state::quoted(channel));
}

asio::awaitable<listener_event> listener::next() {
    auto s = state_;
    for (;;) {
        if (!s->events.empty()) {
            auto e = std::move(s->events.front());
            s->events.pop_front();
            if (e.note) ++s->counts.delivered;
            // Half the buffer free again: let the reader go on.
            if (s->events.size() <= s->options.capacity / 2 && s->conn.impl()) s->conn.impl()->resume_reading();
            co_return e;
        }
        if (s->closed) throw error(errc::pool_closed, "the listener is closed");
        boost::system::error_code ec;
        co_await s->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        s->wake.expires_at(std::chrono::steady_clock::time_point::max());
        if (ec && ec != asio::error::operation_aborted) throw error(errc::cancelled, "listener wait failed");
        // operation_aborted: an event arrived, or this wait itself was cancelled.
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) throw error(errc::cancelled, "listener wait cancelled");
    }
}

listener_stats listener::stats() const {
    auto c = state_->counts;
    c.buffered = state_->events.size();
    return c;
}

void listener::close() {
    if (!state_ || state_->closed) return;
    state_->closed = true;
    if (state_->conn.impl()) {
        state_->conn.impl()->on_notification = nullptr;
        state_->conn.impl()->on_broken = nullptr;
        state_->conn.close();
    }
    state_->broke.cancel();
    state_->backoff.cancel();
    state_->wake.cancel();
    state_->events.clear();  // next() throws pool_closed from now on
}

}  // namespace pgcoro
