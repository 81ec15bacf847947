#include "domain/common/random.hpp"

#include <sodium.h>

#include <stdexcept>

namespace domain {

void require_sodium() {
    static const bool ready = sodium_init() >= 0;
    if (!ready) throw std::runtime_error("libsodium failed to initialise");
}

pgcoro::uuid random_uuid() {
    require_sodium();
    pgcoro::uuid id;
    randombytes_buf(id.bytes.data(), id.bytes.size());
    id.bytes[6] = static_cast<unsigned char>((id.bytes[6] & 0x0f) | 0x40);  // version 4
    id.bytes[8] = static_cast<unsigned char>((id.bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
    return id;
}

}  // namespace domain
