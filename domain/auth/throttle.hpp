// domain/auth/throttle.hpp — log-in throttling as API.md states it, kept in PostgreSQL so
// every server process shares the counts: after 5 failed log-ins for one email within 15
// minutes, or more than 100 from one client address, further attempts are refused with
// 429 TOO_MANY_ATTEMPTS until the window passes. A successful log-in clears the email's
// count (not the address's: a caller with one valid account must not be able to reset
// the count of the address it guesses others' passwords from).
//
// An attempt is counted before its password is checked (one upsert that answers the new
// counts), and taken back when it succeeds: parallel guesses cannot all pass a check
// made before any of them was recorded, and an attempt whose outcome is never recorded
// (the database went away) still counts. A window opens at the first failure and lasts
// 15 minutes (a fixed window: an attacker gets at most twice the limit across its edge).
// Wrong `current_password`s of a password change count against the same email.
#pragma once

#include <optional>
#include <string>

#include <pgcoro/connection.hpp>

#include "net/router.hpp"

namespace domain {
struct services;
}

namespace domain::throttle {

// Adds the statement counting an attempt for `email` and `address`; its rows tell
// refused_for() whether the attempt may go on.
void add_attempt(pgcoro::batch& b, const std::string& email, const std::string& address);
// The seconds to wait when the attempt counted in `counts` is over a limit.
std::optional<long long> refused_for(const pgcoro::result& counts);
// Throws 429 TOO_MANY_ATTEMPTS with Retry-After when refused_for() says so.
void check(const pgcoro::result& counts);

// Adds the statements taking a successful attempt back: the email's count cleared, the
// address's attempt uncounted.
void add_success(pgcoro::batch& b, const std::string& email, const std::string& address);

// The address the request comes from (domain/auth/client_address.hpp: the socket's, or
// X-Forwarded-For's from a trusted proxy).
std::string client_address(const services& svc, const net::request_context& ctx);

}  // namespace domain::throttle
