#include "net/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <algorithm>
#include <cstring>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <ctime>
#include <optional>
#include <limits>
#include <latch>
#include <list>
#include <random>
#include <stdexcept>
#include <thread>

#include "net/json_response.hpp"
#include "net/log.hpp"
#include "net/metrics.hpp"
#include "net/wire.hpp"

namespace net {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// The first read of a request; the parser grows the buffer when a request needs more.
// Idle keep-alive connections hold no buffer at all (see session()), so this is
// allocated per request: under 1 KiB it comes from glibc's per-thread cache, where a
// 4 KiB block took the slow path (and malloc_consolidate) every time.
constexpr std::size_t first_read_size = 1000;
// After refusing a request whose body was not read, input is discarded for at most this
// long and this much before closing (see drain()).
constexpr auto linger_time = std::chrono::seconds(1);
constexpr std::size_t linger_bytes = 256 * 1024;

// request_context::peer_address() for a connection's socket.
std::string peer_address_of(const void* socket) {
    boost::system::error_code ec;
    auto ep = static_cast<const tcp::socket*>(socket)->remote_endpoint(ec);
    return ec ? std::string() : ep.address().to_string();
}

// What the worker's sweep (sweep()) needs to enforce a session's time limits. Sessions
// arm no timer of their own: a timer armed and cancelled around every read, write and
// handler cost more than the rest of a small request.
struct session_state {
    tcp::socket* socket;
    // Bound to the session coroutine's cancellation slot: emitting it cancels whatever the
    // handler is awaiting (a pool acquire, a query), as a timer racing it would.
    asio::cancellation_signal* cancel;
    bool busy = false;        // between the first byte of a request and the end of its response
    bool in_handler = false;  // the handler runs: the deadline applies
    bool timed_out = false;   // the deadline passed and the handler was cancelled
    bool abandoned = false;   // the client closed the connection; the handler was cancelled
    // When the sweep cancels the socket: waiting for a request (idle), reading a request
    // or writing a response (io).
    steady::time_point idle_until = steady::time_point::max();
    steady::time_point io_until = steady::time_point::max();
    steady::time_point handler_until = steady::time_point::max();
};

// Members are ordered for destruction: when the io_context goes (with coroutine frames
// still in it, only if a handler ignored cancellation past the grace period), the
// session bookkeeping those frames touch must still exist, and the acceptor and timers
// must already be gone.
struct worker {
    explicit worker(std::size_t i) : index(i), acceptor(ioc), grace(ioc), sweeper(ioc) {}
    std::size_t index;
    std::list<session_state*> sessions;
    bool stopping = false;  // no more accepting; connections close after their current request
    bool cutting = false;   // the grace period is over: in-flight requests are being cancelled
    bool stopped = false;
    std::uint64_t request_counter = 0;
    std::string request_id_prefix;
    std::time_t date_second = 0;
    std::string date;
    asio::io_context ioc{1};
    tcp::acceptor acceptor;
    asio::steady_timer grace;
    asio::steady_timer sweeper;
    std::thread thread;
};

// What the metrics and the access log need about one request, filled as it is read and
// answered. Views point into the request or the router, which outlive it.
struct exchange {
    explicit exchange(metrics& m) : registry(m) {}
    exchange(const exchange&) = delete;
    exchange& operator=(const exchange&) = delete;
    ~exchange() { finished(); }
    void started() {
        counted = true;
        registry.request_started();
    }
    void finished() {
        if (counted) registry.request_finished();
        counted = false;
    }

