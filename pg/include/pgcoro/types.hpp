// pgcoro/types.hpp — the C++ types that map to PostgreSQL values, and how each one is
// written as a parameter and read from a result column.
//
// Values travel in PostgreSQL's text format: it is exact for every type supported here
// (numeric above all), portable to CockroachDB, and the connection pins the session
// settings the parsers depend on (DateStyle=ISO, TimeZone=UTC, extra_float_digits=3).
//
// Supported: bool, int16_t, int32_t, int64_t, double, std::string (any column as text),
// bytes (bytea), uuid, decimal (numeric, kept as its exact text), timestamptz,
// json (json/jsonb text), std::vector<T> (one-dimensional arrays of the above, for
// UNNEST and = ANY), and std::optional<T> for NULL.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgcoro {

using oid_t = unsigned int;

namespace oids {
inline constexpr oid_t unspecified = 0;  // let the server infer the parameter's type
inline constexpr oid_t boolean = 16, bytea = 17, name = 19, int8 = 20, int2 = 21, int4 = 23,
                       text = 25, oid = 26, json = 114, float4 = 700, float8 = 701,
                       bpchar = 1042, varchar = 1043, timestamp = 1114, timestamptz = 1184,
                       numeric = 1700, uuid = 2950, jsonb = 3802;
inline constexpr oid_t boolean_array = 1000, bytea_array = 1001, int2_array = 1005,
                       int4_array = 1007, text_array = 1009, varchar_array = 1015,
                       int8_array = 1016, float8_array = 1022, timestamptz_array = 1185,
                       numeric_array = 1231, uuid_array = 2951, jsonb_array = 3807;
}  // namespace oids

// A UUID as 16 bytes; prints in the canonical lower-case form.
struct uuid {
    std::array<unsigned char, 16> bytes{};

    static std::optional<uuid> parse(std::string_view text) noexcept;  // canonical form, any case
    std::string to_string() const;
    friend bool operator==(const uuid&, const uuid&) = default;
    friend auto operator<=>(const uuid&, const uuid&) = default;
};

// An exact decimal (PostgreSQL numeric) kept as its decimal text, never a double.
struct decimal {
    std::string text;
    friend bool operator==(const decimal&, const decimal&) = default;
};

// JSON kept as its text; parse it with the JSON library of your choice.
struct json {
    std::string text;
    friend bool operator==(const json&, const json&) = default;
};

using bytes = std::vector<std::byte>;

// timestamptz with PostgreSQL's microsecond precision, as a UTC time point.
using timestamptz = std::chrono::sys_time<std::chrono::microseconds>;

// RFC 3339 in UTC with six fraction digits: 2026-11-22T10:15:30.123456Z
std::string format_rfc3339(timestamptz t);

// How a C++ type becomes a parameter and is read from a column. Specialised below for
// the supported types; `decode` throws pgcoro::error (type_mismatch, out_of_range).
template <typename T>
struct value_traits;

#define PGCORO_DECLARE_TRAITS(T, OID, ARRAY_OID)                   \
    template <>                                                     \
    struct value_traits<T> {                                        \
        static constexpr oid_t oid = OID;                           \
        static constexpr oid_t array_oid = ARRAY_OID;               \
        static void encode(const T& v, std::string& out);           \
        static T decode(std::string_view text, oid_t column_type);  \
    };

PGCORO_DECLARE_TRAITS(bool, oids::boolean, oids::boolean_array)
PGCORO_DECLARE_TRAITS(std::int16_t, oids::int2, oids::int2_array)
PGCORO_DECLARE_TRAITS(std::int32_t, oids::int4, oids::int4_array)
PGCORO_DECLARE_TRAITS(std::int64_t, oids::int8, oids::int8_array)
PGCORO_DECLARE_TRAITS(double, oids::float8, oids::float8_array)
// Text parameters are sent untyped so the server infers the column's type (a text
// parameter then works against uuid, numeric, enum... columns alike).
PGCORO_DECLARE_TRAITS(std::string, oids::unspecified, oids::text_array)
PGCORO_DECLARE_TRAITS(bytes, oids::bytea, oids::bytea_array)
PGCORO_DECLARE_TRAITS(uuid, oids::uuid, oids::uuid_array)
PGCORO_DECLARE_TRAITS(decimal, oids::numeric, oids::numeric_array)
PGCORO_DECLARE_TRAITS(timestamptz, oids::timestamptz, oids::timestamptz_array)
PGCORO_DECLARE_TRAITS(json, oids::jsonb, oids::jsonb_array)
#undef PGCORO_DECLARE_TRAITS

// One parameter as it goes on the wire: its text (nullopt for NULL) and its type.
struct param {
    std::optional<std::string> value;
    oid_t type = oids::unspecified;
};

namespace detail {
// Array literal helpers shared by every std::vector<T>.
void append_array_element(std::string& out, const std::optional<std::string>& element);
std::vector<std::optional<std::string>> split_array(std::string_view literal);
[[noreturn]] void throw_type_mismatch(std::string_view wanted, oid_t column_type);
[[noreturn]] void throw_unexpected_null();

template <typename T>
struct is_optional : std::false_type {};
template <typename T>
struct is_optional<std::optional<T>> : std::true_type {};
}  // namespace detail

// One-dimensional arrays; elements may be std::optional for NULL elements.
template <typename T>
struct value_traits<std::vector<T>> {
    using element = T;
    using element_traits = value_traits<
        typename std::conditional_t<detail::is_optional<T>::value, T, std::optional<T>>::value_type>;
    static constexpr oid_t oid = element_traits::array_oid;

    static void encode(const std::vector<T>& v, std::string& out) {
        out += '{';
        std::string item;
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (i) out += ',';
            std::optional<std::string> e;
            if constexpr (detail::is_optional<T>::value) {
                if (v[i]) { item.clear(); element_traits::encode(*v[i], item); e = item; }
            } else {
                item.clear();
                element_traits::encode(v[i], item);
                e = item;
            }
            detail::append_array_element(out, e);
        }
        out += '}';
    }

    static std::vector<T> decode(std::string_view text, oid_t column_type) {
        if (column_type != oid && !(oid == oids::text_array && column_type == oids::varchar_array))
            detail::throw_type_mismatch("array", column_type);
        std::vector<T> out;
        for (auto& e : detail::split_array(text)) {
            if constexpr (detail::is_optional<T>::value) {
                if (!e) out.emplace_back(std::nullopt);
                else out.emplace_back(element_traits::decode(*e, element_traits::oid));
            } else {
                if (!e) detail::throw_unexpected_null();
                out.push_back(element_traits::decode(*e, element_traits::oid ? element_traits::oid
                                                                            : oids::text));
            }
        }
        return out;
    }
};

// Turns one argument into a wire parameter: std::optional and std::nullopt give NULL;
// string literals and string_views are text.
inline param to_param(std::nullopt_t) { return {}; }
inline param to_param(const char* s) { return {std::string(s), oids::unspecified}; }
inline param to_param(std::string_view s) { return {std::string(s), oids::unspecified}; }
template <typename T>
param to_param(const std::optional<T>& v);
template <typename T>
param to_param(const T& v) {
    param p;
    p.type = value_traits<T>::oid;
    std::string s;
    value_traits<T>::encode(v, s);
    p.value = std::move(s);
    return p;
}
template <typename T>
param to_param(const std::optional<T>& v) {
    if (!v) return param{std::nullopt, value_traits<T>::oid};
    return to_param(*v);
}

}  // namespace pgcoro
