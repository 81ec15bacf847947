#include "domain/auth/operators.hpp"

namespace domain {

namespace {

const std::string sql_ensure_operator =
    "INSERT INTO users (email, username, password_hash, role) VALUES ($1, 'operator', $2, 'operator')"
    " ON CONFLICT (lower(email)) WHERE deleted_at IS NULL"
    " DO UPDATE SET role = 'operator', updated_at = now() WHERE users.role <> 'operator'"
    " RETURNING (xmax = 0)";  // true: inserted; false: updated

}  // namespace

boost::asio::awaitable<operator_outcome> ensure_operator(pgcoro::connection& conn, const std::string& email,
                                                         const std::string& password_hash) {
    auto r = co_await conn.query(sql_ensure_operator, email, password_hash);
    if (r.empty()) co_return operator_outcome::already;
    co_return r.front().get<bool>(0) ? operator_outcome::created : operator_outcome::promoted;
}

const char* to_string(operator_outcome o) {
    switch (o) {
    case operator_outcome::created: return "created";
    case operator_outcome::promoted: return "promoted";
    case operator_outcome::already: return "already an operator";
    }
    return "?";
}

}  // namespace domain