    metrics& registry;
    bool counted = false;  // in the in-flight gauge
    steady::time_point start = steady::now();
    http::verb method = http::verb::unknown;
    std::string_view method_text;  // as the client sent it, for the log
    std::string_view path;
    std::string_view route;
    std::string request_id;
};

// One request of a connection, from its first byte to its answer.
struct job {
    explicit job(metrics& m) : x(m) {}
    exchange x;
    request req;
    response res;
};

// Requests HTTP-pipelined behind a safe one (GET, HEAD, OPTIONS) that are themselves
// safe are handled together, concurrently, at most this many at a time (RFC 9112 9.3.2:
// a server may process pipelined requests with safe methods in parallel; it answers
// them in order). Any other request is handled on its own, after the ones before it.
constexpr std::size_t max_burst = 32;

// Recorded (metrics, access log) for a request whose client hung up before its answer,
// as nginx does; never sent.
constexpr unsigned client_closed_request = 499;

// Pipelined responses held back are written once they reach this size.
constexpr std::size_t pending_out_limit = 64 * 1024;

// True when the buffer already holds the whole header of a next request.
bool next_request_buffered(const beast::flat_buffer& b) {
    auto data = static_cast<const char*>(b.data().data());
    return std::string_view(data, b.size()).find("\r\n\r\n") != std::string_view::npos;
}

bool is_safe(http::verb v) { return v == http::verb::get || v == http::verb::head || v == http::verb::options; }

// True when the buffered next request has a safe method, read from its request line
// without parsing it (methods are case-sensitive).
bool next_request_is_safe(const beast::flat_buffer& b) {
    std::string_view data(static_cast<const char*>(b.data().data()), b.size());
    return data.starts_with("GET ") || data.starts_with("HEAD ") || data.starts_with("OPTIONS ");
}

void set_limits(http::request_parser<http::string_body>& parser, const server_options& o) {
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(o.header_limit, std::numeric_limits<std::uint32_t>::max())));
    parser.body_limit(o.body_limit);
}

// Takes the next request when it is already whole in the buffer: the usual case, a
// request arriving in one read (with HTTP pipelining, several are buffered). One that is
// cut short, malformed or over a limit stays in the buffer, for the path that reads the
// rest or answers the error.
std::optional<request> take_whole_request(beast::flat_buffer& buffer, const server_options& o) {
    if (!next_request_buffered(buffer)) return std::nullopt;
    std::string_view data(static_cast<const char*>(buffer.data().data()), buffer.size());
    http::request_parser<http::string_body> parser;
    set_limits(parser, o);
    parser.eager(true);
    std::size_t used = 0;
    boost::system::error_code ec;
    while (!parser.is_done()) {
        auto n = parser.put(asio::buffer(data.data() + used, data.size() - used), ec);
        used += n;
        if (ec || n == 0) break;
    }
    if (ec || !parser.is_done()) return std::nullopt;
    buffer.consume(used);
    return parser.release();
}

// Errors after which nobody is left to answer: the peer went away, it was too slow (the
// stream is already closed), or the server is cutting the connection.
bool peer_gone(const boost::system::error_code& ec) {
    return ec == asio::error::eof || ec == http::error::end_of_stream ||
           ec == http::error::partial_message || ec == asio::error::connection_reset ||
           ec == asio::error::operation_aborted || ec == asio::error::broken_pipe || ec == asio::error::bad_descriptor;
}

// logfmt value: bare when safe, else quoted with escapes, so a client-chosen path or
// request id can neither forge log lines nor fields. Long values are cut.
void append_log_value(std::string& out, std::string_view v) {
    constexpr std::size_t max_len = 512;
    bool cut = v.size() > max_len;
    if (cut) v = v.substr(0, max_len);
    bool bare = !v.empty() && !cut;
    for (unsigned char c : v)
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) bare = false;
    if (bare) {
        out += v;
        return;
    }
    out += '"';
    for (unsigned char c : v) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < ' ' || c == 0x7f) {
            static constexpr char digits[] = "0123456789abcdef";
            out += "\\x";
            out += digits[c >> 4];
            out += digits[c & 15];
        } else out += static_cast<char>(c);
    }
    if (cut) out += "...";
    out += '"';
}

// True when the client has closed its end (or reset it): a look at the socket without
// consuming anything, so a pipelined request waiting there stays where it is.
bool peer_closed(tcp::socket& socket) {
    char c;
    auto n = ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

response timeout_response() {
    auto res = error_response(http::status::service_unavailable, "REQUEST_TIMEOUT",
                              "the request did not complete within its deadline");
    res.set(http::field::retry_after, "1");
    return res;
}

void use_batch_scheduling() {
#ifdef SCHED_BATCH
    sched_param param{};
    if (int rc = pthread_setschedparam(pthread_self(), SCHED_BATCH, &param); rc != 0)
        log::warn("SCHED_BATCH refused ({}): the worker keeps the default scheduling", std::strerror(rc));
#else
    log::warn("SCHED_BATCH is not available on this system: the worker keeps the default scheduling");
#endif
}

}  // namespace

