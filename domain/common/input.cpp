#include "domain/common/input.hpp"

#include <boost/json/value.hpp>
#include <charconv>

namespace domain {

using net::http::status;

namespace {

std::size_t code_points(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80) ++n;
    return n;
}

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + len > s.size()) return false;
        for (std::size_t k = 1; k < len; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += len;
    }
    return true;
}

}  // namespace

void fail(status st, std::string code, std::string message, boost::json::array details) {
    throw net::http_error(st, std::move(code), std::move(message), std::move(details));
}

std::string fields::field_name(std::string_view name) const { return prefix_ + std::string(name); }

void fields::add(std::string_view field, std::string message) {
    details_.push_back(boost::json::object{{"field", field_name(field)}, {"message", std::move(message)}});
}

void fields::check() const {
    if (!details_.empty()) fail(status::bad_request, "VALIDATION_FAILED", "the request is not valid", details_);
}

const boost::json::value* fields::raw(std::string_view name) const {
    auto it = obj_.find(name);
    return it == obj_.end() ? nullptr : &it->value();
}

std::optional<std::string> fields::text(std::string_view name, bool required, std::size_t min, std::size_t max) {
    auto* v = raw(name);
    if (!v || v->is_null()) {
        if (required) add(name, "is required");
        return std::nullopt;
    }
    if (!v->is_string()) {
        add(name, "must be a string");
        return std::nullopt;
    }
    std::string_view s = v->as_string();
    if (!valid_utf8(s) || s.find('\0') != std::string_view::npos) {
        add(name, "must be valid UTF-8 text");
        return std::nullopt;
    }
    auto n = code_points(s);
    if (n < min || n > max) {
        add(name, "must be " + std::to_string(min) + " to " + std::to_string(max) + " characters");
        return std::nullopt;
    }
    return std::string(s);
}

std::optional<std::int64_t> fields::integer(std::string_view name, bool required, std::int64_t min, std::int64_t max) {
    auto* v = raw(name);
    if (!v || v->is_null()) {
        if (required) add(name, "is required");
        return std::nullopt;
    }
    std::int64_t n = 0;
    if (v->is_int64()) n = v->as_int64();
    else if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(max)) n = static_cast<std::int64_t>(v->as_uint64());
    else {
        add(name, "must be an integer");
        return std::nullopt;
    }
    if (n < min || n > max) {
        add(name, "must be from " + std::to_string(min) + " to " + std::to_string(max));
        return std::nullopt;
    }
    return n;
}

std::optional<bool> fields::boolean(std::string_view name, bool required) {
    auto* v = raw(name);
    if (!v || v->is_null()) {
        if (required) add(name, "is required");
        return std::nullopt;
    }
    if (!v->is_bool()) {
        add(name, "must be true or false");
        return std::nullopt;
    }
    return v->as_bool();
}

std::optional<pgcoro::uuid> fields::id(std::string_view name, bool required) {
    auto* v = raw(name);
    if (!v || v->is_null()) {
        if (required) add(name, "is required");
        return std::nullopt;
    }
    std::optional<pgcoro::uuid> u;
    if (v->is_string()) u = pgcoro::uuid::parse(v->as_string());
    if (!u) add(name, "must be a UUID");
    return u;
}

std::optional<std::string> fields::money(std::string_view name, bool required, bool allow_zero) {
    auto* v = raw(name);
    if (!v || v->is_null()) {
        if (required) add(name, "is required");
        return std::nullopt;
    }
    std::string text;
    if (v->is_string()) text = std::string(v->as_string());  // a JSON string, or a number with a fraction
    else if (v->is_int64()) text = std::to_string(v->as_int64());
    else if (v->is_uint64()) text = std::to_string(v->as_uint64());
    else {
        add(name, "must be a decimal amount");
        return std::nullopt;
    }
    auto m = parse_money(text, allow_zero);
    if (!m) add(name, allow_zero ? "must be an amount >= 0 with at most 2 decimals and 10 integer digits"
                                 : "must be an amount > 0 with at most 2 decimals and 10 integer digits");
    return m;
}

