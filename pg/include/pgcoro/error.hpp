// pgcoro/error.hpp — the one error type of the library and the one place where
// SQLSTATEs are classified.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace pgcoro {

// What went wrong, coarsely. `sql` carries a server error with its SQLSTATE; every
// other kind is raised by the client side.
enum class errc {
    sql = 1,                 // the server rejected a statement (see error::sqlstate)
    connect_failed,          // could not establish a connection
    connection_lost,         // the connection broke while a statement was outstanding
    timeout,                 // a deadline passed (connect, statement, transaction)
    cancelled,               // the awaiting operation was cancelled by the caller
    pool_timeout,            // no pooled connection could be handed out in time
    pool_closed,             // the pool is shut down
    commit_outcome_unknown,  // COMMIT was sent but its result never arrived (or 40003)
    retry_exhausted,         // a retryable transaction ran out of attempts or time
    type_mismatch,           // a column was read as a type it cannot hold
    unexpected_null,         // a NULL was read into a non-optional value
    out_of_range,            // row or column index out of range, or a value too large
    protocol,                // the server answered something the client did not expect
    retry_budget_exhausted,  // a transaction would retry, but the shared retry_budget is spent
};

const std::error_category& category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

// Every diagnostic field PostgreSQL sends that a caller may want to act on.
struct diagnostics {
    std::string sqlstate;    // five characters, e.g. "23505"; empty for client-side errors
    std::string severity;
    std::string message;     // the server's primary message (never shown to HTTP clients)
    std::string detail;
    std::string hint;
    std::string constraint;
    std::string table;
    std::string column;
    std::string routine;
};

class error : public std::runtime_error {
public:
    error(errc kind, std::string what_text, diagnostics diag = {});

    errc kind() const noexcept { return kind_; }
    std::error_code code() const noexcept { return make_error_code(kind_); }
    const diagnostics& diag() const noexcept { return diag_; }
    const std::string& sqlstate() const noexcept { return diag_.sqlstate; }
    const std::string& constraint() const noexcept { return diag_.constraint; }

private:
    errc kind_;
    diagnostics diag_;
};

// The SQLSTATE classes the layers above act on. Unlisted codes are `other`.
enum class sqlstate_kind {
    other,
    unique_violation,        // 23505
    foreign_key_violation,   // 23503
    not_null_violation,      // 23502
    check_violation,         // 23514
    exclusion_violation,     // 23P01
    serialization_failure,   // 40001 (CockroachDB's "restart transaction" too)
    deadlock_detected,       // 40P01
    statement_completion_unknown,  // 40003
    query_canceled,          // 57014
    admin_shutdown,          // 57P01..57P03, the server is going away
    connection_exception,    // class 08
    invalid_text_representation,   // 22P02
    numeric_value_out_of_range,    // 22003
    feature_not_supported,   // 0A000 (a stale cached plan, among others)
    undefined_prepared_statement,  // 26000
    in_failed_transaction,   // 25P02
};

sqlstate_kind classify(std::string_view sqlstate) noexcept;

// True when running the whole transaction again may succeed: serialization failures
// and deadlocks. Never true for 40003 (the commit's outcome is unknown).
bool is_retryable(std::string_view sqlstate) noexcept;

// True for "cached plan must not change result type" (0A000): a prepared statement
// outlived a change to its table. The connection forgets the statement when it sees
// this; running it again prepares it afresh. connection::execute and pool::execute do so
// once for a statement outside a transaction; transact() reruns the body.
bool is_stale_plan(const error& e) noexcept;

// True for 57014 "canceling statement due to user request": a CancelRequest (not a
// statement_timeout, which has its own message) stopped the statement.
bool is_cancel_request(const error& e) noexcept;

// True when the error means the connection cannot be used any more.
bool is_connection_error(const error& e) noexcept;

}  // namespace pgcoro

template <>
struct std::is_error_code_enum<pgcoro::errc> : std::true_type {};
