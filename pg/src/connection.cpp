// One PostgreSQL connection: connecting, the reader and writer loops, pipelined requests
// and their answers, and the public handle. Server-side cancellation is cancel.cpp; the
// hand-over of notifications is listener.cpp.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cctype>

#include "connection_impl.hpp"
#include "pgcoro/timeout.hpp"

namespace pgcoro {

namespace detail {

connection_impl::connection_impl(asio::any_io_executor e, connect_options o)
    : ex(std::move(e)), options(std::move(o)), socket(ex), resume_signal(ex) {
    resume_signal.expires_at(std::chrono::steady_clock::time_point::max());
}

connection_impl::~connection_impl() {
    if (socket.is_open()) socket.release();  // libpq owns the descriptor
    if (conn) PQfinish(conn);
}

error connection_impl::last_error(errc kind) const {
    return error(kind, conn ? trimmed(PQerrorMessage(conn)) : std::string("out of memory"));
}

asio::awaitable<void> connection_impl::connect() {
    using namespace asio::experimental::awaitable_operators;
    // Pin the session settings the text decoders depend on.
    const char* keys[] = {"dbname", "options", "application_name", "client_encoding", nullptr};
    const char* values[] = {options.conninfo.c_str(),
                            "-c DateStyle=ISO,MDY -c TimeZone=UTC -c extra_float_digits=3 -c IntervalStyle=iso_8601",
                            options.application_name.c_str(), "UTF8", nullptr};
    conn = PQconnectStartParams(keys, values, /*expand_dbname=*/1);
    if (!conn || PQstatus(conn) == CONNECTION_BAD) throw last_error(errc::connect_failed);

    asio::steady_timer deadline(ex, options.connect_timeout);
    PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
    for (;;) {
        if (poll == PGRES_POLLING_OK) break;
        if (poll == PGRES_POLLING_FAILED) throw last_error(errc::connect_failed);
        int fd = PQsocket(conn);
        if (fd < 0) throw last_error(errc::connect_failed);
        // Registered afresh each time: when libpq moves to another socket (the next host,
        // an SSL fallback) the new one often gets the old one's number, and the reactor
        // forgot the old one when libpq closed it, so comparing numbers is not enough.
        if (socket.is_open()) socket.release();
        socket.assign(fd);
        auto which = poll == PGRES_POLLING_READING ? asio::posix::stream_descriptor::wait_read
                                                   : asio::posix::stream_descriptor::wait_write;
        // The socket wait reports errors as a value: `||` waits for the first *success*,
        // and a refused connection must end the wait at once, not at the deadline.
        auto r = co_await (socket.async_wait(which, asio::as_tuple(asio::use_awaitable)) ||
                           deadline.async_wait(asio::use_awaitable));
        if (r.index() == 1) throw error(errc::timeout, "connect timed out");
        poll = PQconnectPoll(conn);
    }

    if (PQsetnonblocking(conn, 1) != 0 || PQenterPipelineMode(conn) != 1)
        throw last_error(errc::connect_failed);
    PQsetNoticeReceiver(
        conn,
        [](void* arg, const PGresult* r) {
            auto* self = static_cast<connection_impl*>(arg);
            if (self->options.on_notice) self->options.on_notice(trimmed(PQresultErrorMessage(r)));
        },
        this);
    cancelling = std::make_shared<cancel_state>();
    cancelling->canceller = std::shared_ptr<PGcancel>(PQgetCancel(conn), [](PGcancel* c) {
        if (c) PQfreeCancel(c);
    });
    reading = true;
    asio::co_spawn(ex, [self = shared_from_this()] { return self->read_loop(); }, asio::detached);
}

// The single reader: waits for the socket to become readable, lets libpq consume what
// arrived, and hands complete results to the requests in order. It keeps reading while
// idle too, so a server-side disconnect is noticed before the pool hands us out.
asio::awaitable<void> connection_impl::read_loop() {
    auto self = shared_from_this();
    while (!broken) {
        boost::system::error_code ec;
        if (on_notification) deliver_notifications();  // parsed already, maybe while paused
        if (read_paused && queue.empty()) {  // a slow listener: the server holds the rest
            co_await resume_signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            resume_signal.expires_at(std::chrono::steady_clock::time_point::max());
            continue;
        }
        co_await socket.async_wait(asio::posix::stream_descriptor::wait_read,
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (broken) break;
        if (ec) {
            if (ec == asio::error::operation_aborted) continue;
            close("socket wait failed");
            break;
        }
        if (!PQconsumeInput(conn)) {
            fail_all(last_error(errc::connection_lost));
            break;
        }
        process_input();
        if (!broken && PQstatus(conn) == CONNECTION_BAD) fail_all(last_error(errc::connection_lost));
    }
    reading = false;
}

asio::awaitable<void> connection_impl::flush_loop() {
    auto self = shared_from_this();
    while (!broken) {
        int r = PQflush(conn);
        if (r == 0) break;
        if (r < 0) {
            fail_all(last_error(errc::connection_lost));
            break;
        }
        poke();
        boost::system::error_code ec;
        co_await socket.async_wait(asio::posix::stream_descriptor::wait_write,
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec && ec != asio::error::operation_aborted) {
            fail_all(error(errc::connection_lost, "socket wait failed"));
            break;
        }
    }
    flushing = false;
    if (!broken) poke();
}

void connection_impl::flush() {
    if (broken) return;
    if (flushing) return poke();  // flush_loop finishes the write; input may be waiting
    int r = PQflush(conn);
    if (r < 0) {
        fail_all(last_error(errc::connection_lost));
    } else if (r == 1) {  // the socket is full: finish when it drains
        flushing = true;
        asio::co_spawn(ex, [self = shared_from_this()] { return self->flush_loop(); }, asio::detached);
    }
    poke();
}

// When a send finds the socket full, libpq reads whatever input is waiting (to avoid a
// deadlock with the server), and those bytes never make the socket readable again for
// the reader: look at libpq's buffer after every send, or results sit there until
// unrelated traffic arrives (this showed as rare one-second stalls under load).
void connection_impl::poke() {
    if (poke_scheduled || broken || queue.empty() || in_script || PQisBusy(conn)) return;
    poke_scheduled = true;
    asio::post(ex, [self = shared_from_this()] {
        self->poke_scheduled = false;
        self->process_input();
    });
}

void connection_impl::process_input() {
    while (!queue.empty() && !broken) {
        if (PQisBusy(conn)) return;
        PGresult* r = PQgetResult(conn);
        auto& p = *queue.front();
        if (p.simple) {
            if (!r) {  // a script ends at the first NULL; back to pipeline mode
                in_script = false;
                auto done = queue.front();
                queue.pop_front();
                front_changed();
                if (PQenterPipelineMode(conn) != 1) {
                    fail_all(last_error(errc::protocol));
                    return;
                }
                finish(*done);
                continue;
            }
            result owned(r);
            auto st = PQresultStatus(r);
            if ((st == PGRES_FATAL_ERROR) && p.outcomes.front().ok())
                p.outcomes.front().failure = error_from_result(r);
            continue;
        }
        if (!r) {  // the end of one item's results
            ++p.current;
            if (p.shares_sync && p.current == p.items.size()) {
                auto done = queue.front();
                queue.pop_front();
                front_changed();
                complete(done);
            }
            continue;
        }
        result owned(r);
        auto status = PQresultStatus(r);
        if (status == PGRES_PIPELINE_SYNC) {
            auto done = queue.front();
            queue.pop_front();
            front_changed();
            complete(done);
            continue;
        }
        if (p.current >= p.items.size()) {
            fail_all(error(errc::protocol, "more results than statements"));
            return;
        }
        const item& it = p.items[p.current];
        bool failed = status == PGRES_FATAL_ERROR || status == PGRES_PIPELINE_ABORTED ||
                      status == PGRES_BAD_RESPONSE || status == PGRES_NONFATAL_ERROR;
        if (it.kind == item::prepare) {
            if (!it.prepared_as) continue;
            if (failed) {
                // Refused, or never run because an earlier statement failed: forget it,
                // and let the statement that needed it report the real cause.
                if (status != PGRES_PIPELINE_ABORTED) it.prepared_as->failure = error_from_result(r);
                forget(it.prepared_as);
            } else {
                it.prepared_as->ready = true;
            }
            continue;
        }
        if (it.kind == item::ignore) continue;
        auto& out = p.outcomes[it.index];
        if (status == PGRES_PIPELINE_ABORTED && !p.retained.empty()) {
            p.aborted = true;
            continue;
        }
        if (it.prepared_as && it.prepared_as->failure) {
            // A statement whose prepare failed reports the prepare's error (the real
            // cause, a syntax error say), not "prepared statement does not exist".
            out.failure = it.prepared_as->failure;
        } else if (status == PGRES_PIPELINE_ABORTED) {
            // Not run because an earlier statement of the same request failed.
            for (auto& o : p.outcomes)
                if (o.failure) { out.failure = o.failure; break; }
            if (!out.failure) out.failure = error(errc::sql, "statement not run: an earlier statement failed");
        } else if (failed) {
            out.failure = error_from_result(r);
            // The table changed under a cached plan: prepare it afresh next time, and
            // close the old one on the server with the next request.
            if (it.prepared_as && is_stale_plan(*out.failure)) {
                forget(it.prepared_as);
                stale.push_back(it.prepared_as);
            }
        } else {
            out.rows = std::move(owned);
        }
    }
}

// A request whose results are all in: answer it, or, when it was a member of a
// read-only group that another member's failure aborted, send it again on its own.
void connection_impl::complete(const std::shared_ptr<pending>& done) {
    if (done->aborted && done->handler) {
        auto h = std::move(*done->handler);
        done->handler.reset();
        for (auto& st : done->retained) st.read_only = false;  // alone this time
        submit(std::move(done->retained), std::move(h));
        return;
    }
    // A statement known to run outside any transaction (submit's `autocommit`) that
    // failed without doing anything is sent again, once:
    //  - on a stale cached plan (is_stale_plan): the connection has forgotten the plan;
    //  - cancelled on the server though nobody cancelled it, right after a CancelRequest
    //    for an earlier request of this connection: PostgreSQL's cancel stops whatever
    //    the backend runs when it lands, and in a pipeline that can be the next statement.
    auto& again = done->kept.empty() ? done->retained : done->kept;  // retained: a read-only group's
    if (done->autocommit && !again.empty() && done->handler && done->outcomes.size() == 1 &&
        done->outcomes[0].failure) {
        const auto& f = *done->outcomes[0].failure;
        // Only a request after the one a CancelRequest was asked for, within a second or
        // two of it (the CancelRequest can land a few requests late: its connection is
        // forked by the server): an administrator's pg_cancel_backend() at any other time
        // is respected.
        const bool stray_cancel = is_cancel_request(f) && !done->cancelled && last_cancel_seq != 0 &&
                                  done->seq > last_cancel_seq &&
                                  std::chrono::steady_clock::now() - last_cancel_at < std::chrono::seconds(2);
        if (is_stale_plan(f) || stray_cancel) {
            if (stray_cancel) count_stray_cancel_rerun();
            auto h = std::move(*done->handler);
            done->handler.reset();
            for (auto& st : again) st.read_only = false;  // alone this time
            submit(std::move(again), std::move(h), false);
            return;
        }
    }
    finish(*done);
}

// Completions are posted, never run inline: the awaiting coroutine may resume into code
// that submits to, or destroys, this very connection.
void connection_impl::deliver(request_handler h, std::exception_ptr e, std::vector<outcome> v) {
    asio::get_associated_cancellation_slot(h).clear();
    asio::post(ex, [h = std::move(h), e, v = std::move(v)]() mutable { std::move(h)(e, std::move(v)); });
}

void connection_impl::finish(pending& p) {
    if (!p.handler) return;  // cancelled: its results are dropped
    auto h = std::move(*p.handler);
    p.handler.reset();
    deliver(std::move(h), nullptr, std::move(p.outcomes));
}
void connection_impl::fail_all(const error& e) {
    if (!broken && on_broken) {
        auto tell = std::move(on_broken);
        on_broken = nullptr;
        tell();
    }
    broken = true;
    auto q = std::move(queue);
    queue.clear();
    for (auto& p : q) {
        if (!p->handler) continue;
        auto h = std::move(*p->handler);
        p->handler.reset();
        deliver(std::move(h), std::make_exception_ptr(e), {});
    }
    // Release, not just cancel: libpq has closed (or will close) the descriptor, and the
    // next connection opened may get the same number. A descriptor Asio still held would
    // be deregistered from the reactor when this object finally goes, taking the new
    // connection's registration with it: that connection would then never be woken
    // (seen with pgcoro::listener, which reconnects while the old handle still lives).
    if (socket.is_open()) socket.release();
    resume_signal.cancel();
}

void connection_impl::close(const char* why) noexcept {
    if (!broken) fail_all(error(errc::connection_lost, why));
    if (socket.is_open()) socket.cancel();
    resume_signal.cancel();
}

void connection_impl::attach(std::shared_ptr<pending> p, request_handler handler) {
    auto slot = asio::get_associated_cancellation_slot(handler);
    p->handler.emplace(std::move(handler));
    if (slot.is_connected()) {
        slot.assign([w = std::weak_ptr<pending>(p), self = weak_from_this()](asio::cancellation_type t) {
            if ((t & (asio::cancellation_type::terminal | asio::cancellation_type::partial |
                      asio::cancellation_type::total)) == asio::cancellation_type::none)
                return;
            auto s = self.lock();
            auto op = w.lock();
            if (s && op) s->on_cancel(op);
        });
    }
    p->seq = next_seq++;
    queue.push_back(std::move(p));
    if (queue.size() == 1) front_changed();
    if (read_paused) resume_signal.cancel();  // a paused reader reads again for this request's results
}

void connection_impl::submit(std::vector<statement> statements, request_handler handler, bool autocommit) {
    auto fail_now = [&](const error& e) { deliver(std::move(handler), std::make_exception_ptr(e), {}); };
    if (broken) return fail_now(error(errc::connection_lost, "the connection is closed"));
    if (in_script) return fail_now(error(errc::protocol, "a script is running on this connection"));

    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<Oid> types;
    auto fill = [&](const statement& s) {
        values.clear();
        lengths.clear();
        types.clear();
        for (auto& prm : s.params) {
            values.push_back(prm.value ? prm.value->c_str() : nullptr);
            lengths.push_back(prm.value ? static_cast<int>(prm.value->size()) : 0);
            types.push_back(prm.type);
        }
    };
    auto lost = [&] { return last_error(errc::connection_lost); };
    const bool grouped = options.group_read_only && statements.size() == 1 && statements[0].read_only;
    if (!grouped) close_group();

    // Evicted statements are closed in a group of their own, ahead of the request.
    auto p = std::make_shared<pending>();
    p->outcomes.resize(statements.size());
    std::vector<std::shared_ptr<prepared>> evicted;
    // Statements forgotten for a stale plan are closed only outside a transaction: in a
    // failed one DEALLOCATE would fail too, and the statement would stay on the server.
    if (!stale.empty() && queue.empty() && PQtransactionStatus(conn) == PQTRANS_IDLE) {
        evicted = std::move(stale);
        stale.clear();
    }
    std::vector<std::shared_ptr<prepared>> uses(statements.size());
    std::vector<bool> fresh(statements.size(), false);
    if (options.statement_cache_capacity > 0) {
        for (std::size_t i = 0; i < statements.size(); ++i) {
            if (!cacheable(statements[i].sql)) continue;
            bool is_new = false;
            uses[i] = prepare_cached(statements[i], evicted, is_new);
            fresh[i] = is_new;
        }
    }
    if (!evicted.empty()) {
        close_group();  // its Sync would end the open group's implicit transaction
        auto closing = std::make_shared<pending>();
        for (auto& e : evicted) {
            std::string sql = "DEALLOCATE " + e->name;
            if (!PQsendQueryParams(conn, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0))
                return fail_all(lost()), fail_now(lost());
            closing->items.push_back({item::ignore, 0, nullptr});
        }
        if (!PQpipelineSync(conn)) return fail_all(lost()), fail_now(lost());
        closing->seq = next_seq++;
        queue.push_back(std::move(closing));
        if (queue.size() == 1) front_changed();
    }

    for (std::size_t i = 0; i < statements.size(); ++i) {
        fill(statements[i]);
        auto& use = uses[i];
        if (use && fresh[i]) {
            if (!PQsendPrepare(conn, use->name.c_str(), statements[i].sql.c_str(), static_cast<int>(types.size()),
                               types.data()))
                return fail_all(lost()), fail_now(lost());
            p->items.push_back({item::prepare, i, use});
        }
        bool named = use && (fresh[i] || use->ready);
        int ok = named ? PQsendQueryPrepared(conn, use->name.c_str(), static_cast<int>(values.size()), values.data(),
                                             lengths.data(), nullptr, 0)
                       : PQsendQueryParams(conn, statements[i].sql.c_str(), static_cast<int>(values.size()),
                                           types.data(), values.data(), lengths.data(), nullptr, 0);
        if (!ok) return fail_all(lost()), fail_now(lost());
        p->items.push_back({item::statement, i, named ? use : nullptr});
    }
    // A single statement on a cached plan is kept until its answer: if the plan went
    // stale outside a transaction, complete() sends it again (once).
    p->autocommit = autocommit && statements.size() == 1;
    if (p->autocommit && !grouped) p->kept = std::move(statements);
    if (grouped) {
        // No Sync yet: it is sent once, after every read-only request of this loop turn
        // (PQpipelineSync is also what flushes, so the group leaves in one write).
        p->shares_sync = true;
        p->retained = std::move(statements);
        attach(std::move(p), std::move(handler));
        if (!group_open) {
            group_open = true;
            asio::post(ex, [self = shared_from_this()] { self->close_group(); });
        }
        return;
    }
    if (!PQpipelineSync(conn)) return fail_all(lost()), fail_now(lost());
    attach(std::move(p), std::move(handler));
    // libpq 15's PQpipelineSync already pushed the bytes out; this only takes over when
    // the socket was full. (libpq 17's PQsendPipelineSync would let a loop turn's
    // requests share one write.)
    flush();
}

// Ends the group of read-only requests: the last member owns the Sync.
void connection_impl::close_group() {
    if (!group_open) return;
    group_open = false;
    if (broken) return;
    if (!queue.empty()) queue.back()->shares_sync = false;
    if (!PQpipelineSync(conn)) return fail_all(last_error(errc::connection_lost));
    flush();
}

void connection_impl::submit_script(std::string sql, request_handler handler) {
    auto fail_now = [&](const error& e) { deliver(std::move(handler), std::make_exception_ptr(e), {}); };
    if (broken) return fail_now(error(errc::connection_lost, "the connection is closed"));
    if (!queue.empty() || in_script)
        return fail_now(error(errc::protocol, "execute_script needs the connection to itself"));
    if (PQexitPipelineMode(conn) != 1) return fail_now(last_error(errc::protocol));
    if (!PQsendQuery(conn, sql.c_str())) return fail_now(last_error(errc::connection_lost));
    in_script = true;
    auto p = std::make_shared<pending>();
    p->simple = true;
    p->outcomes.resize(1);
    attach(std::move(p), std::move(handler));
    flush();
}

}  // namespace detail

// --- the public handle

// Closes the connection when the last handle goes: the reader coroutine keeps the
// implementation alive, so the handles' lifetime is tracked separately.
struct connection::owner {
    explicit owner(std::shared_ptr<detail::connection_impl> i) : impl(std::move(i)) {}
    owner(const owner&) = delete;
    owner& operator=(const owner&) = delete;
    std::shared_ptr<detail::connection_impl> impl;
    ~owner() {
        if (impl) impl->close("connection closed");
    }
};

connection::connection(std::shared_ptr<detail::connection_impl> impl)
    : owner_(std::make_shared<owner>(std::move(impl))) {}

asio::awaitable<connection> connection::connect(asio::any_io_executor ex, connect_options options) {
    auto impl = std::make_shared<detail::connection_impl>(ex, std::move(options));
    try {
        co_await impl->connect();
    } catch (...) {
        impl->broken = true;
        if (impl->socket.is_open()) impl->socket.release();  // see fail_all: libpq closed it
        throw;
    }
    co_return connection(std::move(impl));
}

namespace {
template <typename Init>
asio::awaitable<std::vector<outcome>> run_request(Init init) {
    return asio::async_initiate<decltype(asio::use_awaitable), void(std::exception_ptr, std::vector<outcome>)>(
        [init = std::move(init)](auto handler) mutable { init(detail::request_handler(std::move(handler))); },
        asio::use_awaitable);
}
}  // namespace

asio::awaitable<std::vector<outcome>> connection::execute(batch b) {
    if (!owner_) throw error(errc::connection_lost, "empty connection handle");
    auto impl = owner_->impl;
    // The operation is built before co_await, never as a temporary inside it: GCC 12
    // destroys such temporaries twice.
    auto op = run_request(
        [impl, s = std::move(b.statements)](detail::request_handler h) mutable { impl->submit(std::move(s), std::move(h)); });
    co_return co_await std::move(op);
}

namespace detail {

// One statement; `autocommit`: known to run outside any transaction, so a stale cached
// plan may be run again (connection_impl::complete).
asio::awaitable<result> run_statement(std::shared_ptr<connection_impl> impl, statement s, bool autocommit) {
    if (s.timeout.count() > 0) {
        // Cancelling the inner await on time cancels the statement on the server and
        // drains its results, as any cancellation does: the connection stays usable.
        auto limit = s.timeout;
        s.timeout = {};
        co_return co_await with_timeout(run_statement(std::move(impl), std::move(s), autocommit), limit);
    }
    std::vector<statement> one;
    one.push_back(std::move(s));
    auto op = run_request([impl, s = std::move(one), autocommit](detail::request_handler h) mutable {
        impl->submit(std::move(s), std::move(h), autocommit);
    });
    auto out = co_await std::move(op);
    co_return out.at(0).value();
}

asio::awaitable<result> execute_autocommit(connection& c, statement s) {
    if (!c.impl()) throw error(errc::connection_lost, "empty connection handle");
    return run_statement(c.impl()->shared_from_this(), std::move(s), true);
}

}  // namespace detail

asio::awaitable<result> connection::execute(statement s) {
    if (!owner_) throw error(errc::connection_lost, "empty connection handle");
    auto impl = owner_->impl;
    // Outside a transaction for sure only when nothing else is in flight and the server
    // said it is idle (a program may have sent BEGIN on this connection itself).
    const bool autocommit = impl->queue.empty() && PQtransactionStatus(impl->conn) == PQTRANS_IDLE;
    co_return co_await detail::run_statement(std::move(impl), std::move(s), autocommit);
}

asio::awaitable<void> connection::execute_script(std::string sql) {
    if (!owner_) throw error(errc::connection_lost, "empty connection handle");
    auto impl = owner_->impl;
    auto op = run_request(
        [impl, sql = std::move(sql)](detail::request_handler h) mutable { impl->submit_script(std::move(sql), std::move(h)); });
    auto out = co_await std::move(op);
    out.at(0).value();
}

bool connection::is_open() const noexcept { return owner_ && !owner_->impl->broken; }
std::size_t connection::in_flight() const noexcept { return owner_ ? owner_->impl->queue.size() : 0; }

transaction_state connection::state() const noexcept {
    if (!owner_ || owner_->impl->broken) return transaction_state::unknown;
    switch (PQtransactionStatus(owner_->impl->conn)) {
    case PQTRANS_IDLE: return transaction_state::idle;
    case PQTRANS_INTRANS: return transaction_state::in_transaction;
    case PQTRANS_INERROR: return transaction_state::failed;
    case PQTRANS_ACTIVE: return transaction_state::active;
    default: return transaction_state::unknown;
    }
}

int connection::backend_pid() const noexcept { return owner_ ? PQbackendPID(owner_->impl->conn) : 0; }
asio::any_io_executor connection::get_executor() const noexcept { return owner_ ? owner_->impl->ex : asio::any_io_executor{}; }
void connection::close() noexcept {
    if (owner_) owner_->impl->close("connection closed");
}
detail::connection_impl* connection::impl() const noexcept { return owner_ ? owner_->impl.get() : nullptr; }

}  // namespace pgcoro
