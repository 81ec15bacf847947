#include "net/metrics.hpp"

#include <algorithm>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <tuple>

namespace net {

namespace {

constexpr unsigned min_status = 100;
constexpr unsigned max_status = 599;
constexpr std::size_t status_slots = max_status - min_status + 1;

// Bucket bounds in nanoseconds, so recording compares integers.
constexpr auto bucket_bounds_ns = [] {
    std::array<std::int64_t, metrics::latency_buckets.size()> b{};
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::int64_t>(metrics::latency_buckets[i] * 1e9);
    return b;
}();

std::uint64_t hash_of(std::string_view method, std::string_view route) noexcept {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a: short keys, no allocation
    auto mix = [&h](std::string_view s) {
        for (unsigned char c : s) {
            h ^= c;
            h *= 1099511628211ull;
        }
    };
    mix(method);
    h ^= 0xff;  // separator: ("GE", "T/x") and ("GET", "/x") differ
    mix(route);
    return h;
}

void append_double(std::string& out, double v) {
    if (std::isinf(v)) {
        out += v > 0 ? "+Inf" : "-Inf";
        return;
    }
    if (std::isnan(v)) {
        out += "NaN";
        return;
    }
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc{} ? end : buf);
}

}  // namespace

// One method × route: requests by status and the latency histogram. Counters are
// relaxed: a scrape may see one request in the counter and not yet in the histogram,
// which Prometheus tolerates.
struct metrics::series {
    series(std::string_view m, std::string_view r, std::uint64_t h) : method(m), route(r), hash(h) {}
    const std::string method;
    const std::string route;
    const std::uint64_t hash;
    std::array<std::atomic<std::uint64_t>, status_slots> by_status{};
    std::array<std::atomic<std::uint64_t>, latency_buckets.size() + 1> buckets{};  // not cumulative; last: +Inf
    std::atomic<std::uint64_t> sum_ns{0};
};

metrics::metrics()
    : table_(new std::atomic<series*>[max_series * 2]),  // load factor <= 1/2: short probes
      other_(std::make_unique<series>("", "other", 0)) {
    for (std::size_t i = 0; i < max_series * 2; ++i) table_[i].store(nullptr, std::memory_order_relaxed);
}

metrics::~metrics() {
    for (std::size_t i = 0; i < max_series * 2; ++i) delete table_[i].load(std::memory_order_relaxed);
}

metrics::series* metrics::find_or_add(std::string_view method, std::string_view route) noexcept {
    const std::size_t mask = max_series * 2 - 1;
    auto h = hash_of(method, route);
    series* fresh = nullptr;
    for (std::size_t i = h & mask, probes = 0; probes <= mask; i = (i + 1) & mask, ++probes) {
        series* s = table_[i].load(std::memory_order_acquire);
        if (!s) {
            if (size_.load(std::memory_order_relaxed) >= max_series) break;
            if (!fresh) {
                try {
                    fresh = new series(method, route, h);
                } catch (...) {
                    return other_.get();  // out of memory: count it somewhere rather than throw
                }
            }
            if (table_[i].compare_exchange_strong(s, fresh, std::memory_order_acq_rel, std::memory_order_acquire)) {
                size_.fetch_add(1, std::memory_order_relaxed);
                return fresh;
            }
            // Another thread filled this slot first; s is now what it stored.
        }
        if (s->hash == h && s->method == method && s->route == route) {
            delete fresh;
            return s;
        }
    }
    delete fresh;
    return other_.get();
}

void metrics::record(std::string_view method, std::string_view route, unsigned status,
                     std::chrono::nanoseconds duration) noexcept {
    series* s = find_or_add(method, route);
    status = std::clamp(status, min_status, max_status);
    s->by_status[status - min_status].fetch_add(1, std::memory_order_relaxed);
    auto ns = std::max<std::int64_t>(0, duration.count());
    std::size_t b = 0;
    while (b < bucket_bounds_ns.size() && ns > bucket_bounds_ns[b]) ++b;
    s->buckets[b].fetch_add(1, std::memory_order_relaxed);
    s->sum_ns.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
}

void metrics::connection_opened() noexcept {
    open_.fetch_add(1, std::memory_order_relaxed);
    accepted_.fetch_add(1, std::memory_order_relaxed);
}
void metrics::connection_closed() noexcept { open_.fetch_sub(1, std::memory_order_relaxed); }
void metrics::request_started() noexcept { in_flight_.fetch_add(1, std::memory_order_relaxed); }
void metrics::request_finished() noexcept { in_flight_.fetch_sub(1, std::memory_order_relaxed); }
std::int64_t metrics::open_connections() const noexcept { return open_.load(std::memory_order_relaxed); }
std::int64_t metrics::requests_in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }

