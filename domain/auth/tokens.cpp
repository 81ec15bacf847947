#include "domain/auth/tokens.hpp"

#include <sodium.h>

#include <array>

#include "domain/common/random.hpp"

namespace domain {

namespace {

constexpr std::size_t token_bytes = 32;
constexpr std::size_t token_chars = 43;  // base64url of 32 bytes, without padding

bool base64url_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
    return true;
}

}  // namespace

new_token make_token() {
    require_sodium();
    std::array<unsigned char, token_bytes> raw;
    randombytes_buf(raw.data(), raw.size());
    char text[sodium_base64_ENCODED_LEN(token_bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    sodium_bin2base64(text, sizeof text, raw.data(), raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw.data(), raw.size());
    new_token out;
    out.token = text;
    out.hash = token_hash(out.token);
    return out;
}

std::string token_hash(std::string_view token) {
    require_sodium();
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    return hex;
}

std::optional<std::string_view> bearer_token(std::string_view h) {
    constexpr std::string_view scheme = "bearer";
    if (h.size() <= scheme.size() || !iequals(h.substr(0, scheme.size()), scheme) || h[scheme.size()] != ' ')
        return std::nullopt;
    auto token = h.substr(scheme.size() + 1);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (token.size() != token_chars) return std::nullopt;
    for (char c : token)
        if (!base64url_char(c)) return std::nullopt;
    return token;
}

bool equal_secrets(std::string_view a, std::string_view b) {
    return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace domain
