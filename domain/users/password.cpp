#include "domain/users/password.hpp"

#include <sodium.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

#include "domain/common/random.hpp"

namespace domain {

namespace {

std::string hash_now(const std::string& password, const std::string& cost) {
    require_sodium();
    unsigned long long ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    std::size_t mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    if (cost == "min") {
        ops = crypto_pwhash_OPSLIMIT_MIN;
        mem = crypto_pwhash_MEMLIMIT_MIN;
    } else if (cost == "moderate") {
        ops = crypto_pwhash_OPSLIMIT_MODERATE;
        mem = crypto_pwhash_MEMLIMIT_MODERATE;
    }
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(out, password.data(), password.size(), ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0)
        throw std::runtime_error("password hashing ran out of memory");
    return out;
}

}  // namespace

boost::asio::awaitable<std::string> hash_password(services& svc, std::string password) {
    auto cost = svc.password_cost;
    auto op = boost::asio::co_spawn(
        svc.blocking,
        [password = std::move(password), cost]() -> boost::asio::awaitable<std::string> {
            co_return hash_now(password, cost);
        },
        boost::asio::use_awaitable);
    co_return co_await std::move(op);
}

}  // namespace domain