struct server::impl {
    impl(server_options o, const router& r, metrics* m)
        : opts(std::move(o)), routes(r), own_metrics(m ? nullptr : std::make_unique<metrics>()),
          registry(m ? *m : *own_metrics) {}

    asio::awaitable<void> accept_loop(worker& w);
    asio::awaitable<void> sweep(worker& w);
    asio::awaitable<void> session(worker& w, tcp::socket socket, asio::cancellation_signal& cancel);
    asio::awaitable<void> handle(worker& w, session_state& state, job& first, std::list<job>& more);
    asio::awaitable<void> run_handler(worker& w, session_state& state, job& j);
    asio::awaitable<bool> serve(worker& w, session_state& state, job& first, std::list<job>& more,
                                beast::flat_buffer& buffer, const std::string& remote, std::string& out);
    void describe(worker& w, exchange& x, const http::request_header<>& head);
    asio::awaitable<void> reject(worker& w, session_state& state, exchange& x, const std::string& remote,
                                 http::status status, std::string_view code, std::string_view message);
    static asio::awaitable<void> drain(session_state& state);
    std::string request_id(worker& w, std::string_view given);
    // Records the request (metrics, access log) once its response is ready.
    void finish(exchange& x, unsigned status, const std::string& remote);
    void cut(worker& w);
    void finish_if_idle(worker& w);
    const std::string& date(worker& w);

    server* self = nullptr;
    server_options opts;
    const router& routes;
    // Declared before the workers: sessions still touch them while a worker's
    // io_context is destroyed.
    std::unique_ptr<metrics> own_metrics;
    metrics& registry;
    std::atomic<std::size_t> open{0};
    std::atomic<bool> stopping{false};
    unsigned short bound_port = 0;
    std::vector<std::unique_ptr<worker>> workers;
};

// Keeps a session in its worker's list and in the connection counts for as long as its
// coroutine frame exists, whichever way it ends.
struct session_registration {
    session_registration(server::impl& s, worker& w, session_state& st)
        : srv(s), wk(w), it(w.sessions.insert(w.sessions.end(), &st)) {}
    session_registration(const session_registration&) = delete;
    session_registration& operator=(const session_registration&) = delete;
    ~session_registration() {
        wk.sessions.erase(it);
        srv.open.fetch_sub(1, std::memory_order_relaxed);
        srv.registry.connection_closed();
    }
    server::impl& srv;
    worker& wk;
    std::list<session_state*>::iterator it;
};

server::server(server_options options, const router& routes) : server(std::move(options), routes, nullptr) {}

server::server(server_options options, const router& routes, metrics& registry)
    : server(std::move(options), routes, &registry) {}

server::server(server_options options, const router& routes, metrics* registry)
    : impl_(std::make_unique<impl>(std::move(options), routes, registry)) {
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
    if (port != 0) {
        // SO_REUSEPORT (below) would let this server join a port another one already
        // listens on, each then taking a share of the connections: probe without it first.
        tcp::acceptor probe(impl_->workers.front()->ioc);
        tcp::endpoint ep(addr, port);
        probe.open(ep.protocol());
        probe.set_option(tcp::acceptor::reuse_address(true));  // a port in TIME_WAIT is free
        boost::system::error_code ec;
        probe.bind(ep, ec);
        if (ec == asio::error::address_in_use)
            throw std::runtime_error("port " + std::to_string(port) + " is in use (another server?)");
    }
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
    std::latch started(static_cast<std::ptrdiff_t>(impl_->workers.size()));
    for (auto& wp : impl_->workers) {
        worker* w = wp.get();
        w->thread = std::thread([this, w, &started] {
            if (impl_->opts.batch_scheduling) use_batch_scheduling();
            if (on_worker_start) on_worker_start(w->index, w->ioc.get_executor());
            started.count_down();
            asio::co_spawn(w->ioc, impl_->accept_loop(*w), asio::detached);
            asio::co_spawn(w->ioc, impl_->sweep(*w), asio::detached);
            try {
                w->ioc.run();
            } catch (const std::exception& e) {
                log::error("worker {} stopped by an exception: {}", w->index, e.what());
            }
        });
    }
    started.wait();
    if (on_running) on_running();
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
            w->sweeper.cancel();
            for (auto* s : w->sessions)
                if (!s->busy) s->socket->cancel(ec);  // idle keep-alive: close now
            w->grace.expires_after(impl_->opts.shutdown_grace);
            w->grace.async_wait([this, w](boost::system::error_code e) {
                if (!e) impl_->cut(*w);
            });
            impl_->finish_if_idle(*w);
        });
    }
}

