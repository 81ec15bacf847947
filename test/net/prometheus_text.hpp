// test/net/prometheus_text.hpp — a strict parser of the Prometheus text exposition format
// (0.0.4), enough to check that GET /metrics is well formed and to read values from it.
// It throws std::runtime_error naming the line on anything a Prometheus server would
// reject, and on the structural rules the format sets: one TYPE per family, given before
// its samples; histogram buckets cumulative, with +Inf equal to _count.
#pragma once

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/raw_socket.hpp"

namespace prom {

struct sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

struct exposition {
    std::map<std::string, std::string> types;  // family -> counter, gauge, histogram, ...
    std::vector<sample> samples;

    // The samples of `name` whose labels include all of `match`.
    std::vector<const sample*> find(std::string_view name, const std::map<std::string, std::string>& match = {}) const {
        std::vector<const sample*> out;
        for (auto& s : samples) {
            if (s.name != name) continue;
            bool ok = std::all_of(match.begin(), match.end(), [&](auto& kv) {
                auto it = s.labels.find(kv.first);
                return it != s.labels.end() && it->second == kv.second;
            });
            if (ok) out.push_back(&s);
        }
        return out;
    }
    // The sum of those samples' values (0 when none).
    double sum(std::string_view name, const std::map<std::string, std::string>& match = {}) const {
        double total = 0;
        for (auto* s : find(name, match)) total += s->value;
        return total;
    }
    // The single sample's value; throws unless exactly one matches.
    double value(std::string_view name, const std::map<std::string, std::string>& match = {}) const {
        auto f = find(name, match);
        if (f.size() != 1)
            throw std::runtime_error(std::string(name) + ": " + std::to_string(f.size()) + " samples match, expected 1");
        return f.front()->value;
    }
};

namespace detail {

inline bool name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':'; }
inline bool name_char(char c) { return name_start(c) || std::isdigit(static_cast<unsigned char>(c)); }

inline std::string metric_name(std::string_view& s) {
    if (s.empty() || !name_start(s[0])) throw std::runtime_error("expected a metric name");
    std::size_t i = 1;
    while (i < s.size() && name_char(s[i])) ++i;
    std::string n(s.substr(0, i));
    s.remove_prefix(i);
    return n;
}

inline double number(std::string_view t) {
    if (t == "+Inf" || t == "Inf") return std::numeric_limits<double>::infinity();
    if (t == "-Inf") return -std::numeric_limits<double>::infinity();
    if (t == "NaN") return std::numeric_limits<double>::quiet_NaN();
    std::string text(t);
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || text.find_first_of("xXpP") != std::string::npos)
        throw std::runtime_error("bad number '" + text + "'");
    return v;
}

// The family a sample belongs to, given the declared types.
inline std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
    if (types.count(name)) return name;
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
            auto base = name.substr(0, name.size() - suffix.size());
            auto it = types.find(base);
            if (it != types.end() && (it->second == "histogram" || it->second == "summary")) return base;
        }
    }
    return {};
}

}  // namespace detail

