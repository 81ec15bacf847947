// The per-connection cache of named prepared statements (an LRU keyed by SQL text and
// parameter types): what connection_impl::submit prepares ahead and reuses.
#include <algorithm>
#include <cctype>

#include "connection_impl.hpp"

namespace pgcoro::detail {

void connection_impl::forget(const std::shared_ptr<prepared>& entry) {
    auto c = cache.find(entry->key);
    if (c != cache.end() && *c->second == entry) {
        lru.erase(c->second);
        cache.erase(c);
    }
}

// Transaction control and one-off names (savepoints) are not worth a cache slot, and
// must not be prepared ahead: a Parse is refused inside a failed transaction.
bool cacheable(std::string_view sql) {
    while (!sql.empty() && (sql.front() == ' ' || sql.front() == '\n' || sql.front() == '\t')) sql.remove_prefix(1);
    for (std::string_view kw : {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "START", "END", "ABORT",
                                "DEALLOCATE", "SET", "RESET", "PREPARE", "LISTEN", "UNLISTEN"}) {
        if (sql.size() >= kw.size() &&
            std::equal(kw.begin(), kw.end(), sql.begin(), [](char a, char b) { return a == std::toupper(b); }) &&
            (sql.size() == kw.size() || !std::isalnum(static_cast<unsigned char>(sql[kw.size()]))))
            return false;
    }
    return true;
}

std::shared_ptr<prepared> connection_impl::prepare_cached(const statement& s,
                                                          std::vector<std::shared_ptr<prepared>>& evicted,
                                                          bool& fresh) {
    std::string key = s.sql;
    key.push_back('\0');
    for (auto& prm : s.params) key += std::to_string(prm.type) + ",";
    auto it = cache.find(key);
    if (it != cache.end()) {
        lru.splice(lru.begin(), lru, it->second);
        fresh = false;
        return *it->second;
    }
    auto entry = std::make_shared<prepared>();
    entry->key = key;
    entry->name = "pgcoro_" + std::to_string(next_statement_id++);
    lru.push_front(entry);
    cache.emplace(std::move(key), lru.begin());
    while (lru.size() > options.statement_cache_capacity) {
        evicted.push_back(lru.back());
        cache.erase(lru.back()->key);
        lru.pop_back();
    }
    fresh = true;
    return entry;
}

}  // namespace pgcoro::detail
