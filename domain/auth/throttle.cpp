#include "domain/auth/throttle.hpp"

namespace domain::throttle {

namespace {

constexpr int email_limit = 5;      // failures; the next attempt is refused
constexpr int address_limit = 100;  // failures; more are refused
const std::string window = "interval '15 minutes'";

const std::string sql_counts =
    "SELECT scope, failures, ceil(extract(epoch FROM window_start + " + window + " - now()))::int8"
    " FROM login_failures WHERE window_start > now() - " + window +
    " AND ((scope = 'email' AND subject = lower($1)) OR (scope = 'address' AND subject = $2))";

// One row per scope; a window that has passed starts over.
const std::string sql_failure =
    "INSERT INTO login_failures AS f (scope, subject, failures, window_start)"
    " VALUES ('email', lower($1), 1, now()), ('address', $2, 1, now())"
    " ON CONFLICT (scope, subject) DO UPDATE SET"
    " failures = CASE WHEN f.window_start <= now() - " + window + " THEN 1 ELSE f.failures + 1 END,"
    " window_start = CASE WHEN f.window_start <= now() - " + window + " THEN now() ELSE f.window_start END";

const std::string sql_success = "DELETE FROM login_failures WHERE scope = 'email' AND subject = lower($1)";

}  // namespace

void add_check(pgcoro::batch& b, const std::string& email, const std::string& address) {
    b.add(sql_counts, email, address);
}

std::optional<long long> wait_for(const pgcoro::result& counts) {
    std::optional<long long> wait;
    for (int i = 0; i < counts.size(); ++i) {
        auto row = counts[i];
        auto scope = row.get<std::string>(0);
        auto failures = row.get<std::int32_t>(1);
        bool over = scope == "email" ? failures >= email_limit : failures > address_limit;
        if (over) wait = std::max(wait.value_or(1), std::max<long long>(1, row.get<std::int64_t>(2)));
    }
    return wait;
}

void add_failure(pgcoro::batch& b, const std::string& email, const std::string& address) {
    b.add(sql_failure, email, address);
}

void add_success(pgcoro::batch& b, const std::string& email) { b.add(sql_success, email); }

}  // namespace domain::throttle