unsigned short server::port() const noexcept { return impl_->bound_port; }
std::size_t server::workers() const noexcept { return impl_->workers.size(); }
std::size_t server::open_connections() const noexcept { return impl_->open; }
asio::any_io_executor server::executor(std::size_t worker) const { return impl_->workers.at(worker)->ioc.get_executor(); }
metrics& server::server_metrics() noexcept { return impl_->registry; }

// The grace period is over: cancel the handlers still running (they unwind normally, so
// their database connections go back to their pools) and abort pending socket I/O. A
// handler that ignores cancellation gets one more second before the event loop stops.
void server::impl::cut(worker& w) {
    w.cutting = true;
    if (!w.sessions.empty())
        log::warn("worker {}: {} connections still busy after the grace period, cancelling them", w.index,
                  w.sessions.size());
    boost::system::error_code ec;
    // Collected first: a cancelled handler may finish (and its session leave the list)
    // while the signal is being emitted.
    std::vector<session_state*> busy;
    for (auto* s : w.sessions) {
        if (s->in_handler) busy.push_back(s);
        else s->socket->cancel(ec);
    }
    for (auto* s : busy) s->cancel->emit(asio::cancellation_type::terminal);
    w.grace.expires_after(std::chrono::seconds(1));
    w.grace.async_wait([&w](boost::system::error_code e) {
        if (!e) {
            log::error("worker {}: handlers ignored cancellation, stopping the event loop", w.index);
            w.ioc.stop();
        }
    });
}

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

