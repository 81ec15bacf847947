#include "domain/auth/operators.hpp"

#include "domain/users/password.hpp"

namespace domain {

namespace {

const std::string sql_find =
    "SELECT password_hash, role FROM users WHERE lower(email) = lower($1) AND deleted_at IS NULL";
const std::string sql_promote =
    "UPDATE users SET role = 'operator', updated_at = now()"
    " WHERE lower(email) = lower($1) AND deleted_at IS NULL AND role <> 'operator'";
// Nothing when a live user took the email meanwhile (another process starting).
const std::string sql_create =
    "INSERT INTO users (email, username, password_hash, role) VALUES ($1, 'operator', $2, 'operator')"
    " ON CONFLICT (lower(email)) WHERE deleted_at IS NULL DO NOTHING RETURNING id";

}  // namespace

boost::asio::awaitable<operator_outcome> ensure_operator(pgcoro::connection& conn, const std::string& email,
                                                         const std::string& password, const std::string& cost,
                                                         bool promote_only_with_password) {
    for (;;) {
        auto found = co_await conn.query(sql_find, email);
        if (found.empty()) {
            auto made = co_await conn.query(sql_create, email, hash_password_now(password, cost));
            if (!made.empty()) co_return operator_outcome::created;
            continue;  // created by someone else meanwhile: look again
        }
        auto row = found.front();
        if (row.get<std::string>(1) == "operator") co_return operator_outcome::already;
        if (promote_only_with_password && !verify_password_now(password, row.get<std::string>(0)))
            co_return operator_outcome::refused;
        co_await conn.query(sql_promote, email);
        co_return operator_outcome::promoted;
    }
}

const char* to_string(operator_outcome o) {
    switch (o) {
    case operator_outcome::created: return "created";
    case operator_outcome::promoted: return "promoted";
    case operator_outcome::already: return "already an operator";
    case operator_outcome::refused: return "refused: a user with this email exists and the password is not theirs";
    }
    return "?";
}

}  // namespace domain
