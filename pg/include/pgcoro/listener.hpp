// pgcoro/listener.hpp — LISTEN/NOTIFY: an awaitable stream of notifications on a
// connection of its own, which survives reconnects.
//
//   pgcoro::listener l(ex, {.connection = {.conninfo = url}});
//   co_await l.listen("orders");
//   for (;;) {
//       auto e = co_await l.next();
//       if (e.note) handle(e.note->channel, e.note->payload);
//       else resync();  // a gap: notifications may have been missed (see below)
//   }
//
// Order: notifications arrive in the order the server delivers them, which keeps each
// sending transaction's order and commit order between transactions.
//
// Reconnects: when the connection breaks (server restart, failover, terminated backend)
// the listener reconnects with capped exponential backoff and LISTENs again on every
// channel. NOTIFYs sent meanwhile are lost to it, so next() then yields a gap event first:
// re-read whatever state the notifications stand for.
//
// Backpressure: at most `capacity` notifications wait in the listener. When the consumer
// falls that far behind, the listener stops reading its socket until the consumer has
// taken half of them: the server holds the rest in its notification queue (up to 8 GB by
// default, beyond which NOTIFY fails for the senders). Nothing is dropped; a slow
// consumer slows delivery, and stats().paused counts how often.
//
// Not thread-safe: use a listener from its executor's thread. next() may be awaited by
// one coroutine at a time; it honours Asio cancellation.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "pgcoro/options.hpp"

namespace pgcoro {

struct notification {
    std::string channel;
    std::string payload;
    int sender_pid = 0;  // the backend that sent it (pg_backend_pid() of the sender)
};

// What next() yields: a notification, or a gap in the stream.
struct listener_event {
    std::optional<notification> note;  // empty: a gap
    std::string gap;                   // why notifications may have been missed
};

struct listener_options {
    connect_options connection;
    std::size_t capacity = 10000;  // notifications buffered before reading pauses
    std::chrono::milliseconds reconnect_min = std::chrono::milliseconds(50);
    std::chrono::milliseconds reconnect_max = std::chrono::seconds(5);
};

struct listener_stats {
    std::uint64_t received = 0;    // notifications taken from the server
    std::uint64_t delivered = 0;   // handed out by next()
    std::uint64_t reconnects = 0;  // connections re-established (each yields a gap)
    std::uint64_t paused = 0;      // times reading paused for a slow consumer
    std::size_t buffered = 0;      // waiting in the listener now
};

class listener {
public:
    listener(boost::asio::any_io_executor ex, listener_options options);
    ~listener();  // closes the connection
    listener(const listener&) = delete;
    listener& operator=(const listener&) = delete;

    // LISTEN / UNLISTEN (the channel is quoted as an identifier: any name works). The
    // first call opens the connection; throws pgcoro::error when it cannot.
    boost::asio::awaitable<void> listen(std::string channel);
    boost::asio::awaitable<void> unlisten(std::string channel);

    // The next notification or gap; waits for one. Throws errc::cancelled when cancelled,
    // errc::pool_closed after close().
    boost::asio::awaitable<listener_event> next();

    listener_stats stats() const;
    void close();

    struct state;  // internal

private:
    std::shared_ptr<state> state_;
};

}  // namespace pgcoro
