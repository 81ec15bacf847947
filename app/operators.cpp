#include "app/operators.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <iostream>
#include <pgcoro/connection.hpp>

#include "domain/auth/operators.hpp"
#include "domain/common/input.hpp"
#include "domain/users/password.hpp"
#include "net/log.hpp"

namespace app {

namespace {

// On a connection of its own, before serving (blocking password checks are fine here).
domain::operator_outcome ensure(const config& cfg, const std::string& email, const std::string& password,
                                bool promote_only_with_password) {
    boost::asio::io_context ioc;
    pgcoro::connect_options o;
    o.conninfo = cfg.database_url;
    auto done = boost::asio::co_spawn(
        ioc,
        [&]() -> boost::asio::awaitable<domain::operator_outcome> {
            auto conn = co_await pgcoro::connection::connect(ioc.get_executor(), o);
            co_return co_await domain::ensure_operator(conn, email, password, cfg.password_cost,
                                                       promote_only_with_password);
        },
        boost::asio::use_future);
    ioc.run();
    return done.get();
}

}  // namespace

bool bootstrap_operator(const config& cfg) {
    if (cfg.auth.operator_email.empty()) return true;
    if (!domain::plausible_email(cfg.auth.operator_email)) {
        net::log::error("BOOTSTRAP_OPERATOR_EMAIL is not an email address");
        return false;
    }
    try {
        // An existing user is promoted only with their own password: whoever signed up
        // with this email first must not become an operator by it.
        auto outcome = ensure(cfg, cfg.auth.operator_email, cfg.auth.operator_password, true);
        if (outcome == domain::operator_outcome::refused) {
            net::log::error("bootstrap operator {}: {}", cfg.auth.operator_email, domain::to_string(outcome));
            return false;
        }
        net::log::info("bootstrap operator {}: {}", cfg.auth.operator_email, domain::to_string(outcome));
        return true;
    } catch (const std::exception& e) {
        net::log::error("bootstrap operator failed: {}", e.what());
        return false;
    }
}

int operator_command(const config& cfg) {
    if (!domain::plausible_email(cfg.operator_email)) {
        std::cerr << "pgcoro-server operator: '" << cfg.operator_email << "' is not an email address\n";
        return 2;
    }
    std::string password;
    std::getline(std::cin, password);
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.size() < 8 || password.size() > 128) {
        std::cerr << "pgcoro-server operator: the password (one line on standard input) must be 8 to 128 characters\n";
        return 2;
    }
    try {
        // Whoever runs this command has the server's configuration: an existing user is
        // promoted without their password.
        auto outcome = ensure(cfg, cfg.operator_email, password, false);
        std::cout << "operator " << cfg.operator_email << ": " << domain::to_string(outcome)
                  << (outcome == domain::operator_outcome::created ? "" : " (password unchanged)") << "\n";
        return 0;
    } catch (const std::exception& e) {
        net::log::error("operator failed: {}", e.what());
        return 1;
    }
}

}  // namespace app
