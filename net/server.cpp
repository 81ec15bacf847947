#include "net/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <ctime>
#include <list>
#include <random>
#include <thread>

#include "net/json_response.hpp"
#include "net/log.hpp"

namespace net {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

struct session_state {
    beast::tcp_stream* stream;
    bool busy = false;  // between the first byte of a request and the end of its response
};

struct worker {
    explicit worker(std::size_t i) : index(i), acceptor(ioc), grace(ioc) {}
    std::size_t index;
    asio::io_context ioc{1};
    tcp::acceptor acceptor;
    asio::steady_timer grace;
    std::list<session_state*> sessions;
    bool stopping = false;
    bool stopped = false;
    std::uint64_t request_counter = 0;
    std::string request_id_prefix;
    std::time_t date_second = 0;
    std::string date;
    std::thread thread;
};

}  // namespace

struct server::impl {
    impl(server_options o, const router& r) : opts(std::move(o)), routes(r) {}

    asio::awaitable<void> accept_loop(worker& w);
    asio::awaitable<void> session(worker& w, tcp::socket socket);
    asio::awaitable<response> handle(worker& w, request& req);
    void finish_if_idle(worker& w);
    const std::string& date(worker& w);

    server* self = nullptr;
    server_options opts;
    const router& routes;
    std::vector<std::unique_ptr<worker>> workers;
    std::atomic<std::size_t> open{0};
    std::atomic<bool> stopping{false};
    unsigned short bound_port = 0;
};

server::server(server_options options, const router& routes) : impl_(std::make_unique<impl>(std::move(options), routes)) {
    impl_->self = this;
    auto n = impl_->opts.workers ? impl_->opts.workers : std::max(1u, std::thread::hardware_concurrency());
    std::random_device rd;
    for (std::size_t i = 0; i < n; ++i) {
        impl_->workers.push_back(std::make_unique<worker>(i));
        char prefix[32];
        std::snprintf(prefix, sizeof prefix, "%08x%02zx-", rd(), i);
        impl_->workers.back()->request_id_prefix = prefix;
    }
}

server::~server() {
    for (auto& w : impl_->workers)
        if (w->thread.joinable()) {
            w->ioc.stop();
            w->thread.join();
        }
}

