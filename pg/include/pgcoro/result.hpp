// pgcoro/result.hpp — the rows one statement returned, owned (the underlying PGresult is
// freed with the last copy), read with typed accessors that check types and NULLs.
#pragma once

#include <boost/pfr/core.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "pgcoro/error.hpp"
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

    // The whole row as a std::tuple<Ts...> or as an aggregate struct, column k into
    // element (field) k. The row must have exactly as many columns as T has elements;
    // each is read as get<> reads it, and a failure names the column:
    //   struct user { pgcoro::uuid id; std::string email; std::optional<std::string> name; };
    //   auto u = r.front().as<user>();
    // Throws errc::type_mismatch (column count, or a column's type), errc::unexpected_null,
    // errc::out_of_range.
    template <typename T>
    T as() const;

    bool is_null(int column) const;
    int index() const noexcept { return index_; }
    std::string_view column_name(int column) const;

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

    // Every row as T (see row::as); the column count is checked once, so an empty
    // result of the wrong shape throws too.
    template <typename T>
    std::vector<T> as() const;

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

namespace detail {

template <typename T>
struct is_tuple : std::false_type {};
template <typename... Ts>
struct is_tuple<std::tuple<Ts...>> : std::true_type {};

// How many columns T takes in row::as.
template <typename T>
constexpr std::size_t mapped_width() {
    if constexpr (is_tuple<T>::value) {
        return std::tuple_size_v<T>;
    } else {
        static_assert(std::is_aggregate_v<T>, "pgcoro: as<T>() maps to a std::tuple or an aggregate struct");
        return boost::pfr::tuple_size_v<T>;
    }
}

// errc::type_mismatch: the result has `columns` columns, T takes `width`.
void check_width(int columns, std::size_t width);
// Rethrows `e` (a failure reading column `column`) with the column named.
[[noreturn]] void rethrow_for_column(const error& e, int column, std::string_view name);

template <typename F>
void read_column(const row& r, int column, F& out) {
    try {
        out = r.get<F>(column);
    } catch (const error& e) {
        rethrow_for_column(e, column, r.column_name(column));
    }
}

}  // namespace detail

template <typename T>
T row::as() const {
    T out{};
    detail::check_width(result_->columns(), detail::mapped_width<T>());
    if constexpr (detail::is_tuple<T>::value) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (detail::read_column(*this, static_cast<int>(I), std::get<I>(out)), ...);
        }(std::make_index_sequence<std::tuple_size_v<T>>{});
    } else {
        boost::pfr::for_each_field(out, [this](auto& field, std::size_t i) {
            detail::read_column(*this, static_cast<int>(i), field);
        });
    }
    return out;
}

template <typename T>
std::vector<T> result::as() const {
    detail::check_width(columns(), detail::mapped_width<T>());
    std::vector<T> out;
    out.reserve(static_cast<std::size_t>(size()));
    for (int i = 0, n = size(); i < n; ++i) out.push_back(row(*this, i).as<T>());
    return out;
}

}  // namespace pgcoro
