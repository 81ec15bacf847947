#include "app/migrate.hpp"

#include <set>

#include "net/log.hpp"

namespace app {

boost::asio::awaitable<int> migrate(pgcoro::connection& conn) {
    co_await conn.execute_script(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
    std::set<std::string> applied;
    auto rows = co_await conn.query("SELECT version FROM schema_migrations");
    for (int i = 0; i < rows.size(); ++i) applied.insert(rows[i].get<std::string>(0));

    int count = 0;
    for (auto& m : migrations()) {
        if (applied.count(m.name)) continue;
        // The name comes from our own file names (checked below), never from input.
        for (char c : m.name)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
                throw std::runtime_error("bad migration name " + m.name);
        bool raced = false;
        try {
            co_await conn.execute_script("BEGIN; INSERT INTO schema_migrations (version) VALUES ('" + m.name + "'); " +
                                         m.sql + "\n; COMMIT;");
        } catch (const pgcoro::error& e) {
            if (pgcoro::classify(e.sqlstate()) != pgcoro::sqlstate_kind::unique_violation) throw;
            raced = true;  // another process applied it first
        }
        if (raced) {
            co_await conn.execute_script("ROLLBACK");
            continue;
        }
        net::log::info("migration {} applied", m.name);
        ++count;
    }
    co_return count;
}

}  // namespace app
