// Server-side cancellation of a connection's requests (CancelRequest): how many go out
// at once, which request each one targets, and the process-wide counters
// (pgcoro::cancel_statistics). The rest of the connection is connection.cpp.
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>

#include "connection_impl.hpp"

namespace pgcoro {

namespace detail {

namespace {

// PQcancel blocks (it opens a new connection to the server), so it runs here, off the
// event loops, on max_concurrent_cancels threads: that many cancel sockets at most, however
// many statements are cancelled at once (a cancel storm queues here instead of opening
// hundreds of connections to the server). Created on first use.
asio::thread_pool& cancel_pool() {
    static asio::thread_pool pool(max_concurrent_cancels);
    return pool;
}

struct cancel_counters {
    std::atomic<std::uint64_t> requested{0}, sent{0}, coalesced{0}, skipped{0}, rerun{0};
    std::atomic<std::size_t> in_use{0}, peak{0};
};
cancel_counters& cancels() {
    static cancel_counters c;
    return c;
}

}  // namespace

void count_stray_cancel_rerun() noexcept { cancels().rerun.fetch_add(1, std::memory_order_relaxed); }

// Asks the server to cancel request `seq` when it is the one running. One job per
// connection waits in cancel_pool at a time: a later request updates what it cancels
// (coalesced). When the job runs it skips a request that is no longer at the front.
// (A CancelRequest stops whatever the backend runs when it arrives; in a pipeline that
// can already be the next statement, a limit of libpq's cancel protocol.)
void connection_impl::request_server_cancel(std::uint64_t seq) {
    if (!cancelling || !cancelling->canceller || broken) return;
    cancels().requested.fetch_add(1, std::memory_order_relaxed);
    last_cancel_seq = std::max(last_cancel_seq, seq);
    last_cancel_at = std::chrono::steady_clock::now();
    cancelling->wanted.store(seq);
    if (cancelling->queued.exchange(true)) {
        cancels().coalesced.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    asio::post(cancel_pool(), [c = cancelling] {
        c->queued.store(false);
        auto target = c->wanted.load();
        if (c->running.load() != target) {
            cancels().skipped.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        auto& n = cancels();
        auto now = n.in_use.fetch_add(1) + 1;
        for (auto peak = n.peak.load(); now > peak && !n.peak.compare_exchange_weak(peak, now);) {
        }
        char buf[256];
        PQcancel(c->canceller.get(), buf, sizeof buf);
        n.in_use.fetch_sub(1);
        n.sent.fetch_add(1, std::memory_order_relaxed);
    });
}

void connection_impl::front_changed() {
    if (!cancelling) return;
    if (queue.empty()) {
        cancelling->running.store(0);
        return;
    }
    auto& front = queue.front();
    cancelling->running.store(front->seq);
    // Cancelled while it waited behind others: it runs now, so stop it on the server
    // rather than let it run to the end for nobody.
    if (front->cancelled && !front->simple) request_server_cancel(front->seq);
}

// The awaiting coroutine was cancelled: answer it at once. The request stays in the
// queue so its results are drained and dropped, keeping the connection usable; when it
// is the one running on the server, the server is asked to cancel it too.
void connection_impl::on_cancel(const std::shared_ptr<pending>& p) {
    if (!p->handler) return;
    bool running = !queue.empty() && queue.front() == p;
    auto h = std::move(*p->handler);
    p->handler.reset();
    p->cancelled = true;
    deliver(std::move(h), std::make_exception_ptr(error(errc::cancelled, "statement cancelled")), {});
    if (running) request_server_cancel(p->seq);
}

}  // namespace detail

cancel_stats cancel_statistics() noexcept {
    auto& n = detail::cancels();
    return {n.requested.load(), n.sent.load(), n.coalesced.load(), n.skipped.load(), n.rerun.load(), n.peak.load()};
}

}  // namespace pgcoro
