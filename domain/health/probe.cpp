#include "domain/health/probe.hpp"

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <pgcoro/timeout.hpp>

namespace domain {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

database_probe::database_probe(asio::any_io_executor ex, pgcoro::connect_options options)
    : ex_(std::move(ex)), options_(std::move(options)) {
    options_.application_name = "pgcoro-health";
    options_.statement_cache_capacity = 0;  // one statement, no need to prepare it
}

asio::awaitable<database_probe::outcome> database_probe::check(std::chrono::milliseconds limit) {
    const auto asked = clock_type::now();
    // A recent answer stands only while its connection does: a database that went away
    // since must be reported at once.
    if (last_ && conn_.is_open() && asked - last_at_ < std::chrono::milliseconds(250)) co_return *last_;
    if (running_) {
        asio::steady_timer signal(ex_, limit);
        waiting_.push_back(&signal);
        boost::system::error_code ec;
        co_await signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        std::erase(waiting_, &signal);
        if (last_ && last_at_ >= asked) co_return *last_;
        co_return outcome{};  // the running probe did not answer in time: down
    }

    // Whatever happens to this coroutine, the next caller may probe, and the ones
    // waiting are woken.
    struct finish {
        database_probe& self;
        ~finish() {
            self.running_ = false;
            for (auto* t : self.waiting_) t->cancel();
        }
    } done{*this};
    running_ = true;
    auto out = co_await probe(limit);
    last_ = out;
    last_at_ = clock_type::now();
    co_return out;
}

asio::awaitable<database_probe::outcome> database_probe::probe(std::chrono::milliseconds limit) {
    const auto start = clock_type::now();
    try {
        if (!conn_.is_open()) {
            auto connect = pgcoro::connection::connect(ex_, options_);
            conn_ = co_await pgcoro::with_timeout(std::move(connect), limit);
        }
        auto left = limit - std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
        auto ping = conn_.query("SELECT 1");
        co_await pgcoro::with_timeout(std::move(ping), std::max(left, std::chrono::milliseconds(1)));
    } catch (const std::exception&) {
        conn_.close();  // opened again by the next probe
        co_return outcome{};
    }
    co_return outcome{true, std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - start)};
}

void database_probe::close() { conn_.close(); }

}  // namespace domain
