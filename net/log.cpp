#include "net/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace net::log {

namespace {
level from_env() {
    const char* v = std::getenv("PGCORO_LOG_LEVEL");
    std::string_view s = v ? v : "info";
    if (s == "debug") return level::debug;
    if (s == "warn") return level::warn;
    if (s == "error") return level::error;
    if (s == "off") return level::off;
    return level::info;
}
std::atomic<level> g_level{from_env()};
}  // namespace

level current_level() noexcept { return g_level.load(std::memory_order_relaxed); }
void set_level(level l) noexcept { g_level = l; }

void write(level l, std::string_view line) {
    static constexpr const char* names[] = {"debug", "info", "warn", "error", "off"};
    auto now = std::chrono::system_clock::now();
    auto t = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char ts[32];
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    // One fprintf per line: lines from different threads never interleave.
    std::fprintf(stderr, "%s.%03dZ %s %.*s\n", ts, static_cast<int>(ms), names[static_cast<int>(l)],
                 static_cast<int>(line.size()), line.data());
}

}  // namespace net::log