inline exposition parse(std::string_view text) {
    exposition out;
    std::set<std::string> families_with_samples;
    std::set<std::string> seen_series;
    std::size_t line_no = 0;
    while (!text.empty()) {
        auto nl = text.find('\n');
        if (nl == std::string_view::npos) throw std::runtime_error("the last line has no newline");
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl + 1);
        ++line_no;
        auto fail = [&](const std::string& why) {
            throw std::runtime_error("line " + std::to_string(line_no) + " '" + std::string(line) + "': " + why);
        };
        try {
            if (line.empty()) continue;
            if (line[0] == '#') {
                std::string_view rest = line.substr(1);
                if (rest.substr(0, 6) == " HELP " || rest.substr(0, 6) == " TYPE ") {
                    bool is_type = rest[1] == 'T';
                    rest.remove_prefix(6);
                    auto name = detail::metric_name(rest);
                    if (rest.empty() || rest[0] != ' ') fail("expected a space after the name");
                    rest.remove_prefix(1);
                    if (is_type) {
                        static const std::set<std::string_view> types{"counter", "gauge", "histogram", "summary",
                                                                       "untyped"};
                        if (!types.count(rest)) fail("unknown type");
                        if (out.types.count(name)) fail("second TYPE for " + name);
                        if (families_with_samples.count(name)) fail("TYPE after samples of " + name);
                        out.types[name] = std::string(rest);
                    }
                }
                continue;  // other comments are allowed
            }
            sample s;
            std::string_view rest = line;
            s.name = detail::metric_name(rest);
            if (!rest.empty() && rest[0] == '{') {
                rest.remove_prefix(1);
                while (!rest.empty() && rest[0] != '}') {
                    std::size_t i = 0;
                    while (i < rest.size() && detail::name_char(rest[i]) && rest[i] != ':') ++i;
                    if (i == 0) fail("expected a label name");
                    std::string key(rest.substr(0, i));
                    rest.remove_prefix(i);
                    if (rest.substr(0, 2) != "=\"") fail("expected =\" after label " + key);
                    rest.remove_prefix(2);
                    std::string value;
                    for (;;) {
                        if (rest.empty()) fail("unterminated label value");
                        char c = rest[0];
                        rest.remove_prefix(1);
                        if (c == '"') break;
                        if (c == '\\') {
                            if (rest.empty()) fail("dangling backslash");
                            char e = rest[0];
                            rest.remove_prefix(1);
                            if (e == 'n') value += '\n';
                            else if (e == '\\' || e == '"') value += e;
                            else fail("bad escape");
                        } else value += c;
                    }
                    if (!s.labels.emplace(key, value).second) fail("label " + key + " twice");
                    if (!rest.empty() && rest[0] == ',') rest.remove_prefix(1);
                }
                if (rest.empty()) fail("unterminated label set");
                rest.remove_prefix(1);
            }
            if (rest.empty() || rest[0] != ' ') fail("expected a space before the value");
            rest.remove_prefix(1);
            auto sp = rest.find(' ');
            s.value = detail::number(rest.substr(0, sp));
            if (sp != std::string_view::npos) detail::number(rest.substr(sp + 1));  // an optional timestamp
            auto family = detail::family_of(s.name, out.types);
            if (family.empty()) fail("sample without a TYPE line before it");
            families_with_samples.insert(family);
            std::string key = s.name;
            for (auto& [k, v] : s.labels) key += "\x1f" + k + "=" + v;
            if (!seen_series.insert(key).second) fail("duplicate series");
            out.samples.push_back(std::move(s));
        } catch (const std::runtime_error& e) {
            if (std::string_view(e.what()).substr(0, 5) == "line ") throw;
            fail(e.what());
        }
    }

    // Histograms: per label set (without le), buckets non-decreasing, +Inf == _count.
    for (auto& [family, type] : out.types) {
        if (type != "histogram") continue;
        std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>> buckets;
        for (auto& s : out.samples) {
            if (s.name != family + "_bucket") continue;
            auto labels = s.labels;
            auto le = labels.find("le");
            if (le == labels.end()) throw std::runtime_error(family + ": a bucket without le");
            double bound = detail::number(le->second);
            labels.erase(le);
            buckets[labels].emplace_back(bound, s.value);
        }
        for (auto& [labels, list] : buckets) {
            std::sort(list.begin(), list.end());
            for (std::size_t i = 1; i < list.size(); ++i)
                if (list[i].second < list[i - 1].second) throw std::runtime_error(family + ": buckets not cumulative");
            if (list.empty() || !std::isinf(list.back().first)) throw std::runtime_error(family + ": no +Inf bucket");
            double count = -1;
            for (auto& s : out.samples)
                if (s.name == family + "_count" && s.labels == labels) count = s.value;
            if (count != list.back().second) throw std::runtime_error(family + ": +Inf bucket differs from _count");
        }
    }
    return out;
}

// GET /metrics on a fresh connection, parsed.
inline exposition scrape(unsigned short port) {
    test_support::raw_socket s(port);
    s.send(test_support::http_get("/metrics", "Connection: close\r\n"));
    auto res = s.read_response();
    if (res.result_int() != 200) throw std::runtime_error("GET /metrics: " + std::to_string(res.result_int()));
    return parse(res.body());
}

// Polls GET /metrics until the unlabelled sample `name` reads `expected` (a scrape counts
// itself in the connection and in-flight gauges); false at the deadline.
inline bool wait_for(unsigned short port, std::string_view name, double expected, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        double v = scrape(port).value(name);
        if (v == expected) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling interval, bounded by the deadline
    }
}

}  // namespace prom
