// domain/users — POST/GET/PATCH/DELETE /users, keyset pagination and search.
#pragma once

#include <boost/json/object.hpp>
#include <memory>
#include <pgcoro/lookup_batcher.hpp>
#include <pgcoro/result.hpp>
#include <string>

#include "domain/common/services.hpp"
#include "net/router.hpp"

namespace domain {

void register_users(net::router& r, services& svc);

// The batcher GET /users/{id} uses on `pool`'s worker (services::lookups): the live
// users among the ids asked for in one loop turn, in one statement.
std::unique_ptr<pgcoro::lookup_batcher> make_user_lookup(pgcoro::pool& pool);

// For resources nested under a user (GET /users/{id}/orders), so they show the user
// exactly as GET /users/{id} does: the SELECT of the live (not soft-deleted) user whose
// id is $1, and the JSON of one of its rows.
const std::string& sql_get_live_user();
boost::json::object user_json(const pgcoro::row& r);
// 404 USER_NOT_FOUND: for a user that is absent, deleted, or not the caller's to see.
[[noreturn]] void user_not_found();

}  // namespace domain
