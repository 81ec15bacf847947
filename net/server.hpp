// net/server.hpp — the HTTP/1.1 server: one event loop (io_context) per worker thread,
// each with its own listening socket on the same port (SO_REUSEPORT), so a request is
// read, handled and answered on one thread. HTTP-pipelined requests are answered in
// order; a run of safe ones (GET, HEAD, OPTIONS) buffered together is handled
// concurrently, any other request only after the ones before it.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "net/router.hpp"

namespace net {

struct server_options {
    std::string address = "0.0.0.0";
    unsigned short port = 8080;           // 0: any free port (see server::port())
    std::size_t workers = 0;              // 0: one per core
    std::size_t header_limit = 16 * 1024; // bytes; over it: 431
    std::size_t body_limit = 1024 * 1024; // bytes; over it: 413
    // The time limits below are enforced by one sweep per worker rather than a timer per
    // operation: each is met late by at most a quarter of the shortest one (and 1 s).
    std::chrono::milliseconds header_timeout = std::chrono::seconds(10);  // from the first byte
    std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);    // keep-alive, between requests
    std::chrono::milliseconds request_deadline = std::chrono::seconds(30);
    std::chrono::milliseconds shutdown_grace = std::chrono::seconds(10);
    std::size_t max_connections = 20000;  // per server; accepting pauses beyond it
    // One info line per request (method, path, status, duration, request id). Off by
    // default: a write(2) per request costs throughput. When off, the same line is
    // logged at debug level.
    bool access_log = false;
    // Linux: run the event-loop threads under SCHED_BATCH. A worker woken by a socket
    // then waits for the running thread's time slice instead of preempting it, and finds
    // more requests and results ready per turn: fewer context switches under load when
    // the server shares its cores (with the database, a load generator). Costs latency
    // only when the cores are busy anyway.
    bool batch_scheduling = false;
};

class metrics;

class server {
public:
    // Records into a registry of its own (server_metrics()).
    server(server_options options, const router& routes);
    // Records into `registry`, which must outlive the server (so GET /metrics, registered
    // on the router before the server exists, can render it).
    server(server_options options, const router& routes, metrics& registry);
    ~server();

    // Called on each worker's thread before it serves, and after it stops serving
    // (to open and close per-worker resources such as a database pool shard).
    std::function<void(std::size_t worker, boost::asio::any_io_executor)> on_worker_start;
    std::function<void(std::size_t worker)> on_worker_stop;
    // Called once from run(), on its thread, when every worker has started (scheduling
    // policy applied, on_worker_start done) and is about to serve: the moment to announce
    // readiness. The listeners accept from listen() on, but a worker that has not started
    // yet is not configured yet.
    std::function<void()> on_running;

    // Binds the listeners (throws on failure). After it, port() is the bound port.
    void listen();
    // Serves until stop(); returns once every worker has finished.
    void run();
    // Graceful: stop accepting, finish in-flight requests within shutdown_grace, close
    // idle keep-alive connections. Requests still running when the grace period ends are
    // cancelled and their connections closed. Thread-safe; callable from a signal
    // handler's loop.
    void stop();

    unsigned short port() const noexcept;
    std::size_t workers() const noexcept;
    std::size_t open_connections() const noexcept;
    boost::asio::any_io_executor executor(std::size_t worker) const;
    metrics& server_metrics() noexcept;

    struct impl;

private:
    server(server_options options, const router& routes, metrics* registry);
    std::unique_ptr<impl> impl_;
};

}  // namespace net
