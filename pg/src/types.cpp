#include "pgcoro/types.hpp"

#include <charconv>
#include <limits>

#include "pgcoro/error.hpp"

namespace pgcoro {

namespace detail {

void throw_type_mismatch(std::string_view wanted, oid_t column_type) {
    throw error(errc::type_mismatch, "cannot read a column of type oid " + std::to_string(column_type) +
                                         " as " + std::string(wanted));
}

void throw_unexpected_null() {
    throw error(errc::unexpected_null, "NULL read into a non-optional value");
}

void append_array_element(std::string& out, const std::optional<std::string>& element) {
    if (!element) {
        out += "NULL";
        return;
    }
    out += '"';
    for (char c : *element) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

std::vector<std::optional<std::string>> split_array(std::string_view s) {
    // Skip an optional dimension decoration such as "[0:2]=".
    if (!s.empty() && s.front() == '[') {
        auto eq = s.find('=');
        if (eq == std::string_view::npos) throw error(errc::protocol, "bad array literal");
        s.remove_prefix(eq + 1);
    }
    if (s.size() < 2 || s.front() != '{' || s.back() != '}')
        throw error(errc::protocol, "bad array literal");
    s = s.substr(1, s.size() - 2);
    std::vector<std::optional<std::string>> out;
    if (s.empty()) return out;
    std::size_t i = 0;
    while (i <= s.size()) {
        if (i < s.size() && s[i] == '{')
            throw error(errc::type_mismatch, "multi-dimensional arrays are not supported");
        if (i < s.size() && s[i] == '"') {
            std::string v;
            ++i;
            while (i < s.size() && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < s.size()) ++i;
                v += s[i++];
            }
            ++i;  // closing quote
            out.emplace_back(std::move(v));
        } else {
            auto end = s.find(',', i);
            if (end == std::string_view::npos) end = s.size();
            auto item = s.substr(i, end - i);
            if (item == "NULL") out.emplace_back(std::nullopt);
            else out.emplace_back(std::string(item));
            i = end;
        }
        if (i >= s.size()) break;
        if (s[i] != ',') throw error(errc::protocol, "bad array literal");
        ++i;
    }
    return out;
}

}  // namespace detail

namespace {

template <typename Int>
Int parse_int(std::string_view text) {
    Int v{};
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc::result_out_of_range)
        throw error(errc::out_of_range, "integer value out of range for the requested type");
    if (ec != std::errc{} || p != text.data() + text.size())
        throw error(errc::protocol, "bad integer text");
    return v;
}

template <typename Int>
void encode_int(Int v, std::string& out) {
    char buf[24];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, p);
}

bool is_integer_type(oid_t t) { return t == oids::int2 || t == oids::int4 || t == oids::int8 || t == oids::oid; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

// --- bool
void value_traits<bool>::encode(const bool& v, std::string& out) { out += v ? "t" : "f"; }
bool value_traits<bool>::decode(std::string_view text, oid_t t) {
    if (t != oids::boolean) detail::throw_type_mismatch("bool", t);
    return text == "t" || text == "true";
}

// --- integers: a narrower C++ type accepts a wider column only when the value fits.
#define PGCORO_INT_TRAITS(T, NAME)                                                     \
    void value_traits<T>::encode(const T& v, std::string& out) { encode_int(v, out); } \
    T value_traits<T>::decode(std::string_view text, oid_t t) {                        \
        if (!is_integer_type(t)) detail::throw_type_mismatch(NAME, t);                 \
        return parse_int<T>(text);                                                     \
    }
PGCORO_INT_TRAITS(std::int16_t, "int16")
PGCORO_INT_TRAITS(std::int32_t, "int32")
PGCORO_INT_TRAITS(std::int64_t, "int64")
#undef PGCORO_INT_TRAITS

// --- double
void value_traits<double>::encode(const double& v, std::string& out) {
    char buf[32];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest exact round trip
    out.append(buf, p);
}
double value_traits<double>::decode(std::string_view text, oid_t t) {
    if (t != oids::float8 && t != oids::float4 && !is_integer_type(t)) detail::throw_type_mismatch("double", t);
    if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (text == "Infinity") return std::numeric_limits<double>::infinity();
    if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
    double v{};
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || p != text.data() + text.size()) throw error(errc::protocol, "bad float text");
    return v;
}

// --- text: any column can be read as its text form.
void value_traits<std::string>::encode(const std::string& v, std::string& out) { out += v; }
std::string value_traits<std::string>::decode(std::string_view text, oid_t) { return std::string(text); }

// --- bytea, in the hex format (bytea_output = hex, the default since 9.0)
void value_traits<bytes>::encode(const bytes& v, std::string& out) {
    static constexpr char digits[] = "0123456789abcdef";
    out.reserve(out.size() + 2 + v.size() * 2);
    out += "\\x";
    for (auto b : v) {
        auto u = static_cast<unsigned char>(b);
        out += digits[u >> 4];
        out += digits[u & 15];
    }
}
bytes value_traits<bytes>::decode(std::string_view text, oid_t t) {
    if (t != oids::bytea) detail::throw_type_mismatch("bytes", t);
    if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2)
        throw error(errc::protocol, "bytea is not in hex format");
    bytes out;
    out.reserve((text.size() - 2) / 2);
    for (std::size_t i = 2; i < text.size(); i += 2) {
        int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
        if (hi < 0 || lo < 0) throw error(errc::protocol, "bad bytea hex");
        out.push_back(static_cast<std::byte>(hi * 16 + lo));
    }
    return out;
}

