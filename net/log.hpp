// net/log.hpp — a small leveled logger: one line per event to stderr, with "{}"
// placeholders filled in order. Level from PGCORO_LOG_LEVEL (debug, info, warn, error).
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace net::log {

enum class level { debug = 0, info, warn, error, off };

level current_level() noexcept;
void set_level(level l) noexcept;
void write(level l, std::string_view line);

namespace detail {
inline void format_into(std::ostringstream& out, std::string_view fmt) { out << fmt; }
template <typename A, typename... Rest>
void format_into(std::ostringstream& out, std::string_view fmt, const A& a, const Rest&... rest) {
    auto pos = fmt.find("{}");
    if (pos == std::string_view::npos) {
        out << fmt;
        return;
    }
    out << fmt.substr(0, pos) << a;
    format_into(out, fmt.substr(pos + 2), rest...);
}
template <typename... Args>
void emit(level l, std::string_view fmt, const Args&... args) {
    if (l < current_level()) return;
    std::ostringstream out;
    format_into(out, fmt, args...);
    write(l, out.str());
}
}  // namespace detail

template <typename... Args>
void debug(std::string_view fmt, const Args&... a) { detail::emit(level::debug, fmt, a...); }
template <typename... Args>
void info(std::string_view fmt, const Args&... a) { detail::emit(level::info, fmt, a...); }
template <typename... Args>
void warn(std::string_view fmt, const Args&... a) { detail::emit(level::warn, fmt, a...); }
template <typename... Args>
void error(std::string_view fmt, const Args&... a) { detail::emit(level::error, fmt, a...); }

}  // namespace net::log
