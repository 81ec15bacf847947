// app/operators.hpp — making operators from outside the HTTP API: at start
// (BOOTSTRAP_OPERATOR_EMAIL/_PASSWORD) and by `pgcoro-server operator EMAIL`.
#pragma once

#include "app/config.hpp"

namespace app {

// BOOTSTRAP_OPERATOR_*, when set: creates or promotes that operator. False on failure
// (logged).
bool bootstrap_operator(const config& cfg);

// `pgcoro-server operator EMAIL`: the password is one line of standard input (never an
// argument: arguments show in `ps`). Returns the process exit code.
int operator_command(const config& cfg);

}  // namespace app