// Exact decimal parsing: digits, an optional fraction, an optional exponent (a JSON
// number such as 1.5e1). No floating point.
std::optional<std::string> parse_money(std::string_view s, bool allow_zero) {
    if (s.empty() || s.size() > 64) return std::nullopt;
    std::size_t i = 0;
    if (s[0] == '-' || s[0] == '+') return std::nullopt;  // negative (or explicit sign): refused
    std::string digits;
    int point = -1;
    for (; i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.'); ++i) {
        if (s[i] == '.') {
            if (point >= 0) return std::nullopt;
            point = static_cast<int>(digits.size());
        } else {
            digits += s[i];
        }
    }
    if (digits.empty()) return std::nullopt;
    if (point == 0 && i > 0 && s[0] == '.') return std::nullopt;  // ".5"
    if (point >= 0 && point == static_cast<int>(digits.size())) return std::nullopt;  // "5."
    int int_digits = point < 0 ? static_cast<int>(digits.size()) : point;
    if (i < s.size()) {
        if (s[i] != 'e' && s[i] != 'E') return std::nullopt;
        ++i;
        int exp = 0;
        auto [p, ec] = std::from_chars(s.data() + i + (i < s.size() && s[i] == '+'), s.data() + s.size(), exp);
        if (ec != std::errc{} || p != s.data() + s.size() || exp > 20 || exp < -20) return std::nullopt;
        int_digits += exp;
    }
    // digits with the decimal point after int_digits of them.
    std::string int_part, frac_part;
    if (int_digits <= 0) {
        int_part = "0";
        frac_part = std::string(static_cast<std::size_t>(-int_digits), '0') + digits;
    } else if (int_digits >= static_cast<int>(digits.size())) {
        int_part = digits + std::string(static_cast<std::size_t>(int_digits) - digits.size(), '0');
    } else {
        int_part = digits.substr(0, static_cast<std::size_t>(int_digits));
        frac_part = digits.substr(static_cast<std::size_t>(int_digits));
    }
    while (!frac_part.empty() && frac_part.back() == '0') frac_part.pop_back();
    auto nz = int_part.find_first_not_of('0');
    int_part = nz == std::string::npos ? "0" : int_part.substr(nz);
    if (frac_part.size() > 2 || int_part.size() > 10) return std::nullopt;
    frac_part.resize(2, '0');
    if (!allow_zero && int_part == "0" && frac_part == "00") return std::nullopt;
    return int_part + "." + frac_part;
}

pgcoro::uuid path_id(const net::request_context& ctx, std::string_view name) {
    auto u = pgcoro::uuid::parse(ctx.param(name));
    if (!u) fail(status::bad_request, "INVALID_ID", "the id in the path is not a UUID");
    return *u;
}

int query_limit(const net::request_context& ctx, int fallback) {
    auto v = ctx.query_param("limit");
    if (!v) return fallback;
    int n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (v->empty() || ec != std::errc{} || p != v->data() + v->size() || n < 1 || n > 100 || (*v)[0] == '+')
        fail(status::bad_request, "VALIDATION_FAILED", "limit must be a whole number from 1 to 100",
             {boost::json::object{{"field", "limit"}, {"message", "must be a whole number from 1 to 100"}}});
    return n;
}

std::optional<pgcoro::uuid> query_cursor(const net::request_context& ctx) {
    auto v = ctx.query_param("cursor");
    if (!v) return std::nullopt;
    auto u = pgcoro::uuid::parse(*v);
    if (!u)
        fail(status::bad_request, "VALIDATION_FAILED", "cursor is not valid",
             {boost::json::object{{"field", "cursor"}, {"message", "is not a cursor returned by this API"}}});
    return u;
}

bool plausible_email(std::string_view e) {
    auto at = e.find('@');
    if (at == std::string_view::npos || at == 0 || e.find('@', at + 1) != std::string_view::npos) return false;
    auto domain = e.substr(at + 1);
    auto dot = domain.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 >= domain.size()) return false;
    for (unsigned char c : e)
        if (c <= ' ' || c == 0x7f) return false;
    return domain.find("..") == std::string_view::npos;
}

}  // namespace domain
