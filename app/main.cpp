// pgcoro-server: wires configuration, the HTTP server, the per-worker database pools and
// the domain's routes; stops gracefully on SIGINT/SIGTERM.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <iostream>
#include <sys/resource.h>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <pgcoro/connection.hpp>
#ifdef PGCORO_WITH_MIMALLOC
#include <mimalloc.h>
#endif

#include "app/config.hpp"
#include "app/metrics.hpp"
#include "app/migrate.hpp"
#include "app/openapi.hpp"
#include "app/operators.hpp"
#include "app/seed.hpp"
#include "app/test_routes.hpp"
#include "domain/accounts/accounts.hpp"
#include "domain/accounts/transfers.hpp"
#include "domain/auth/access.hpp"
#include "domain/auth/client_address.hpp"
#include "domain/auth/login.hpp"
#include "domain/auth/sessions.hpp"
#include "domain/common/random.hpp"
#include "domain/common/services.hpp"
#include "domain/health/health.hpp"
#include "domain/health/probe.hpp"
#include "domain/inventory/inventory.hpp"
#include "domain/orders/orders.hpp"
#include "domain/users/password.hpp"
#include "domain/users/users.hpp"
#include "net/log.hpp"
#include "net/metrics.hpp"
#include "net/server.hpp"

namespace {

// Which allocator serves malloc (see app/CMakeLists.txt); naming mimalloc here also
// keeps the linker from dropping it as unused.
std::string allocator_name() {
#ifdef PGCORO_WITH_MIMALLOC
    return "mimalloc " + std::to_string(mi_version());
#else
    return "the C library's malloc";
#endif
}

// Applies pending migrations on a connection of its own, before serving.
bool run_migrations(const app::config& cfg) {
    boost::asio::io_context ioc;
    pgcoro::connect_options o;
    o.conninfo = cfg.database_url;
    auto done = boost::asio::co_spawn(
        ioc,
        [&]() -> boost::asio::awaitable<int> {
            auto conn = co_await pgcoro::connection::connect(ioc.get_executor(), o);
            co_return co_await app::migrate(conn);
        },
        boost::asio::use_future);
    ioc.run();
    try {
        int n = done.get();
        net::log::info("migrations: {} applied", n);
        return true;
    } catch (const std::exception& e) {
        net::log::error("migrations failed: {}", e.what());
        return false;
    }
}

// Every HTTP connection is a file descriptor: raise the soft limit to the hard one, so
// tens of thousands of keep-alive clients do not run into the default 1024.
void raise_fd_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
    lim.rlim_cur = lim.rlim_max == RLIM_INFINITY ? 1 << 20 : lim.rlim_max;  // Linux's default nr_open
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) net::log::warn("could not raise the open files limit");
}

}  // namespace