void metrics::add_collector(std::function<void(std::string& out)> collector) {
    std::lock_guard lock(collectors_mutex_);
    collectors_.push_back(std::move(collector));
}

std::string metrics::render() const {
    using namespace prometheus;
    std::vector<const series*> all;
    for (std::size_t i = 0; i < max_series * 2; ++i)
        if (auto* s = table_[i].load(std::memory_order_acquire)) all.push_back(s);
    std::sort(all.begin(), all.end(), [](auto* a, auto* b) { return std::tie(a->route, a->method) < std::tie(b->route, b->method); });
    all.push_back(other_.get());

    std::string out;
    out.reserve(4096 + all.size() * 2048);

    family(out, "http_requests_total", "counter", "HTTP requests answered, by method, route template and status.");
    for (auto* s : all) {
        auto series_labels = label("method", s->method) + "," + label("route", s->route);
        for (std::size_t i = 0; i < status_slots; ++i) {
            auto n = s->by_status[i].load(std::memory_order_relaxed);
            if (n == 0) continue;
            sample(out, "http_requests_total", series_labels + "," + label("status", std::to_string(min_status + i)), n);
        }
    }

    family(out, "http_request_duration_seconds", "histogram",
           "Time from the start of reading a request until its response is ready to be written.");
    for (auto* s : all) {
        // Read the buckets once: _count is then exactly the +Inf bucket, as the format wants.
        std::array<std::uint64_t, latency_buckets.size() + 1> counts{};
        std::uint64_t total = 0;
        for (std::size_t b = 0; b < counts.size(); ++b) total += counts[b] = s->buckets[b].load(std::memory_order_relaxed);
        if (total == 0) continue;
        auto series_labels = label("method", s->method) + "," + label("route", s->route);
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b < counts.size(); ++b) {
            cumulative += counts[b];
            // %g: "0.0005" rather than to_chars' "5e-04", as Prometheus clients write it.
            char le[32] = "+Inf";
            if (b < latency_buckets.size()) std::snprintf(le, sizeof le, "%g", latency_buckets[b]);
            sample(out, "http_request_duration_seconds_bucket", series_labels + "," + label("le", le), cumulative);
        }
        sample(out, "http_request_duration_seconds_sum", series_labels,
               static_cast<double>(s->sum_ns.load(std::memory_order_relaxed)) / 1e9);
        sample(out, "http_request_duration_seconds_count", series_labels, total);
    }

    family(out, "http_open_connections", "gauge", "HTTP connections open now.");
    sample(out, "http_open_connections", "", open_connections());
    family(out, "http_connections_accepted_total", "counter", "HTTP connections accepted.");
    sample(out, "http_connections_accepted_total", "", accepted_.load(std::memory_order_relaxed));
    family(out, "http_requests_in_flight", "gauge",
           "Requests read and not yet answered (a scrape counts itself).");
    sample(out, "http_requests_in_flight", "", requests_in_flight());

    std::lock_guard lock(collectors_mutex_);
    for (auto& c : collectors_) c(out);
    return out;
}

handler metrics_handler(const metrics& m) {
    return [&m](request_context&) -> boost::asio::awaitable<response> {
        response res{http::status::ok, 11};
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.body() = m.render();
        res.prepare_payload();
        co_return res;
    };
}

namespace prometheus {

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    for (char c : help) {  // HELP escapes only backslash and newline
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

namespace {
void sample_head(std::string& out, std::string_view name, std::string_view labels) {
    out += name;
    if (!labels.empty()) {
        out += '{';
        out += labels;
        out += '}';
    }
    out += ' ';
}
}  // namespace

void sample(std::string& out, std::string_view name, std::string_view labels, double value) {
    sample_head(out, name, labels);
    append_double(out, value);
    out += '\n';
}

void sample(std::string& out, std::string_view name, std::string_view labels, std::int64_t value) {
    sample_head(out, name, labels);
    out += std::to_string(value);
    out += '\n';
}

void sample(std::string& out, std::string_view name, std::string_view labels, std::uint64_t value) {
    sample_head(out, name, labels);
    out += std::to_string(value);
    out += '\n';
}

std::string label(std::string_view key, std::string_view value) {
    std::string out;
    out.reserve(key.size() + value.size() + 3);
    out += key;
    out += "=\"";
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    out += '"';
    return out;
}

}  // namespace prometheus

}  // namespace net
