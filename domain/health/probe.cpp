#include "domain/health/probe.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pgcoro/connection.hpp>
#include <pgcoro/timeout.hpp>
#include <vector>

namespace domain {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

struct database_probe::state {
    asio::any_io_executor ex;
    pgcoro::connect_options options;
    pgcoro::connection conn;
    bool running = false;
    std::vector<asio::steady_timer*> waiting;  // callers waiting for the running probe
    std::optional<outcome> last;
    clock_type::time_point last_at{};
};

namespace {

// One probe, detached: connects when needed, SELECT 1, records the answer and wakes the
// callers waiting for it.
asio::awaitable<void> run_probe(std::shared_ptr<database_probe::state> s, std::chrono::milliseconds limit) {
    const auto start = clock_type::now();
    database_probe::outcome out;
    try {
        if (!s->conn.is_open()) {
            auto connect = pgcoro::connection::connect(s->ex, s->options);
            s->conn = co_await pgcoro::with_timeout(std::move(connect), limit);
        }
        auto left = limit - std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
        auto ping = s->conn.query("SELECT 1");
        co_await pgcoro::with_timeout(std::move(ping), std::max(left, std::chrono::milliseconds(1)));
        out = {true, std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - start)};
    } catch (const std::exception&) {
        s->conn.close();  // opened again by the next probe
    }
    s->last = out;
    s->last_at = clock_type::now();
    s->running = false;
    for (auto* t : s->waiting) t->cancel();
}

}  // namespace

database_probe::database_probe(asio::any_io_executor ex, pgcoro::connect_options options)
    : state_(std::make_shared<state>()) {
    state_->ex = std::move(ex);
    state_->options = std::move(options);
    state_->options.application_name = "pgcoro-health";
    state_->options.statement_cache_capacity = 0;  // one statement, no need to prepare it
}

database_probe::~database_probe() { close(); }

asio::awaitable<database_probe::outcome> database_probe::check(std::chrono::milliseconds limit) {
    auto s = state_;
    const auto asked = clock_type::now();
    // A recent answer stands only while its connection does: a database that went away
    // since must be reported at once.
    if (s->last && s->conn.is_open() && asked - s->last_at < std::chrono::milliseconds(250)) co_return *s->last;
    if (!s->running) {
        s->running = true;
        asio::co_spawn(s->ex, run_probe(s, limit), asio::detached);
    }
    // The probe ends within `limit` (plus a turn of the loop to be told).
    asio::steady_timer signal(s->ex, limit + std::chrono::milliseconds(100));
    s->waiting.push_back(&signal);
    boost::system::error_code ec;
    co_await signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    std::erase(s->waiting, &signal);
    if (s->last && s->last_at >= asked) co_return *s->last;
    co_return outcome{};  // no answer in time (or this caller was cancelled): down
}

std::optional<database_probe::outcome> database_probe::last() const { return state_->last; }

void database_probe::close() { state_->conn.close(); }

}  // namespace domain
