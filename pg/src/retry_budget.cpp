#include "pgcoro/retry_budget.hpp"

#include <algorithm>
#include <stdexcept>

namespace pgcoro {

retry_budget::retry_budget(double ratio, double min_per_second, double max_balance)
    : ratio_(ratio), min_per_second_(min_per_second), max_balance_(max_balance), balance_(std::min(max_balance, min_per_second)) {
    if (!(ratio >= 0) || !(min_per_second >= 0) || !(max_balance >= 1))
        throw std::invalid_argument("pgcoro::retry_budget: ratio and min_per_second must be >= 0, max_balance >= 1");
}

void retry_budget::refill(clock::time_point now) {
    const double seconds = std::chrono::duration<double>(now - refilled_).count();
    refilled_ = now;
    balance_ = std::min(max_balance_, balance_ + seconds * min_per_second_);
}

void retry_budget::deposit() {
    std::lock_guard lock(mutex_);
    ++deposits_;
    balance_ = std::min(max_balance_, balance_ + ratio_);
}

bool retry_budget::try_spend() {
    std::lock_guard lock(mutex_);
    refill(clock::now());
    if (balance_ < 1) {
        ++denied_;
        return false;
    }
    balance_ -= 1;
    ++spent_;
    return true;
}

retry_budget_stats retry_budget::stats() const {
    std::lock_guard lock(mutex_);
    return {deposits_, spent_, denied_, balance_};
}

}  // namespace pgcoro
