// What a pool learns from its round trips: their durations by kind (query_stats), the
// slow ones (pool_options::on_slow_statement), and when the server last answered or a
// connection last failed (pool_stats::last_answer, last_failure).
#include <algorithm>

#include "pool_impl.hpp"

namespace pgcoro {

namespace detail {

using clock = std::chrono::steady_clock;

namespace {
std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch()).count();
}

}  // namespace

statement_name::statement_name(std::span<const statement> statements) {
    if (statements.empty()) return;
    const statement* pick = &statements.back();
    for (auto& st : statements) {
        std::string_view sql = st.sql;
        if (sql.starts_with("BEGIN") || sql.starts_with("SAVEPOINT") || sql.starts_with("RELEASE") ||
            sql.starts_with("ROLLBACK TO") || sql.starts_with("SELECT set_config"))
            continue;
        pick = &st;
        break;
    }
    std::string_view sql = pick->name.empty() ? std::string_view(pick->sql) : std::string_view(pick->name);
    auto first = sql.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return;
    sql.remove_prefix(first);
    sql = sql.substr(0, std::min(sql.find('\n'), text.size()));
    while (!sql.empty() && (sql.back() == ' ' || sql.back() == '\r' || sql.back() == '\t')) sql.remove_suffix(1);
    std::copy(sql.begin(), sql.end(), text.begin());
    size = sql.size();
}

void atomic_query_stats::record(std::chrono::nanoseconds d, bool slow_one) noexcept {
    double seconds = std::chrono::duration<double>(d).count();
    std::size_t b = 0;
    while (b < query_stats::bounds.size() && seconds > query_stats::bounds[b]) ++b;
    buckets[b].fetch_add(1, std::memory_order_relaxed);
    count.fetch_add(1, std::memory_order_relaxed);
    sum_ns.fetch_add(static_cast<std::uint64_t>(d.count()), std::memory_order_relaxed);
    if (slow_one) slow.fetch_add(1, std::memory_order_relaxed);
}

query_stats atomic_query_stats::snapshot() const noexcept {
    query_stats q;
    for (std::size_t b = 0; b < buckets.size(); ++b) q.buckets[b] = buckets[b].load(std::memory_order_relaxed);
    q.count = count.load(std::memory_order_relaxed);
    q.sum = std::chrono::nanoseconds(sum_ns.load(std::memory_order_relaxed));
    q.slow = slow.load(std::memory_order_relaxed);
    return q;
}

void pool_impl::note_answer() noexcept { last_answer_ns.store(now_ns(), std::memory_order_relaxed); }
void pool_impl::note_failure() noexcept { last_failure_ns.store(now_ns(), std::memory_order_relaxed); }

void pool_impl::round_trip_done(bool in_transaction, clock::time_point sent, const statement_name& name,
                                const std::exception_ptr& failure) {
    auto d = clock::now() - sent;
    bool slow = opts.slow_after.count() > 0 && d >= opts.slow_after;
    (in_transaction ? transaction_queries : autocommit_queries).record(d, slow);
    if (slow && opts.on_slow_statement) {
        try {
            opts.on_slow_statement(slow_statement{in_transaction ? "transaction" : "autocommit", name.view(), d});
        } catch (...) {
            // A failing logger must not fail the statement.
        }
    }
    bool answered = !failure;
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const error& e) {
            answered = e.kind() == errc::sql;  // the server did answer
        } catch (...) {
        }
    }
    if (answered) note_answer();
}

}  // namespace detail

query_stats& query_stats::operator+=(const query_stats& o) {
    for (std::size_t b = 0; b < buckets.size(); ++b) buckets[b] += o.buckets[b];
    count += o.count;
    sum += o.sum;
    slow += o.slow;
    return *this;
}

}  // namespace pgcoro
