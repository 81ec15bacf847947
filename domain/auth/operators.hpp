// domain/auth/operators.hpp — making operators. No request can make or change a role:
// only the server's start-up (BOOTSTRAP_OPERATOR_EMAIL/_PASSWORD) and the
// `pgcoro-server operator EMAIL` command, both through here. Runs at start-up or from
// the command line: it may block (password checks).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>

#include <pgcoro/connection.hpp>

namespace domain {

enum class operator_outcome {
    created,   // no live user had the email: made, as an operator, with the password
    promoted,  // the live user with the email is an operator now (their password unchanged)
    already,   // that user was an operator already
    refused,   // that user's password is not `password`, and the caller required it
};

// Makes the live user `email` an operator, creating them with `password` (hashed at
// `cost`) when there is none. With `promote_only_with_password`, an existing user is
// promoted only when `password` is theirs: BOOTSTRAP_OPERATOR_EMAIL must not promote
// whoever signed up with that email first. Safe when two processes run it at once.
boost::asio::awaitable<operator_outcome> ensure_operator(pgcoro::connection& conn, const std::string& email,
                                                         const std::string& password, const std::string& cost,
                                                         bool promote_only_with_password);

const char* to_string(operator_outcome o);

}  // namespace domain
