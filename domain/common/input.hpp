// domain/common/input.hpp — reading and validating request input the same way in every
// handler: JSON fields (collecting every problem into API.md's `details`), path ids,
// query parameters, money.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <pgcoro/types.hpp>

#include "net/http_error.hpp"
#include "net/router.hpp"

namespace domain {

// Validates the fields of one JSON object. Each accessor returns nullopt when the field
// is absent (and records an error when it was required) or invalid (error recorded).
// check() throws 400 VALIDATION_FAILED with every recorded error in `details`.
class fields {
public:
    explicit fields(const boost::json::object& o, std::string prefix = {}) : obj_(o), prefix_(std::move(prefix)) {}

    // Text of min..max Unicode code points.
    std::optional<std::string> text(std::string_view name, bool required, std::size_t min, std::size_t max);
    std::optional<std::int64_t> integer(std::string_view name, bool required, std::int64_t min, std::int64_t max);
    std::optional<bool> boolean(std::string_view name, bool required);
    std::optional<pgcoro::uuid> id(std::string_view name, bool required);
    // Money: a JSON string or number, >= 0 (> 0 when !allow_zero), at most 10 integer
    // digits and 2 decimals; returned normalised with two decimals ("12.50").
    std::optional<std::string> money(std::string_view name, bool required, bool allow_zero);
    const boost::json::value* raw(std::string_view name) const;

    void add(std::string_view field, std::string message);
    bool ok() const noexcept { return details_.empty(); }
    boost::json::array& details() noexcept { return details_; }
    void check() const;  // throws http_error 400 VALIDATION_FAILED when any error was recorded

    std::string field_name(std::string_view name) const;

private:
    const boost::json::object& obj_;
    std::string prefix_;
    boost::json::array details_;
};

// An email's shape, checked plainly: one '@', a dot in the domain, no spaces or controls.
bool plausible_email(std::string_view e);

// Shared by fields::money and anything else that reads money: nullopt when invalid.
std::optional<std::string> parse_money(std::string_view text, bool allow_zero);

// The {name} path parameter as a UUID; 400 INVALID_ID otherwise.
pgcoro::uuid path_id(const net::request_context& ctx, std::string_view name);

// ?limit= as a plain integer 1..100 (default when absent); 400 VALIDATION_FAILED otherwise.
int query_limit(const net::request_context& ctx, int fallback = 20);

// ?cursor= as a UUID, absent → nullopt; 400 VALIDATION_FAILED otherwise.
std::optional<pgcoro::uuid> query_cursor(const net::request_context& ctx);

[[noreturn]] void fail(net::http::status status, std::string code, std::string message,
                       boost::json::array details = {});

}  // namespace domain
