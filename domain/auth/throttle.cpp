#include "domain/auth/throttle.hpp"

#include "domain/auth/client_address.hpp"
#include "domain/common/services.hpp"
#include "net/http_error.hpp"

namespace domain::throttle {

namespace {

constexpr int email_limit = 5;      // failures; the next attempt is refused
constexpr int address_limit = 100;  // failures; more are refused
const std::string window = "interval '15 minutes'";

// One row per scope, each with the failures before this attempt and the seconds left in
// its window; a window that has passed starts over.
const std::string sql_attempt =
    "INSERT INTO login_failures AS f (scope, subject, failures, window_start)"
    " VALUES ('email', lower($1), 1, now()), ('address', $2, 1, now())"
    " ON CONFLICT (scope, subject) DO UPDATE SET"
    " failures = CASE WHEN f.window_start <= now() - " + window + " THEN 1 ELSE f.failures + 1 END,"
    " window_start = CASE WHEN f.window_start <= now() - " + window + " THEN now() ELSE f.window_start END"
    " RETURNING scope, failures - 1, ceil(extract(epoch FROM window_start + " + window + " - now()))::int8";

const std::string sql_clear_email = "DELETE FROM login_failures WHERE scope = 'email' AND subject = lower($1)";
const std::string sql_uncount_address =
    "UPDATE login_failures SET failures = failures - 1 WHERE scope = 'address' AND subject = $1 AND failures > 0";

}  // namespace

void add_attempt(pgcoro::batch& b, const std::string& email, const std::string& address) {
    b.add(sql_attempt, email, address);
}

std::optional<long long> refused_for(const pgcoro::result& counts) {
    std::optional<long long> wait;
    for (int i = 0; i < counts.size(); ++i) {
        auto row = counts[i];
        auto scope = row.get<std::string>(0);
        auto before = row.get<std::int32_t>(1);  // failures before this attempt
        bool over = scope == "email" ? before >= email_limit : before > address_limit;
        if (over) wait = std::max(wait.value_or(1), std::max<long long>(1, row.get<std::int64_t>(2)));
    }
    return wait;
}

void check(const pgcoro::result& counts) {
    auto wait = refused_for(counts);
    if (!wait) return;
    net::http_error e(net::http::status::too_many_requests, "TOO_MANY_ATTEMPTS", "too many failed log-ins; retry later");
    e.headers.emplace_back("Retry-After", std::to_string(*wait));
    throw e;
}

void add_success(pgcoro::batch& b, const std::string& email, const std::string& address) {
    b.add(sql_clear_email, email);
    b.add(sql_uncount_address, address);
}

std::string client_address(const services& svc, const net::request_context& ctx) {
    auto peer = ctx.peer_address();
    if (!svc.auth.proxies) return peer;
    // Every X-Forwarded-For line, in order: a proxy may add a line of its own rather than
    // extend the client's.
    std::string forwarded;
    for (auto [it, end] = ctx.req.equal_range("X-Forwarded-For"); it != end; ++it) {
        if (!forwarded.empty()) forwarded += ',';
        forwarded += std::string_view(it->value());
    }
    return svc.auth.proxies->client(peer, forwarded);
}

}  // namespace domain::throttle
