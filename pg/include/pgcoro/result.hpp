// pgcoro/result.hpp — the rows one statement returned, owned (the underlying PGresult is
// freed with the last copy), read with typed accessors that check types and NULLs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "pgcoro/types.hpp"

struct pg_result;  // libpq's PGresult, kept out of users' includes

namespace pgcoro {

class result;

// One row of a result; cheap to copy, valid while its result lives.
class row {
public:
    row(const result& r, int index) : result_(&r), index_(index) {}

    // The value of column `column` (by position or by name) as T. std::optional<T>
    // reads NULL as nullopt; a non-optional T throws errc::unexpected_null on NULL.
    template <typename T>
    T get(int column) const;
    template <typename T>
    T get(std::string_view column) const;

    bool is_null(int column) const;
    int index() const noexcept { return index_; }

private:
    const result* result_;
    int index_;
};

class result {
public:
    result() = default;
    explicit result(pg_result* owned);  // takes ownership

    int size() const noexcept;           // number of rows
    bool empty() const noexcept { return size() == 0; }
    int columns() const noexcept;
    std::string_view column_name(int column) const;
    int column_index(std::string_view name) const;  // throws errc::out_of_range when absent
    oid_t column_type(int column) const;
    std::int64_t affected_rows() const noexcept;     // INSERT/UPDATE/DELETE count, else 0
    std::string_view command_tag() const noexcept;   // "INSERT 0 1", "COMMIT", "ROLLBACK"...

    row operator[](int index) const;  // throws errc::out_of_range
    row front() const { return (*this)[0]; }

    // The first column of the first row: for SELECT count(*) and friends.
    template <typename T>
    T scalar() const { return front().get<T>(0); }

    // The raw text of a value, nullopt for NULL. Indexes are checked.
    std::optional<std::string_view> raw(int row, int column) const;

    pg_result* native() const noexcept { return res_.get(); }

private:
    struct deleter {
        void operator()(pg_result*) const noexcept;
    };
    std::shared_ptr<pg_result> res_;
};

template <typename T>
T decode_value(std::optional<std::string_view> raw, oid_t type) {
    if constexpr (detail::is_optional<T>::value) {
        if (!raw) return std::nullopt;
        return value_traits<typename T::value_type>::decode(*raw, type);
    } else {
        if (!raw) detail::throw_unexpected_null();
        return value_traits<T>::decode(*raw, type);
    }
}

template <typename T>
T row::get(int column) const {
    return decode_value<T>(result_->raw(index_, column), result_->column_type(column));
}

template <typename T>
T row::get(std::string_view column) const {
    return get<T>(result_->column_index(column));
}

}  // namespace pgcoro
