#include "domain/users/password.hpp"

#include <sodium.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <stdexcept>

#include "domain/common/input.hpp"
#include "domain/common/random.hpp"

namespace domain {

namespace {

// Holds a place in the bounded hashing queue for as long as it lives.
class hashing_slot {
public:
    explicit hashing_slot(services& svc) : count_(svc.auth.hashing) {
        if (count_.fetch_add(1, std::memory_order_relaxed) >= svc.auth.hash_queue) {
            count_.fetch_sub(1, std::memory_order_relaxed);
            net::http_error e(net::http::status::service_unavailable, "OVERLOADED",
                              "the server is too busy to check passwords now; retry");
            e.headers.emplace_back("Retry-After", "1");
            throw e;
        }
    }
    ~hashing_slot() { count_.fetch_sub(1, std::memory_order_relaxed); }
    hashing_slot(const hashing_slot&) = delete;
    hashing_slot& operator=(const hashing_slot&) = delete;

private:
    std::atomic<int>& count_;
};

}  // namespace

std::string hash_password_now(const std::string& password, const std::string& cost) {
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

bool verify_password_now(const std::string& password, const std::string& hash) {
    require_sodium();
    // The cost comes from the hash itself: a hash made at another cost still verifies.
    return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

// Each runs its work on the blocking pool while holding a place in the queue. Written out
// twice on purpose: a coroutine template taking the work as a lambda parameter crashed
// the server with heap corruption after a few sign-ups (GCC 12, reproducible; its
// -Wmismatched-new-delete warned nearby), and this plain form did not.
boost::asio::awaitable<std::string> hash_password(services& svc, std::string password) {
    hashing_slot slot(svc);
    auto op = boost::asio::co_spawn(
        svc.blocking,
        [password = std::move(password), cost = svc.password_cost]() -> boost::asio::awaitable<std::string> {
            co_return hash_password_now(password, cost);
        },
        boost::asio::use_awaitable);
    co_return co_await std::move(op);
}

boost::asio::awaitable<bool> verify_password(services& svc, std::string password, std::string hash) {
    hashing_slot slot(svc);
    auto op = boost::asio::co_spawn(
        svc.blocking,
        [password = std::move(password), hash = std::move(hash)]() -> boost::asio::awaitable<bool> {
            co_return verify_password_now(password, hash);
        },
        boost::asio::use_awaitable);
    co_return co_await std::move(op);
}

}  // namespace domain
