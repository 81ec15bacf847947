// domain/auth/operators.hpp — making operators. No request can make or change a role:
// only the server's start-up (BOOTSTRAP_OPERATOR_EMAIL/_PASSWORD) and the
// `pgcoro-server operator EMAIL` command, both through here.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include <pgcoro/connection.hpp>

namespace domain {

enum class operator_outcome { created, promoted, already };

// Creates the live user `email` as an operator with `password_hash`, or promotes the
// live user with that email (whose password stays as it is). Idempotent, and safe when
// two processes run it at once (one statement, on the live-email unique index). A
// promoted user's existing sessions keep the role they were opened with.
boost::asio::awaitable<operator_outcome> ensure_operator(pgcoro::connection& conn, const std::string& email,
                                                         const std::string& password_hash);

const char* to_string(operator_outcome o);

}  // namespace domain
