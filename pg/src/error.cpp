#include "pgcoro/error.hpp"

namespace pgcoro {

namespace {

class category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "pgcoro"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::sql: return "the server rejected the statement";
        case errc::connect_failed: return "could not connect to the database";
        case errc::connection_lost: return "the database connection was lost";
        case errc::timeout: return "the operation timed out";
        case errc::cancelled: return "the operation was cancelled";
        case errc::pool_timeout: return "no database connection became available in time";
        case errc::pool_closed: return "the connection pool is closed";
        case errc::commit_outcome_unknown: return "the outcome of COMMIT is unknown";
        case errc::retry_exhausted: return "the transaction's retry budget is exhausted";
        case errc::type_mismatch: return "a value was read as an incompatible type";
        case errc::unexpected_null: return "NULL read into a non-optional value";
        case errc::out_of_range: return "index or value out of range";
        case errc::protocol: return "unexpected answer from the server";
        case errc::retry_budget_exhausted: return "the shared retry budget is spent: the transaction failed fast";
        }
        return "unknown pgcoro error";
    }
};

}  // namespace

const std::error_category& category() noexcept {
    static const category_impl instance;
    return instance;
}

error::error(errc kind, std::string what_text, diagnostics diag)
    : std::runtime_error(std::move(what_text)), kind_(kind), diag_(std::move(diag)) {}

sqlstate_kind classify(std::string_view s) noexcept {
    if (s.size() != 5) return sqlstate_kind::other;
    if (s == "23505") return sqlstate_kind::unique_violation;
    if (s == "23503") return sqlstate_kind::foreign_key_violation;
    if (s == "23502") return sqlstate_kind::not_null_violation;
    if (s == "23514") return sqlstate_kind::check_violation;
    if (s == "23P01") return sqlstate_kind::exclusion_violation;
    if (s == "40001") return sqlstate_kind::serialization_failure;
    if (s == "40P01") return sqlstate_kind::deadlock_detected;
    if (s == "40003") return sqlstate_kind::statement_completion_unknown;
    if (s == "57014") return sqlstate_kind::query_canceled;
    if (s == "57P01" || s == "57P02" || s == "57P03") return sqlstate_kind::admin_shutdown;
    if (s.substr(0, 2) == "08") return sqlstate_kind::connection_exception;
    if (s == "22P02") return sqlstate_kind::invalid_text_representation;
    if (s == "22003") return sqlstate_kind::numeric_value_out_of_range;
    if (s == "0A000") return sqlstate_kind::feature_not_supported;
    if (s == "26000") return sqlstate_kind::undefined_prepared_statement;
    if (s == "25P02") return sqlstate_kind::in_failed_transaction;
    return sqlstate_kind::other;
}

bool is_retryable(std::string_view s) noexcept {
    auto k = classify(s);
    return k == sqlstate_kind::serialization_failure || k == sqlstate_kind::deadlock_detected;
}

bool is_stale_plan(const error& e) noexcept {
    // The server function that raises it, which does not depend on the server's language
    // (lc_messages), or else the English message.
    return e.kind() == errc::sql && classify(e.sqlstate()) == sqlstate_kind::feature_not_supported &&
           (e.diag().routine == "RevalidateCachedQuery" ||
            e.diag().message.starts_with("cached plan must not change result type"));
}

// English only: 57014 has one routine (ProcessInterrupts) for every cause, and only the
// message tells a CancelRequest from statement_timeout. On a server in another language
// this is false: no rerun, the 57014 is thrown.
bool is_cancel_request(const error& e) noexcept {
    return e.kind() == errc::sql && classify(e.sqlstate()) == sqlstate_kind::query_canceled &&
           e.diag().message.starts_with("canceling statement due to user request");
}

bool is_connection_error(const error& e) noexcept {
    switch (e.kind()) {
    case errc::connect_failed:
    case errc::connection_lost:
        return true;
    case errc::sql: {
        auto k = classify(e.sqlstate());
        return k == sqlstate_kind::admin_shutdown || k == sqlstate_kind::connection_exception;
    }
    default:
        return false;
    }
}

}  // namespace pgcoro
