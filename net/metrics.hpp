// net/metrics.hpp — the HTTP server's metrics and GET /metrics in the Prometheus text
// exposition format (version 0.0.4).
//
// Recording is lock-free (relaxed atomics) so every worker can record every request;
// rendering happens once per scrape and may take its time. Other modules add their own
// metric families through add_collector(), so net/ never learns what a database pool is.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "net/router.hpp"

namespace net {

class metrics {
public:
    // Upper bounds of the latency histogram's buckets, in seconds (+Inf is implied).
    static constexpr std::array<double, 14> latency_buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                               0.1,    0.25,  0.5,    1,     2.5,  5,     10};
    // Series (method × route) kept apart; beyond it everything lands in route="other".
    // Routes are templates, so a real server stays far below it.
    static constexpr std::size_t max_series = 256;

    metrics();
    ~metrics();
    metrics(const metrics&) = delete;
    metrics& operator=(const metrics&) = delete;

    // One answered request. `route` is the matched template ("/users/{id}") or
    // "unmatched"; `method` must come from a bounded set (http::to_string of a verb),
    // never from raw client text. Thread-safe, wait-free once the series exists.
    void record(std::string_view method, std::string_view route, unsigned status,
                std::chrono::nanoseconds duration) noexcept;

    // Gauges the server keeps.
    void connection_opened() noexcept;
    void connection_closed() noexcept;
    void request_started() noexcept;
    void request_finished() noexcept;
    std::int64_t open_connections() const noexcept;
    std::int64_t requests_in_flight() const noexcept;

    // Appends more metric families at each scrape, after the HTTP ones (use the
    // prometheus:: helpers below). Collectors run on the scraping worker's thread, so they
    // must be thread-safe and quick. Callable at any time.
    void add_collector(std::function<void(std::string& out)> collector);

    // The whole exposition.
    std::string render() const;

private:
    struct series;
    series* find_or_add(std::string_view method, std::string_view route) noexcept;

    // An insert-only open-addressing table: a slot, once set, never changes, so readers
    // need no lock.
    std::unique_ptr<std::atomic<series*>[]> table_;
    std::atomic<std::size_t> size_{0};
    std::unique_ptr<series> other_;  // where requests go once the table is full
    std::atomic<std::int64_t> open_{0};
    std::atomic<std::uint64_t> accepted_{0};
    std::atomic<std::int64_t> in_flight_{0};
    mutable std::mutex collectors_mutex_;
    std::vector<std::function<void(std::string&)>> collectors_;
};

// A handler for GET /metrics that renders the registry (text/plain; version=0.0.4).
handler metrics_handler(const metrics& m);

// Helpers to write the text format, for collectors.
namespace prometheus {

// "# HELP name help" and "# TYPE name type" (type: counter, gauge, histogram).
void family(std::string& out, std::string_view name, std::string_view type, std::string_view help);
// "name{labels} value"; labels already formatted (label(...)), or empty.
void sample(std::string& out, std::string_view name, std::string_view labels, double value);
void sample(std::string& out, std::string_view name, std::string_view labels, std::int64_t value);
void sample(std::string& out, std::string_view name, std::string_view labels, std::uint64_t value);
template <std::integral T>
void sample(std::string& out, std::string_view name, std::string_view labels, T value) {
    if constexpr (std::is_signed_v<T>) sample(out, name, labels, static_cast<std::int64_t>(value));
    else sample(out, name, labels, static_cast<std::uint64_t>(value));
}
// key="value" with the value escaped (backslash, double quote, newline).
std::string label(std::string_view key, std::string_view value);

}  // namespace prometheus

}  // namespace net