int main(int argc, char** argv) {
    std::optional<app::config> cfg;
    try {
        cfg = app::load_config(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "pgcoro-server: " << e.what() << "\n\n" << app::usage();
        return 2;
    }
    if (!cfg) return 0;

    try {
        raise_fd_limit();
        if (!run_migrations(*cfg)) return 1;
        if (cfg->command == "migrate") return 0;
        if (cfg->command == "seed") return app::seed(*cfg);
        if (cfg->command == "operator") return app::operator_command(*cfg);
        if (!app::bootstrap_operator(*cfg)) return 1;

        net::router routes;
        domain::services svc;
        svc.password_cost = cfg->password_cost;
        svc.auth.required = cfg->auth.required;
        if (!cfg->auth.required)
            net::log::warn("AUTH=off: the open API, without sessions or roles, for anyone who reaches {}",
                           cfg->http.address);
        svc.auth.hash_queue = cfg->auth.hash_queue;
        if (!cfg->auth.trusted_proxies.empty())
            svc.auth.proxies = domain::trusted_proxies::parse(cfg->auth.trusted_proxies);
        svc.auth.dummy_hash = domain::hash_password_now(domain::random_uuid().to_string(), cfg->password_cost);
        svc.auth.sessions = std::make_unique<domain::session_store>(
            domain::session_settings{cfg->auth.idle, cfg->auth.max, cfg->auth.cache});
        domain::register_health(routes, svc);
        domain::register_sessions(routes, svc);
        app::register_openapi(routes, svc);
        domain::register_users(routes, svc);
        domain::register_inventory(routes, svc);
        domain::register_orders(routes, svc);
        domain::register_accounts(routes, svc);
        domain::register_transfers(routes, svc);

        net::metrics metrics;  // before the server, which records into it
        app::register_database_metrics(metrics, svc);
        domain::route(routes, net::http::verb::get, "/metrics", domain::access::operator_only, svc,
                      net::metrics_handler(metrics));
        if (cfg->test_routes) app::register_test_routes(routes, svc);

        net::server server(cfg->http, routes, metrics);
        server.listen();

        // One pool shard per worker, bound to its event loop.
        std::size_t n = server.workers();
        std::size_t total = cfg->pool_max ? cfg->pool_max : 4 * n;
        for (std::size_t i = 0; i < n; ++i) {
            pgcoro::pool_options po;
            po.connection.conninfo = cfg->database_url;
            po.connection.connect_timeout = std::chrono::seconds(2);
            po.max_size = std::max<std::size_t>(1, total / n + (i < total % n ? 1 : 0));
            po.acquire_timeout = std::chrono::seconds(2);
            po.auto_pipeline = cfg->auto_pipeline;
            po.connection.group_read_only = cfg->group_reads;
            po.slow_after = cfg->slow_query;
            // The statement's first line and its time: never its parameters.
            po.on_slow_statement = [](const pgcoro::slow_statement& s) {
                net::log::warn("slow statement ({}, {} ms): {}", s.kind,
                               std::chrono::duration_cast<std::chrono::milliseconds>(s.duration).count(), s.name);
            };
            svc.probes.push_back(std::make_unique<domain::database_probe>(server.executor(i), po.connection));
            svc.pools.push_back(std::make_unique<pgcoro::pool>(server.executor(i), po));
            svc.auth.sessions->add_worker(*svc.pools.back());
            if (cfg->batch_lookups)
                svc.batched.push_back({domain::make_user_lookup(*svc.pools.back()),
                                       domain::make_inventory_lookup(*svc.pools.back())});
        }
        server.on_worker_stop = [&svc](std::size_t worker) {
            svc.pools.at(worker)->close();
            svc.probes.at(worker)->close();
        };

        // SIGINT/SIGTERM: drain first (GET /health answers 503 "draining" while requests are
        // still served, so a load balancer takes this instance out of rotation), then stop
        // accepting and finish in-flight requests. A second signal skips the rest of the drain.
        boost::asio::io_context signals_ioc;
        boost::asio::signal_set signals(signals_ioc, SIGINT, SIGTERM);
        boost::asio::steady_timer drain(signals_ioc);
        std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec, int sig) {
            if (ec) return;
            if (svc.draining.exchange(true)) {
                net::log::info("signal {}: stopping now", sig);
                drain.cancel();
                server.stop();
                return;
            }
            net::log::info("signal {}: draining for {} ms, then shutting down", sig, cfg->drain_delay.count());
            drain.expires_after(cfg->drain_delay);
            drain.async_wait([&](boost::system::error_code) { server.stop(); });
            signals.async_wait(on_signal);
        };
        signals.async_wait(on_signal);
        std::thread signal_thread([&] { signals_ioc.run(); });

        server.on_running = [&] {
            net::log::info("listening on {}:{} with {} workers, {}", cfg->http.address, server.port(), n,
                           allocator_name());
        };
        server.run();
        signals_ioc.stop();
        signal_thread.join();
        svc.probes.clear();  // before the server: their timers and sockets live on its event loops
        svc.auth.sessions.reset();  // its batchers use the pools
        svc.pools.clear();
        net::log::info("stopped");
        return 0;
    } catch (const std::exception& e) {
        net::log::error("fatal: {}", e.what());
        return 1;
    }
}
