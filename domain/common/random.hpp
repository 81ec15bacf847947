// domain/common/random.hpp — libsodium, initialised once, and what the domain draws from
// its CSPRNG.
#pragma once

#include <pgcoro/types.hpp>

namespace domain {

// Initialises libsodium on first call (thread-safe); throws if it cannot.
void require_sodium();

// A random version-4 UUID, for rows whose id the server must know before they exist.
pgcoro::uuid random_uuid();

}  // namespace domain
