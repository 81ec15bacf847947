// pgcoro/lookup_batcher.hpp — merges concurrent lookups by a unique key into one statement.
//
// Under load, many coroutines on one event loop look rows up by primary key at the same
// time ("GET /users/{id}"). Each lookup as a statement of its own costs the database a
// Bind, an Execute and an executor start and finish; most of its work per row. A
// lookup_batcher collects the keys asked for during one turn of its pool's event loop
// and runs them as one read-only statement (`WHERE id = ANY($1)`), then hands each
// caller its own row (the dataloader pattern). One caller alone waits for nothing but
// that loop turn.
//
// Like its pool, a batcher is used from the thread that runs the pool's executor, and
// must not outlive the pool.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "pgcoro/result.hpp"

namespace pgcoro {

class pool;

// One row that keeps its result alive (a batch's result is shared by its callers).
class found_row {
public:
    found_row(result rows, int index) : rows_(std::move(rows)), index_(index) {}
    row get() const { return rows_[index_]; }  // valid while this found_row lives

private:
    result rows_;
    int index_;
};

class lookup_batcher {
public:
    // `sql` is a SELECT with no effects taking one parameter: $1, the keys as a text
    // array (cast it: `WHERE id = ANY($1::uuid[])`). Column `key_column` of each row it
    // returns holds the row's key, compared as text with the key asked for: pass keys in
    // the form the database prints them (a uuid in lower case with hyphens). The key must
    // be unique: a key matching several rows finds the first. At most `max_keys` keys go
    // in one statement; more in one loop turn start another.
    lookup_batcher(pool& p, std::string sql, int key_column = 0, std::size_t max_keys = 256);
    ~lookup_batcher();
    lookup_batcher(const lookup_batcher&) = delete;
    lookup_batcher& operator=(const lookup_batcher&) = delete;

    // The row for `key`, or nullopt when there is none. Throws what the statement threw
    // (every caller of a failed batch gets the same error) or errc::cancelled when the
    // caller is cancelled; a batch whose callers were all cancelled is cancelled too.
    boost::asio::awaitable<std::optional<found_row>> find(std::string key);

    struct state;

private:
    std::shared_ptr<state> state_;
};

}  // namespace pgcoro
