// domain/users/password.hpp — Argon2id password hashing and verification (libsodium),
// run on the blocking thread pool and resumed on the caller's event loop.
//
// Hashing is deliberately slow (tens of milliseconds and 64 MiB at the interactive
// cost), so a flood of sign-ups or log-ins could queue work for minutes: at most
// services::auth.hash_queue jobs wait or run at once; past that these throw 503
// OVERLOADED (with Retry-After) at once.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "domain/common/services.hpp"

namespace domain {

boost::asio::awaitable<std::string> hash_password(services& svc, std::string password);

// Whether `password` matches `hash` (an Argon2id string as hash_password makes). Costs
// the same whatever the answer, and the same for services::auth.dummy_hash, which log-in
// verifies against when the email is unknown.
boost::asio::awaitable<bool> verify_password(services& svc, std::string password, std::string hash);

// Synchronous, for start-up and command-line use only (never on an event loop).
std::string hash_password_now(const std::string& password, const std::string& cost);
bool verify_password_now(const std::string& password, const std::string& hash);

}  // namespace domain
