// The transaction gate of a pool (transaction_options::run_alone_after): attempts run
// together, or one alone, old transactions first.
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>

#include "pool_impl.hpp"

namespace pgcoro::detail {

using clock = std::chrono::steady_clock;

asio::awaitable<void> pool_impl::enter_gate(bool alone, clock::time_point deadline) {
    auto self = shared_from_this();
    if (alone ? (gate.running == 0 && !gate.alone && gate.alone_waiters.empty())
              : (!gate.alone && gate.alone_waiters.empty())) {
        if (alone) gate.alone = true;
        else ++gate.running;
        co_return;
    }
    auto& queue = alone ? gate.alone_waiters : gate.waiters;
    waiter w(ex);
    w.timer.expires_at(deadline);
    queue.push_back(&w);
    boost::system::error_code ec;
    co_await w.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (w.woken) co_return;  // leave_gate() let it in (and counted it)
    if (auto it = std::find(queue.begin(), queue.end(), &w); it != queue.end()) queue.erase(it);
    // A lone waiter that gave up may have been what held the others back.
    if (alone) leave_gate_check();
    if (!ec) throw error(errc::pool_timeout, "a transaction waited too long for its turn");
    throw error(errc::cancelled, "transaction cancelled while waiting for its turn");
}

void pool_impl::leave_gate(bool alone) {
    if (alone) gate.alone = false;
    else --gate.running;
    leave_gate_check();
}

// Lets in whoever may go now: the first lone waiter once nothing runs, else everyone
// waiting to run together, when no lone one is waiting.
void pool_impl::leave_gate_check() {
    if (gate.alone) return;
    if (!gate.alone_waiters.empty()) {
        if (gate.running > 0) return;
        waiter* w = gate.alone_waiters.front();
        gate.alone_waiters.pop_front();
        gate.alone = true;
        w->woken = true;
        w->timer.cancel();
        return;
    }
    while (!gate.waiters.empty()) {
        waiter* w = gate.waiters.front();
        gate.waiters.pop_front();
        ++gate.running;
        w->woken = true;
        w->timer.cancel();
    }
}

}  // namespace pgcoro::detail
