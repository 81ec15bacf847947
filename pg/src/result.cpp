#include "pgcoro/result.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <string>

#include "pgcoro/error.hpp"

namespace pgcoro {

void result::deleter::operator()(pg_result* r) const noexcept { PQclear(r); }

result::result(pg_result* owned) : res_(owned, deleter{}) {}

int result::size() const noexcept { return res_ ? PQntuples(res_.get()) : 0; }
int result::columns() const noexcept { return res_ ? PQnfields(res_.get()) : 0; }

std::string_view result::column_name(int column) const {
    if (column < 0 || column >= columns()) throw error(errc::out_of_range, "column index out of range");
    return PQfname(res_.get(), column);
}

int result::column_index(std::string_view name) const {
    for (int c = 0, n = columns(); c < n; ++c)
        if (name == PQfname(res_.get(), c)) return c;
    throw error(errc::out_of_range, "no column named " + std::string(name));
}

oid_t result::column_type(int column) const {
    if (column < 0 || column >= columns()) throw error(errc::out_of_range, "column index out of range");
    return PQftype(res_.get(), column);
}

std::int64_t result::affected_rows() const noexcept {
    if (!res_) return 0;
    const char* n = PQcmdTuples(res_.get());
    return (n && *n) ? std::strtoll(n, nullptr, 10) : 0;
}

std::string_view result::command_tag() const noexcept {
    return res_ ? std::string_view(PQcmdStatus(res_.get())) : std::string_view();
}

row result::operator[](int index) const {
    if (index < 0 || index >= size()) throw error(errc::out_of_range, "row index out of range");
    return row(*this, index);
}

std::optional<std::string_view> result::raw(int r, int c) const {
    if (r < 0 || r >= size() || c < 0 || c >= columns())
        throw error(errc::out_of_range, "row or column index out of range");
    if (PQgetisnull(res_.get(), r, c)) return std::nullopt;
    return std::string_view(PQgetvalue(res_.get(), r, c), static_cast<std::size_t>(PQgetlength(res_.get(), r, c)));
}

bool row::is_null(int column) const { return !result_->raw(index_, column).has_value(); }
std::string_view row::column_name(int column) const { return result_->column_name(column); }

namespace detail {

void check_width(int columns, std::size_t width) {
    if (columns < 0 || static_cast<std::size_t>(columns) != width)
        throw error(errc::type_mismatch, "the result has " + std::to_string(columns) + " columns, the type read " +
                                             std::to_string(width));
}

void rethrow_for_column(const error& e, int column, std::string_view name) {
    throw error(e.kind(), "column " + std::to_string(column) + " (\"" + std::string(name) + "\"): " + e.what(), e.diag());
}

}  // namespace detail

}  // namespace pgcoro