// The client's X-Request-Id when it is short printable ASCII (it is echoed in a header
// and logged), else one of ours: worker prefix + counter.
std::string server::impl::request_id(worker& w, std::string_view given) {
    bool usable = !given.empty() && given.size() <= 200 &&
                  std::all_of(given.begin(), given.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
    if (usable) return std::string(given);
    return w.request_id_prefix + std::to_string(++w.request_counter);
}

void server::impl::finish(exchange& x, unsigned status, const std::string& remote) {
    auto took = steady::now() - x.start;
    x.finished();
    std::string_view method = x.method == http::verb::unknown ? "OTHER" : http::to_string(x.method);
    registry.record(method, x.route.empty() ? std::string_view("unmatched") : x.route, status, took);

    bool info = opts.access_log;
    if (!info && log::current_level() > log::level::debug) return;
    std::string line = "access remote=";
    append_log_value(line, remote);
    line += " method=";
    append_log_value(line, x.method_text.empty() ? std::string_view("-") : x.method_text);
    line += " path=";
    append_log_value(line, x.path.empty() ? std::string_view("-") : x.path);
    line += " route=";
    append_log_value(line, x.route.empty() ? std::string_view("-") : x.route);
    line += " status=" + std::to_string(status);
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.3f", std::chrono::duration<double, std::milli>(took).count());
    line += " duration_ms=";
    line += ms;
    line += " request_id=";
    append_log_value(line, x.request_id);
    if (info) log::info("{}", line);
    else log::debug("{}", line);
}

// Waits for the listener to become readable, then accepts what is queued, one slot of
// max_connections reserved before each accept(). Reserving first (rather than checking
// and then accepting, as a pending async_accept would) keeps the limit exact across
// workers; at the limit, new connections wait in the kernel's backlog.
asio::awaitable<void> server::impl::accept_loop(worker& w) {
    asio::steady_timer pause(w.ioc);
    boost::system::error_code ec;
    w.acceptor.non_blocking(true, ec);
    while (!w.stopping) {
        auto [wec] = co_await w.acceptor.async_wait(tcp::acceptor::wait_read, use_tuple);
        if (wec) {
            if (w.stopping || wec == asio::error::operation_aborted) break;
            log::warn("accept failed: {}", wec.message());
            pause.expires_after(std::chrono::milliseconds(10));
            co_await pause.async_wait(use_tuple);
            continue;
        }
        bool backoff = false;
        // A bounded batch, then back to the event loop so a burst of connections does not
        // starve the requests already on this worker.
        for (int batch = 0; batch < 64 && !w.stopping; ++batch) {
            if (open.fetch_add(1, std::memory_order_relaxed) >= opts.max_connections) {
                open.fetch_sub(1, std::memory_order_relaxed);
                backoff = true;  // at the limit: retry once a connection has closed
                break;
            }
            tcp::socket socket(w.ioc);
            w.acceptor.accept(socket, ec);
            if (ec) {
                open.fetch_sub(1, std::memory_order_relaxed);
                if (ec != asio::error::would_block && ec != asio::error::try_again && !w.stopping) {
                    log::warn("accept failed: {}", ec.message());
                    backoff = true;  // EMFILE and friends: the connection stays queued, so wait
                }
                break;
            }
            socket.set_option(tcp::no_delay(true), ec);
            registry.connection_opened();
            // The signal outlives the session's frame: the completion handler owns it.
            auto cancel = std::make_unique<asio::cancellation_signal>();
            auto& signal = *cancel;
            auto s = session(w, std::move(socket), signal);
            auto done = [this, &w, cancel = std::move(cancel)](std::exception_ptr e) {
                // A failing session must not take its worker (and every other connection
                // on it) down: log it and carry on.
                if (e) {
                    try {
                        std::rethrow_exception(e);
                    } catch (const std::exception& x) {
                        log::error("connection failed: {}", x.what());
                    } catch (...) {
                        log::error("connection failed with a non-standard exception");
                    }
                }
                finish_if_idle(w);
            };
            asio::co_spawn(w.ioc, std::move(s), asio::bind_cancellation_slot(signal.slot(), std::move(done)));
        }
        if (backoff) {
            pause.expires_after(std::chrono::milliseconds(10));
            co_await pause.async_wait(use_tuple);
        }
    }
}

// Enforces every session's time limits: the idle timeout of keep-alive connections, the
// header and write timeouts (the socket is cancelled, the session ends) and the request
// deadline (the handler is cancelled, the client gets 503 REQUEST_TIMEOUT). Limits are
// met a quarter of the shortest one late at most (and at most a second late). It also
// cancels the handlers of clients that hung up: their queries are cancelled on the
// database server instead of running to completion for nobody.
asio::awaitable<void> server::impl::sweep(worker& w) {
    auto shortest = std::min({opts.idle_timeout, opts.header_timeout, opts.request_deadline});
    auto interval = std::clamp<std::chrono::milliseconds>(shortest / 4, std::chrono::milliseconds(10),
                                                          std::chrono::seconds(1));
    std::vector<session_state*> late;
    while (!w.stopping) {
        w.sweeper.expires_after(interval);
        auto [ec] = co_await w.sweeper.async_wait(use_tuple);
        if (ec || w.stopping) break;
        auto now = steady::now();
        boost::system::error_code cec;
        late.clear();
        for (auto* s : w.sessions) {
            if (s->idle_until <= now || s->io_until <= now) s->socket->cancel(cec);
            if (!s->in_handler || s->timed_out || s->abandoned) continue;
            if (s->handler_until <= now) {
                s->timed_out = true;
                late.push_back(s);
            } else if (peer_closed(*s->socket)) {
                s->abandoned = true;
                late.push_back(s);
            }
        }
        for (auto* s : late) s->cancel->emit(asio::cancellation_type::terminal);
    }
}

asio::awaitable<void> server::impl::session(worker& w, tcp::socket socket, asio::cancellation_signal& cancel) {
    session_state state{&socket, &cancel};
    session_registration registration(*this, w, state);
    std::string remote;  // only for the access log: getpeername costs a system call
    if (opts.access_log || log::current_level() <= log::level::debug) {
        boost::system::error_code ec;
        auto ep = socket.remote_endpoint(ec);
        if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    }
    beast::flat_buffer buffer;
    bool unread_input = false;  // a request was refused before its body was read
    // Serialised responses not yet written. Answers to HTTP-pipelined requests wait here
    // while the next request is already buffered, so a burst is answered with one write.
    std::string out;
    // The requests pipelined behind the current one and handled with it (see serve()). A
    // list: empty, it allocates nothing, which thousands of idle connections notice.
    std::list<job> burst;
    auto flush = [&]() -> asio::awaitable<bool> {
        if (out.empty()) co_return true;
        state.io_until = steady::now() + opts.idle_timeout;
        auto [ec, n] = co_await asio::async_write(socket, asio::buffer(out), use_tuple);
        state.io_until = steady::time_point::max();
        out.clear();
        if (out.capacity() > 2 * pending_out_limit) out.shrink_to_fit();
        co_return !ec;
    };
    // Reads what the socket has into the buffer; eof and errors as Beast's reads report them.
    auto read_some = [&]() -> asio::awaitable<boost::system::error_code> {
        auto [ec, n] = co_await socket.async_read_some(buffer.prepare(beast::read_size(buffer, 65536)), use_tuple);
        buffer.commit(n);
        co_return ec;
    };

    for (;;) {
        state.busy = false;
        if (w.stopping) {
            co_await flush();
            break;
        }
        if (buffer.size() == 0) {
            // Wait for the next request holding no input buffer: thousands of idle
            // keep-alive connections then cost little more than their sockets.
            buffer.shrink_to_fit();
            state.idle_until = steady::now() + opts.idle_timeout;
            auto [wec] = co_await socket.async_wait(tcp::socket::wait_read, use_tuple);
            state.idle_until = steady::time_point::max();
            if (wec) break;
            auto [ec, n] = co_await socket.async_read_some(buffer.prepare(first_read_size), use_tuple);
            if (ec) break;  // eof: the client closed the connection
            buffer.commit(n);
        }
        state.busy = true;
        job j(registry);
        auto& x = j.x;
        auto& req = j.req;
        if (auto whole = take_whole_request(buffer, opts)) {
            req = std::move(*whole);
            x.started();
            describe(w, x, req);
        } else {
            // A request that is not whole yet (or is refused): read here as it arrives.
            http::request_parser<http::string_body> parser;
            set_limits(parser, opts);
            // Feeds the parser what is buffered, reading more while it needs more, until
            // `done` holds (the header, then the body).
            auto parse_until = [&](auto done) -> asio::awaitable<boost::system::error_code> {
                boost::system::error_code ec;
                while (!done()) {
                    if (buffer.size() > 0) {
                        auto used = parser.put(buffer.data(), ec);
                        buffer.consume(used);
                        if (ec && ec != http::error::need_more) co_return ec;
                        if (!ec && used > 0) continue;
                        ec = {};
                    }
                    if (beast::read_size(buffer, 65536) == 0) co_return http::error::buffer_overflow;
                    ec = co_await read_some();
                    if (ec == asio::error::eof) {
                        if (!parser.got_some()) co_return http::error::end_of_stream;
                        ec = {};
                        parser.put_eof(ec);
                        co_return ec ? ec : http::error::partial_message;
                    }
                    if (ec) co_return ec;
                }
                co_return ec;
            };
            // From the request's first byte: a client trickling its headers is cut here.
            state.io_until = steady::now() + opts.header_timeout;
            auto hec = co_await parse_until([&] { return parser.is_header_done(); });
            state.io_until = steady::time_point::max();
            auto& head = parser.get();
            if (hec) {
                if (peer_gone(hec)) break;
                if (!co_await flush()) break;
                unread_input = true;
                if (hec == http::error::body_limit) {
                    // Content-Length over the limit, found by the parser at the end of the
                    // header: refused on the declared length, the body is never read.
                    describe(w, x, head);
                    co_await reject(w, state, x, remote, http::status::payload_too_large, "PAYLOAD_TOO_LARGE",
                                    "request body too large");
                } else if (hec == http::error::header_limit) {
                    x.request_id = request_id(w, {});
                    co_await reject(w, state, x, remote, http::status::request_header_fields_too_large,
                                    "HEADERS_TOO_LARGE", "request headers too large");
                } else {
                    x.request_id = request_id(w, {});
                    co_await reject(w, state, x, remote, http::status::bad_request, "BAD_REQUEST",
                                    "malformed HTTP request");
                }
                break;
            }
            x.started();
            describe(w, x, head);
            if (!parser.is_done()) {
                if (head.version() >= 11 && beast::iequals(head[http::field::expect], "100-continue")) {
                    out += "HTTP/1.1 100 Continue\r\n\r\n";
                }
                if (!co_await flush()) break;
                // The body gets a budget of its own, as long as the headers'.
                state.io_until = steady::now() + opts.header_timeout;
                auto bec = co_await parse_until([&] { return parser.is_done(); });
                state.io_until = steady::time_point::max();
                if (bec) {
                    if (peer_gone(bec)) break;
                    unread_input = true;
                    if (bec == http::error::body_limit)  // chunked: no length to check up front
                        co_await reject(w, state, x, remote, http::status::payload_too_large, "PAYLOAD_TOO_LARGE",
                                        "request body too large");
                    else
                        co_await reject(w, state, x, remote, http::status::bad_request, "BAD_REQUEST",
                                        "malformed HTTP request body");
                    break;
                }
            }
            req = parser.release();
            x.method_text = req.method_string();  // the views now point into req
            x.path = req.target().substr(0, req.target().find('?'));
        }
        bool keep = co_await serve(w, state, j, burst, buffer, remote, out);
        if (w.cutting) break;
        // Another request is already here: answer it first, write both together.
        if (keep && out.size() < pending_out_limit && next_request_buffered(buffer)) continue;
        if (!co_await flush() || !keep) break;
    }
    if (unread_input && !w.cutting) co_await drain(state);
    boost::system::error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    socket.close(ec);
}

// Answers a request the server will not handle, and ends the connection after it.
asio::awaitable<void> server::impl::reject(worker& w, session_state& state, exchange& x, const std::string& remote,
                                           http::status status, std::string_view code, std::string_view message) {
    auto res = error_response(status, code, message);
    finish(x, res.result_int(), remote);
    std::string out;
    append_response(out, res, {date(w), x.request_id, false, false, false});
    state.io_until = steady::now() + opts.header_timeout;
    co_await asio::async_write(*state.socket, asio::buffer(out), use_tuple);  // failing or not, the connection ends
    state.io_until = steady::time_point::max();
}

// Closing a socket with unread input makes the kernel send RST, which can destroy the
// response we just sent before the client reads it (typically a 413 while the client is
// still uploading). So: half-close, then discard what still arrives, bounded in time and
// bytes, into a small buffer that lives only here (a lingering close, as nginx does).
asio::awaitable<void> server::impl::drain(session_state& state) {
    boost::system::error_code ec;
    state.socket->shutdown(tcp::socket::shutdown_send, ec);
    if (ec) co_return;
    state.io_until = steady::now() + linger_time;
    char sink[4096];
    std::size_t total = 0;
    while (total < linger_bytes) {
        auto [rec, n] = co_await state.socket->async_read_some(asio::buffer(sink), use_tuple);
        if (rec) break;
        total += n;
    }
    state.io_until = steady::time_point::max();
}

// Handles a request and appends its answer to `out`; returns whether the connection
// stays open. When the request is safe and more safe requests are pipelined whole behind
// it, those are taken from `buffer` into `more` and handled with it, concurrently: their
// database lookups then share round trips (and, batched, statements) instead of waiting
// for each other. Their answers are appended in the order the requests came.
asio::awaitable<bool> server::impl::serve(worker& w, session_state& state, job& first, std::list<job>& more,
                                          beast::flat_buffer& buffer, const std::string& remote, std::string& out) {
    more.clear();
    if (is_safe(first.req.method()) && first.req.keep_alive()) {
        while (more.size() + 1 < max_burst && next_request_is_safe(buffer)) {
            auto next = take_whole_request(buffer, opts);
            if (!next) break;  // cut short or malformed: the session's loop deals with it next
            auto& j = more.emplace_back(registry);
            j.req = std::move(*next);
            j.x.started();
            describe(w, j.x, j.req);
            if (!j.req.keep_alive()) break;  // nothing after a Connection: close is served
        }
    }
    co_await handle(w, state, first, more);
    if (w.cutting) co_return false;
    bool keep = !w.stopping;
    auto answer = [&](job& j) {
        if (state.abandoned) {
            finish(j.x, client_closed_request, remote);  // nobody to answer
            keep = false;
            return;
        }
        keep = keep && j.req.keep_alive();
        // Recorded before writing: a client that has its response can count on seeing it
        // in /metrics (the write completes on a later turn of the event loop).
        finish(j.x, j.res.result_int(), remote);
        // HEAD: the same headers (Content-Length included) without the body, or the
        // client would read the body as the next response.
        append_response(out, j.res, {date(w), j.x.request_id, keep, j.req.version() < 11,
                                     j.req.method() == http::verb::head});
    };
    answer(first);
    for (auto& j : more) answer(j);
    more.clear();
    co_return keep;
}

// What the metrics and the log say of a request, from its header.
void server::impl::describe(worker& w, exchange& x, const http::request_header<>& head) {
    x.method = head.method();
    x.method_text = head.method_string();
    x.path = head.target().substr(0, head.target().find('?'));
    x.request_id = request_id(w, head["X-Request-Id"]);
}

// Runs the handlers of `first` and `more` (concurrently, each a coroutine of its own,
// when there are several) under one request deadline.
asio::awaitable<void> server::impl::handle(worker& w, session_state& state, job& first, std::list<job>& more) {
    // The deadline is the sweep's to enforce: past it, the sweep cancels what the
    // handlers await (through the session's cancellation slot) and sets timed_out.
    state.timed_out = state.abandoned = false;
    state.handler_until = steady::now() + opts.request_deadline;
    state.in_handler = true;
    std::exception_ptr failed;
    if (more.empty()) {
        try {
            co_await run_handler(w, state, first);
        } catch (...) {
            failed = std::current_exception();
        }
    } else {
        // The group passes the session's cancellation on to every handler.
        using spawned = decltype(asio::co_spawn(w.ioc, run_handler(w, state, first), asio::deferred));
        std::vector<spawned> handlers;
        handlers.reserve(more.size() + 1);
        handlers.push_back(asio::co_spawn(w.ioc, run_handler(w, state, first), asio::deferred));
        for (auto& j : more) handlers.push_back(asio::co_spawn(w.ioc, run_handler(w, state, j), asio::deferred));
        auto [order, errors] = co_await asio::experimental::make_parallel_group(std::move(handlers))
                                   .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
        for (auto& e : errors)
            if (e && !failed) failed = e;
    }
    state.in_handler = false;
    state.handler_until = steady::time_point::max();
    // The session goes on serving: its cancellation state is cleared for the next request.
    if (state.timed_out || state.abandoned) co_await asio::this_coro::reset_cancellation_state();
    if (failed) std::rethrow_exception(failed);
}

// Runs one request's handler. The router turns what the handler throws into a response;
// what escapes it is the cancellation (the deadline, a client gone, the end of the
// shutdown grace period), answered 503 REQUEST_TIMEOUT.
asio::awaitable<void> server::impl::run_handler(worker& w, session_state& state, job& j) {
    std::string_view target = j.req.target();
    auto q = target.find('?');
    request_context ctx{j.req,
                        target.substr(0, q),
                        q == std::string_view::npos ? std::string_view{} : target.substr(q + 1),
                        {},
                        std::move(j.x.request_id),
                        w.index,
                        {},
                        state.socket,
                        &peer_address_of};
    try {
        j.res = co_await routes.dispatch(ctx);
    } catch (...) {
        if (!state.timed_out && !state.abandoned && !w.cutting) throw;
    }
    j.x.request_id = std::move(ctx.request_id);  // the answer and the metrics need them
    j.x.route = ctx.route;
    if (state.timed_out || state.abandoned) j.res = timeout_response();
}

}  // namespace net