void server::listen() {
    auto addr = asio::ip::make_address(impl_->opts.address);
    unsigned short port = impl_->opts.port;
    for (auto& w : impl_->workers) {
        tcp::endpoint ep(addr, port);
        w->acceptor.open(ep.protocol());
        w->acceptor.set_option(tcp::acceptor::reuse_address(true));
        int one = 1;
        if (::setsockopt(w->acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
            throw std::system_error(errno, std::generic_category(), "SO_REUSEPORT");
        w->acceptor.bind(ep);
        w->acceptor.listen(asio::socket_base::max_listen_connections);
        port = w->acceptor.local_endpoint().port();  // the others share the first one's port
    }
    impl_->bound_port = port;
}

void server::run() {
    if (impl_->bound_port == 0) listen();
    for (auto& wp : impl_->workers) {
        worker* w = wp.get();
        w->thread = std::thread([this, w] {
            if (on_worker_start) on_worker_start(w->index, w->ioc.get_executor());
            asio::co_spawn(w->ioc, impl_->accept_loop(*w), asio::detached);
            try {
                w->ioc.run();
            } catch (const std::exception& e) {
                log::error("worker {} stopped by an exception: {}", w->index, e.what());
            }
        });
    }
    for (auto& w : impl_->workers) w->thread.join();
}

void server::stop() {
    if (impl_->stopping.exchange(true)) return;
    for (auto& wp : impl_->workers) {
        worker* w = wp.get();
        asio::post(w->ioc, [this, w] {
            w->stopping = true;
            boost::system::error_code ec;
            w->acceptor.close(ec);
            for (auto* s : w->sessions)
                if (!s->busy) s->stream->socket().cancel(ec);  // idle keep-alive: close now
            w->grace.expires_after(impl_->opts.shutdown_grace);
            w->grace.async_wait([w](boost::system::error_code e) {
                if (!e) w->ioc.stop();  // the grace period is over: cut what is left
            });
            impl_->finish_if_idle(*w);
        });
    }
}

unsigned short server::port() const noexcept { return impl_->bound_port; }
std::size_t server::workers() const noexcept { return impl_->workers.size(); }
std::size_t server::open_connections() const noexcept { return impl_->open; }
asio::any_io_executor server::executor(std::size_t worker) const { return impl_->workers.at(worker)->ioc.get_executor(); }

void server::impl::finish_if_idle(worker& w) {
    if (!w.stopping || w.stopped || !w.sessions.empty()) return;
    w.stopped = true;
    w.grace.cancel();
    if (self->on_worker_stop) self->on_worker_stop(w.index);
}

const std::string& server::impl::date(worker& w) {
    std::time_t now = std::time(nullptr);
    if (now != w.date_second) {
        std::tm tm{};
        gmtime_r(&now, &tm);
        char buf[64];
        std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        w.date = buf;
        w.date_second = now;
    }
    return w.date;
}

asio::awaitable<void> server::impl::accept_loop(worker& w) {
    asio::steady_timer pause(w.ioc);
    while (!w.stopping) {
        if (open >= opts.max_connections) {  // back-pressure: leave the rest in the backlog
            pause.expires_after(std::chrono::milliseconds(10));
            co_await pause.async_wait(use_tuple);
            continue;
        }
        auto [ec, socket] = co_await w.acceptor.async_accept(use_tuple);
        if (ec) {
            if (w.stopping || ec == asio::error::operation_aborted) break;
            log::warn("accept failed: {}", ec.message());
            pause.expires_after(std::chrono::milliseconds(10));  // EMFILE and friends
            co_await pause.async_wait(use_tuple);
            continue;
        }
        socket.set_option(tcp::no_delay(true), ec);
        asio::co_spawn(w.ioc, session(w, std::move(socket)), asio::detached);
    }
}

asio::awaitable<void> server::impl::session(worker& w, tcp::socket socket) {
    ++open;
    beast::tcp_stream stream(std::move(socket));
    session_state state{&stream};
    auto it = w.sessions.insert(w.sessions.end(), &state);
    beast::flat_buffer buffer;

    auto send_error = [&](http::status status, std::string_view code, std::string_view message) -> asio::awaitable<void> {
        auto res = error_response(status, code, message);
        res.keep_alive(false);
        res.set(http::field::server, "pgcoro");
        stream.expires_after(opts.header_timeout);
        co_await http::async_write(stream, res, use_tuple);
    };

    for (;;) {
        state.busy = false;
        if (w.stopping) break;
        if (buffer.size() == 0) {  // wait for the next request, bounded by the idle timeout
            stream.expires_after(opts.idle_timeout);
            auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
            if (ec) break;
            buffer.commit(n);
        }
        state.busy = true;
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(opts.header_limit));
        parser.body_limit(opts.body_limit);
        stream.expires_after(opts.header_timeout);  // slow clients are cut here
        auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
        if (hec) {
            if (hec == http::error::header_limit)
                co_await send_error(http::status::request_header_fields_too_large, "HEADERS_TOO_LARGE",
                                    "request headers too large");
            else if (hec != beast::error::timeout && hec != asio::error::eof &&
                     hec != asio::error::connection_reset && hec != asio::error::operation_aborted)
                co_await send_error(http::status::bad_request, "BAD_REQUEST", "malformed HTTP request");
            break;
        }
        auto& head = parser.get();
        if (auto len = parser.content_length(); len && *len > opts.body_limit) {
            // Refuse before reading: the body is never buffered.
            co_await send_error(http::status::payload_too_large, "PAYLOAD_TOO_LARGE", "request body over 1 MiB");
            break;
        }
        if (beast::iequals(head[http::field::expect], "100-continue")) {
            http::response<http::empty_body> cont{http::status::continue_, 11};
            co_await http::async_write(stream, cont, use_tuple);
        }
        if (!parser.is_done()) {
            auto [bec, bn] = co_await http::async_read(stream, buffer, parser, use_tuple);
            if (bec) {
                if (bec == http::error::body_limit)
                    co_await send_error(http::status::payload_too_large, "PAYLOAD_TOO_LARGE", "request body over 1 MiB");
                else if (bec != beast::error::timeout && bec != asio::error::eof)
                    co_await send_error(http::status::bad_request, "BAD_REQUEST", "malformed HTTP request body");
                break;
            }
        }
        request req = parser.release();
        response res = co_await handle(w, req);
        bool keep = req.keep_alive() && !w.stopping;
        res.keep_alive(keep);
        stream.expires_after(opts.idle_timeout);
        auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
        if (wec || !keep) break;
    }
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.close();
    w.sessions.erase(it);
    --open;
    finish_if_idle(w);
}

asio::awaitable<response> server::impl::handle(worker& w, request& req) {
    using namespace asio::experimental::awaitable_operators;
    std::string_view target = req.target();
    auto q = target.find('?');
    std::string request_id;
    if (auto given = req["X-Request-Id"]; !given.empty() && given.size() <= 200) request_id = given;
    else request_id = w.request_id_prefix + std::to_string(++w.request_counter);

    request_context ctx{req,
                        target.substr(0, q),
                        q == std::string_view::npos ? std::string_view{} : target.substr(q + 1),
                        {},
                        request_id,
                        w.index,
                        {}};
    asio::steady_timer deadline(w.ioc, opts.request_deadline);
    auto start = std::chrono::steady_clock::now();
    auto outcome = co_await (routes.dispatch(ctx) || deadline.async_wait(asio::use_awaitable));
    response res = outcome.index() == 0
                       ? std::move(std::get<0>(outcome))
                       : error_response(http::status::service_unavailable, "REQUEST_TIMEOUT",
                                        "the request did not complete within its deadline");
    res.set("X-Request-Id", request_id);
    res.set(http::field::server, "pgcoro");
    res.set(http::field::date, date(w));
    if (log::current_level() <= log::level::debug) {
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
        log::debug("access method={} path={} status={} duration_us={} request_id={}", req.method_string(), ctx.path,
                   res.result_int(), us.count(), request_id);
    }
    co_return res;
}

}  // namespace net
