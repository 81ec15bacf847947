// domain/auth/tokens.hpp — session tokens: made from libsodium's CSPRNG, recognised by
// shape, stored and compared only as their hash.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace domain {

struct new_token {
    std::string token;  // 256 random bits, base64url without padding (43 characters): shown once
    std::string hash;   // token_hash(token): what the database keeps
};

new_token make_token();

// SHA-256 of the token, in lower-case hex. The token is 256 random bits, not a
// password: a fast hash is right (no dictionary to slow down), and a stolen table of
// hashes gives no usable token.
std::string token_hash(std::string_view token);

// The token of an Authorization header value "Bearer <token>" (scheme case-insensitive,
// RFC 6750), when it has the shape make_token gives; nullopt for anything else, so
// garbage costs no database lookup.
std::optional<std::string_view> bearer_token(std::string_view authorization);

// Constant-time equality (libsodium's sodium_memcmp) for secrets and their hashes.
bool equal_secrets(std::string_view a, std::string_view b);

}  // namespace domain
