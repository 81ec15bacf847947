// pgcoro/retry_budget.hpp — a cap on retries shared by every transaction that uses it
// (one per process, or per database), so that a storm of conflicts cannot multiply the
// load on the database by max_attempts.
//
// A token bucket, as Finagle's and gRPC's retry budgets: every transaction's first
// attempt deposits `ratio` of a token, every retry withdraws a whole one. Retries then stay
// within `ratio` of the transactions started (plus `min_per_second`, so that a quiet
// program can still retry the odd conflict), and the bucket holds at most `max_balance`.
// When it is empty a transaction that would retry fails fast instead, with
// errc::retry_budget_exhausted and the conflict's diagnostics.
//
//   auto budget = std::make_shared<pgcoro::retry_budget>(0.2);  // retries <= 20% of transactions
//   pgcoro::transaction_options o;
//   o.budget = budget;                                         // share it between pools
//
// Thread-safe: pools on different threads may share one.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace pgcoro {

struct retry_budget_stats {
    std::uint64_t deposits = 0;  // first attempts seen
    std::uint64_t spent = 0;     // retries allowed
    std::uint64_t denied = 0;    // retries refused: the transaction failed fast
    double balance = 0;          // tokens in the bucket now
};

class retry_budget {
public:
    // ratio: retries allowed per transaction started, e.g. 0.2. min_per_second: retries
    // allowed each second whatever the traffic. max_balance: the bucket's size.
    explicit retry_budget(double ratio = 0.2, double min_per_second = 10, double max_balance = 100);

    void deposit();    // a transaction's first attempt
    bool try_spend();  // a retry: true when allowed (a token is taken)
    retry_budget_stats stats() const;

private:
    using clock = std::chrono::steady_clock;
    void refill(clock::time_point now);  // min_per_second's share since the last call

    const double ratio_, min_per_second_, max_balance_;
    mutable std::mutex mutex_;
    double balance_;
    clock::time_point refilled_ = clock::now();
    std::uint64_t deposits_ = 0, spent_ = 0, denied_ = 0;
};

}  // namespace pgcoro
