// domain/users/password.hpp — Argon2id password hashing (libsodium), run on the
// blocking thread pool and resumed on the caller's event loop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "domain/common/services.hpp"

namespace domain {

boost::asio::awaitable<std::string> hash_password(services& svc, std::string password);

}  // namespace domain
