// Private: the state behind a pgcoro::connection. Only pg/src includes this (and libpq).
#pragma once

#include <libpq-fe.h>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pgcoro/connection.hpp"
#include "pgcoro/listener.hpp"

namespace pgcoro::detail {

using request_handler = asio::any_completion_handler<void(std::exception_ptr, std::vector<outcome>)>;

// A named prepared statement in the per-connection cache.
// Its Parse travels in the same request as its first execution (so a ROLLBACK TO
// SAVEPOINT earlier in that request has already run); other requests use the name only
// once the server has confirmed it (`ready`), and send the SQL unnamed until then.
struct prepared {
    std::string key;   // SQL text + parameter types
    std::string name;  // pgcoro_<n>
    bool ready = false;
    std::optional<error> failure;  // set when the server refused to prepare it
};

// What one libpq "query" in the pipeline stands for.
struct item {
    enum kind_t { statement, prepare, ignore } kind = statement;
    std::size_t index = 0;                 // statement: its position in the request
    std::shared_ptr<prepared> prepared_as; // the cached statement it uses or prepares
};

// What a CancelRequest job, running on another thread, needs of a connection: which
// request the event loop sees running, which one it wants cancelled, and whether a job
// for this connection is already queued (then a new request only updates `wanted`).
struct cancel_state {
    std::shared_ptr<PGcancel> canceller;
    std::atomic<std::uint64_t> running{0};  // seq of the request at the queue's front
    std::atomic<std::uint64_t> wanted{0};   // seq to cancel
    std::atomic<bool> queued{false};
};

// A request in flight: everything up to and including its Sync.
struct pending {
    std::uint64_t seq = 0;                  // this connection's request number, from 1
    std::vector<item> items;
    std::size_t current = 0;               // the item whose results arrive now
    std::vector<outcome> outcomes;
    std::optional<request_handler> handler; // empty once answered or cancelled
    bool cancelled = false;                 // its awaiting coroutine was cancelled
    bool simple = false;                    // a simple-protocol script, outside pipeline mode
    // Read-only requests of one loop turn share one Sync (see statement::read_only): all
    // but the last of them complete after their own results, not at a Sync.
    bool shares_sync = false;
    bool aborted = false;                   // skipped for another member's failure: send again
    std::vector<statement> retained;        // what to send again
    std::vector<statement> kept;            // a cached single statement, for a stale-plan rerun
    bool autocommit = false;                // a single statement outside any transaction (submit)
};

struct connection_impl : std::enable_shared_from_this<connection_impl> {
    connection_impl(asio::any_io_executor ex, connect_options opts);
    ~connection_impl();

    asio::awaitable<void> connect();
    // autocommit: the statement runs outside any transaction, so when it fails having
    // done nothing (a stale cached plan, a CancelRequest meant for the request before it)
    // it may be sent again, once (complete()).
    void submit(std::vector<statement> statements, request_handler handler, bool autocommit = false);
    void close_group();
    void submit_script(std::string sql, request_handler handler);
    void close(const char* why) noexcept;

    // Internals.
    asio::awaitable<void> read_loop();
    asio::awaitable<void> flush_loop();
    void flush();
    void poke();
    void process_input();
    void finish(pending& p);
    void complete(const std::shared_ptr<pending>& done);
    void deliver(request_handler h, std::exception_ptr e, std::vector<outcome> v);
    void fail_all(const error& e);
    void request_server_cancel(std::uint64_t seq);
    void front_changed();  // after the queue's front changed: who runs now
    void on_cancel(const std::shared_ptr<pending>& p);
    void attach(std::shared_ptr<pending> p, request_handler handler);
    std::shared_ptr<prepared> prepare_cached(const statement& s, std::vector<std::shared_ptr<prepared>>& evicted,
                                             bool& fresh);
    void forget(const std::shared_ptr<prepared>& entry);
    error last_error(errc kind) const;

    asio::any_io_executor ex;
    connect_options options;
    PGconn* conn = nullptr;
    std::shared_ptr<cancel_state> cancelling;
    std::uint64_t last_cancel_seq = 0;  // the latest request a CancelRequest was asked for
    std::chrono::steady_clock::time_point last_cancel_at;  // and when
    std::uint64_t next_seq = 1;
    asio::posix::stream_descriptor socket;
    std::deque<std::shared_ptr<pending>> queue;
    bool broken = false;
    bool flushing = false;
    bool poke_scheduled = false;
    bool reading = false;
    bool in_script = false;
    bool group_open = false;  // read-only requests are being gathered under one Sync
    std::chrono::steady_clock::time_point created = std::chrono::steady_clock::now();
    // Called once when the connection breaks (not when close() is asked for after the
    // pool cleared it): how a pool learns at once that its server went away.
    std::function<void()> on_broken;
    // LISTEN/NOTIFY (pgcoro::listener): each notification the server sends is handed
    // here; returning false pauses reading the socket until resume_reading() (the
    // server then holds further notifications: backpressure, nothing dropped).
    std::function<bool(notification)> on_notification;
    bool read_paused = false;
    asio::steady_timer resume_signal;
    void resume_reading();
    void deliver_notifications();

    // LRU of prepared statements: most recently used at the front.
    std::list<std::shared_ptr<prepared>> lru;
    std::unordered_map<std::string, std::list<std::shared_ptr<prepared>>::iterator> cache;
    std::size_t next_statement_id = 0;
    // Forgotten for a stale plan (is_stale_plan): DEALLOCATEd ahead of the next request.
    std::vector<std::shared_ptr<prepared>> stale;
};

// A statement the pool runs on a shared connection, outside any transaction: a stale
// cached plan is run again once (connection.cpp).
asio::awaitable<result> execute_autocommit(connection& c, statement s);

void count_stray_cancel_rerun() noexcept;      // cancel.cpp: cancel_stats::rerun
error error_from_result(const PGresult* r);     // server_error.cpp
std::string trimmed(const char* message);        // server_error.cpp: without the trailing newline
bool cacheable(std::string_view sql);            // statement_cache.cpp: worth a named prepared statement?

}  // namespace pgcoro::detail
