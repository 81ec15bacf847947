// domain/auth/caller.hpp — who is asking, as every handler sees it, and the access rule
// a route is registered with (domain/auth/access.hpp).
#pragma once

#include <optional>

#include <pgcoro/types.hpp>

namespace domain {

// A route's rule, checked before its handler runs. Deny by default: a route states one.
enum class access {
    anyone,         // no token needed (sign-up, log-in, /health)
    user,           // any signed-in caller; the handler scopes what it touches to the caller
    operator_only,  // signed-in operators; a user gets 403 FORBIDDEN
};

struct caller {
    // The signed-in user; nullopt with AUTH=off, or on a public route without a token.
    std::optional<pgcoro::uuid> user_id;
    // An operator may act for anyone. With AUTH=off everyone may (the open API).
    bool is_operator = false;
    bool authenticated = false;  // a token was checked

    // The owner a statement must match (`AND ($n::uuid IS NULL OR owner_id = $n)`):
    // nullopt when the caller may act for anyone. Ownership is a predicate of the
    // statement, so "not yours" and "not there" are the same empty result. A caller who
    // is no one (a public route's) owns nothing: the nil UUID, which no row has.
    std::optional<pgcoro::uuid> scope() const {
        if (is_operator) return std::nullopt;
        return user_id.value_or(pgcoro::uuid{});
    }
    // Whether the caller may act as or for user `id` (the user resources).
    bool may_act_for(const pgcoro::uuid& id) const { return is_operator || (user_id && *user_id == id); }

    // AUTH=off: the open API, where anyone may do anything.
    static caller open() { return {std::nullopt, true, false}; }
};

}  // namespace domain
