// pg/examples/notifications.cpp — LISTEN/NOTIFY: a listener on a connection of its own,
// fed by NOTIFYs sent through a pool (as another process would send them).
//
//   DATABASE_URL=postgresql://user@host/db ./pgcoro_example_notifications
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdlib>
#include <iostream>
#include <pgcoro/pgcoro.hpp>

namespace asio = boost::asio;
using namespace std::chrono_literals;

asio::awaitable<int> run(std::string url) {
    auto ex = co_await asio::this_coro::executor;
    pgcoro::listener_options lo;
    lo.connection.conninfo = url;
    pgcoro::listener orders(ex, lo);
    co_await orders.listen("order_events");

    pgcoro::pool_options po;
    po.connection.conninfo = url;
    pgcoro::pool pool(ex, po);
    // Sent in one transaction: delivered at COMMIT, in this order.
    co_await pool.transact([](pgcoro::transaction& tx) -> asio::awaitable<void> {
        for (const char* what : {"placed:42", "paid:42", "shipped:42"})
            co_await tx.query("SELECT pg_notify('order_events', $1)", std::string(what));
    });

    int seen = 0;
    while (seen < 3) {
        // next() waits; bound it like any other await.
        auto e = co_await pgcoro::with_timeout(orders.next(), 10s);
        if (!e.note) {  // the connection was re-established: re-read what the events stand for
            std::cout << "gap: " << e.gap << "\n";
            continue;
        }
        std::cout << e.note->channel << ": " << e.note->payload << " (from backend " << e.note->sender_pid << ")\n";
        ++seen;
    }
    orders.close();
    pool.close();
    co_return 0;
}

int main() {
    const char* url = std::getenv("DATABASE_URL");
    if (!url) {
        std::cerr << "set DATABASE_URL\n";
        return 2;
    }
    asio::io_context ioc;
    auto done = asio::co_spawn(ioc, run(url), asio::use_future);
    ioc.run();
    try {
        return done.get();
    } catch (const pgcoro::error& e) {
        std::cerr << "database error: " << e.what() << "\n";
        return 1;
    }
}