// --- uuid
std::optional<uuid> uuid::parse(std::string_view s) noexcept {
    if (s.size() != 36) return std::nullopt;
    uuid u;
    std::size_t j = 0;
    for (std::size_t i = 0; i < 36;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return std::nullopt;
            ++i;
            continue;
        }
        int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        u.bytes[j++] = static_cast<unsigned char>(hi * 16 + lo);
        i += 2;
    }
    return u;
}
std::string uuid::to_string() const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(36);
    for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
        s += digits[bytes[i] >> 4];
        s += digits[bytes[i] & 15];
    }
    return s;
}
void value_traits<uuid>::encode(const uuid& v, std::string& out) { out += v.to_string(); }
uuid value_traits<uuid>::decode(std::string_view text, oid_t t) {
    if (t != oids::uuid) detail::throw_type_mismatch("uuid", t);
    auto u = uuid::parse(text);
    if (!u) throw error(errc::protocol, "bad uuid text");
    return *u;
}

// --- numeric as exact text
void value_traits<decimal>::encode(const decimal& v, std::string& out) { out += v.text; }
decimal value_traits<decimal>::decode(std::string_view text, oid_t t) {
    if (t != oids::numeric && !is_integer_type(t)) detail::throw_type_mismatch("decimal", t);
    return decimal{std::string(text)};
}

// --- json / jsonb
void value_traits<json>::encode(const json& v, std::string& out) { out += v.text; }
json value_traits<json>::decode(std::string_view text, oid_t t) {
    if (t != oids::json && t != oids::jsonb) detail::throw_type_mismatch("json", t);
    return json{std::string(text)};
}

// --- timestamptz. Sent as ISO 8601 with an explicit UTC offset; read in the ISO
// DateStyle the connection pins: "2026-11-22 10:15:30.123456+00" (offset may be
// +HH, +HH:MM or +HH:MM:SS when the session's TimeZone is not UTC).
std::string format_rfc3339(timestamptz t) {
    using namespace std::chrono;
    auto dp = floor<days>(t);
    year_month_day ymd{dp};
    hh_mm_ss<microseconds> tod{t - dp};
    // Hand-formatted: this runs for every timestamp of every response.
    char buf[32] = "0000-00-00T00:00:00.000000Z";
    auto put = [&buf](int pos, long long v, int width) {
        for (int i = pos + width - 1; i >= pos; --i, v /= 10) buf[i] = static_cast<char>('0' + v % 10);
    };
    int y = static_cast<int>(ymd.year());
    if (y < 0 || y > 9999) throw error(errc::out_of_range, "year out of range for RFC 3339");
    put(0, y, 4);
    put(5, static_cast<unsigned>(ymd.month()), 2);
    put(8, static_cast<unsigned>(ymd.day()), 2);
    put(11, tod.hours().count(), 2);
    put(14, tod.minutes().count(), 2);
    put(17, tod.seconds().count(), 2);
    put(20, tod.subseconds().count(), 6);
    return std::string(buf, 27);
}
void value_traits<timestamptz>::encode(const timestamptz& v, std::string& out) { out += format_rfc3339(v); }
timestamptz value_traits<timestamptz>::decode(std::string_view s, oid_t t) {
    if (t != oids::timestamptz && t != oids::timestamp) detail::throw_type_mismatch("timestamptz", t);
    if (s == "infinity" || s == "-infinity")
        throw error(errc::out_of_range, "infinite timestamps are not supported");
    auto fail = [] { throw error(errc::protocol, "bad timestamp text"); };
    auto num = [&](std::size_t pos, std::size_t len) {
        if (pos + len > s.size()) fail();
        return parse_int<int>(s.substr(pos, len));
    };
    // yyyy-mm-dd hh:mm:ss[.ffffff][+hh[:mm[:ss]]]; years beyond 9999 and BC are refused.
    if (s.size() < 19 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':') fail();
    int y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), se = num(17, 2);
    std::size_t i = 19;
    std::int64_t micros = 0;
    if (i < s.size() && s[i] == '.') {
        ++i;
        int digits = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            if (digits < 6) micros = micros * 10 + (s[i] - '0');
            ++digits;
            ++i;
        }
        for (; digits < 6; ++digits) micros *= 10;
    }
    std::int64_t offset_seconds = 0;
    if (i < s.size()) {
        char sign = s[i];
        if (sign != '+' && sign != '-') fail();
        int oh = num(i + 1, 2), om = 0, os = 0;
        i += 3;
        if (i < s.size() && s[i] == ':') { om = num(i + 1, 2); i += 3; }
        if (i < s.size() && s[i] == ':') { os = num(i + 1, 2); i += 3; }
        if (i != s.size()) fail();
        offset_seconds = (oh * 3600 + om * 60 + os) * (sign == '-' ? -1 : 1);
    }
    std::int64_t secs = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
                        h * 3600 + mi * 60 + se - offset_seconds;
    return timestamptz{std::chrono::microseconds{secs * 1000000 + micros}};
}

}  // namespace pgcoro
