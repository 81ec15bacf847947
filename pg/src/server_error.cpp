// error_from_result: a server's ErrorResponse, every diagnostic field kept, as a
// pgcoro::error (errc::sql); trimmed: libpq's messages without their trailing newline.
#include "connection_impl.hpp"

namespace pgcoro::detail {

namespace {

std::string field(const PGresult* r, int code) {
    const char* v = PQresultErrorField(r, code);
    return v ? std::string(v) : std::string();
}


}  // namespace

std::string trimmed(const char* s) {
    std::string m = s ? s : "";
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    return m;
}

error error_from_result(const PGresult* r) {
    diagnostics d;
    d.sqlstate = field(r, PG_DIAG_SQLSTATE);
    d.severity = field(r, PG_DIAG_SEVERITY_NONLOCALIZED);
    d.message = field(r, PG_DIAG_MESSAGE_PRIMARY);
    d.detail = field(r, PG_DIAG_MESSAGE_DETAIL);
    d.hint = field(r, PG_DIAG_MESSAGE_HINT);
    d.constraint = field(r, PG_DIAG_CONSTRAINT_NAME);
    d.table = field(r, PG_DIAG_TABLE_NAME);
    d.column = field(r, PG_DIAG_COLUMN_NAME);
    d.routine = field(r, PG_DIAG_SOURCE_FUNCTION);
    if (d.message.empty()) d.message = trimmed(PQresultErrorMessage(r));
    std::string what = d.sqlstate.empty() ? d.message : d.sqlstate + ": " + d.message;
    return error(errc::sql, std::move(what), std::move(d));
}

}  // namespace pgcoro::detail
