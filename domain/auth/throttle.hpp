// domain/auth/throttle.hpp — log-in throttling as API.md states it, kept in PostgreSQL so
// every server process shares the counts: after 5 failed log-ins for one email within 15
// minutes, or more than 100 from one client address, further attempts are refused with
// 429 TOO_MANY_ATTEMPTS until the window passes. A successful log-in clears the email's
// count (not the address's: a caller with one valid account must not be able to reset
// the count of the address it guesses others' passwords from).
//
// A window opens at the first failure and lasts 15 minutes (a fixed window: simple, and
// an attacker gets at most twice the limit across a window's edge).
#pragma once

#include <optional>
#include <string>

#include <pgcoro/connection.hpp>

namespace domain::throttle {

// Adds the statement reading the live counts of `email` and `address` to `b`.
void add_check(pgcoro::batch& b, const std::string& email, const std::string& address);
// From that statement's rows: the seconds to wait when either count is over its limit.
std::optional<long long> wait_for(const pgcoro::result& counts);

// Adds the statements recording a failed log-in, or clearing the email's count.
void add_failure(pgcoro::batch& b, const std::string& email, const std::string& address);
void add_success(pgcoro::batch& b, const std::string& email);

}  // namespace domain::throttle
