// test/support/fault_proxy.hpp — a TCP proxy to put between the pg layer and
// PostgreSQL: it can add latency, drop every connection, stop forwarding without
// closing (a "black hole"), or cut a connection when the client sends a given text
// (e.g. right after COMMIT is sent). Runs on its own thread and io_context.
#pragma once

#include <boost/test/unit_test.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <atomic>
#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace test_support {

class fault_proxy {
public:
    fault_proxy(std::string target_host, unsigned short target_port)
        : target_(boost::asio::ip::make_address(target_host), target_port),
          acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
        boost::asio::co_spawn(ioc_, accept_loop(), boost::asio::detached);
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~fault_proxy() {
        ioc_.stop();
        thread_.join();
    }

    unsigned short port() const { return acceptor_.local_endpoint().port(); }

    // One-way delay added to every chunk, in both directions.
    void set_latency(std::chrono::milliseconds d) { latency_ms_ = static_cast<int>(d.count()); }
    // Stop forwarding bytes (both directions) while keeping the sockets open.
    void set_black_hole(bool on) { black_hole_ = on; }
    // Close both sides of a connection as soon as the client sends `text`, without
    // forwarding the chunk that contains it... or, with forward_first, after forwarding it.
    void cut_when_client_sends(std::string text, bool forward_first) {
        std::lock_guard lock(mutex_);
        cut_text_ = std::move(text);
        cut_after_forward_ = forward_first;
    }
    // Reads from clients so far, on every connection: one per write a client made while
    // the proxy was waiting for it, so a request/answer exchange counts one round trip.
    std::size_t client_chunks() const { return client_chunks_; }
    void drop_all() {
        boost::asio::post(ioc_, [this] {
            for (auto& c : conns_) close(*c);
        });
    }

private:
    using tcp = boost::asio::ip::tcp;
    struct conn {
        explicit conn(boost::asio::io_context& ioc) : client(ioc), server(ioc) {}
        tcp::socket client, server;
    };

    static void close(conn& c) {
        boost::system::error_code ec;
        c.client.close(ec);
        c.server.close(ec);
    }

    boost::asio::awaitable<void> accept_loop() {
        for (;;) {
            auto c = std::make_shared<conn>(ioc_);
            co_await acceptor_.async_accept(c->client, boost::asio::use_awaitable);
            boost::system::error_code ec;
            c->server.connect(target_, ec);
            if (ec) {
                close(*c);
                continue;
            }
            conns_.push_back(c);
            boost::asio::co_spawn(ioc_, pump(c, true), boost::asio::detached);
            boost::asio::co_spawn(ioc_, pump(c, false), boost::asio::detached);
        }
    }

    boost::asio::awaitable<void> pump(std::shared_ptr<conn> c, bool from_client) {
        auto& in = from_client ? c->client : c->server;
        auto& out = from_client ? c->server : c->client;
        char buf[16384];
        boost::asio::steady_timer t(ioc_);
        try {
            for (;;) {
                std::size_t n = co_await in.async_read_some(boost::asio::buffer(buf), boost::asio::use_awaitable);
                if (from_client) ++client_chunks_;
                if (int ms = latency_ms_; ms > 0) {
                    t.expires_after(std::chrono::milliseconds(ms));
                    co_await t.async_wait(boost::asio::use_awaitable);
                }
                while (black_hole_) {
                    t.expires_after(std::chrono::milliseconds(10));
                    co_await t.async_wait(boost::asio::use_awaitable);
                }
                bool cut = false, after = false;
                if (from_client) {
                    std::lock_guard lock(mutex_);
                    if (!cut_text_.empty() && std::string_view(buf, n).find(cut_text_) != std::string_view::npos) {
                        cut = true;
                        after = cut_after_forward_;
                    }
                }
                if (cut && !after) break;
                co_await boost::asio::async_write(out, boost::asio::buffer(buf, n), boost::asio::use_awaitable);
                if (cut) break;
            }
        } catch (const std::exception&) {
        }
        close(*c);
    }

    boost::asio::io_context ioc_;
    tcp::endpoint target_;
    tcp::acceptor acceptor_;
    std::list<std::shared_ptr<conn>> conns_;
    std::atomic<int> latency_ms_{0};
    std::atomic<bool> black_hole_{false};
    std::atomic<std::size_t> client_chunks_{0};
    std::mutex mutex_;
    std::string cut_text_;
    bool cut_after_forward_ = false;
    std::thread thread_;
};

// host and port of a postgresql://user@host:port/db URL.
inline std::pair<std::string, unsigned short> host_port(const std::string& url) {
    auto at = url.find('@');
    auto start = at == std::string::npos ? url.find("://") + 3 : at + 1;
    auto colon = url.find(':', start);
    auto slash = url.find('/', start);
    return {url.substr(start, colon - start),
            static_cast<unsigned short>(std::stoi(url.substr(colon + 1, slash - colon - 1)))};
}

// The same URL pointed at another port on 127.0.0.1.
inline std::string via_port(const std::string& url, unsigned short port) {
    auto at = url.find('@');
    auto start = at == std::string::npos ? url.find("://") + 3 : at + 1;
    auto slash = url.find('/', start);
    return url.substr(0, start) + "127.0.0.1:" + std::to_string(port) + url.substr(slash);
}

// Whether the cluster takes only TLS (scripts/pg with PG_TLS=1): its URL asks for it.
inline bool requires_tls(const std::string& url) {
    return url.find("sslmode=verify") != std::string::npos || url.find("sslmode=require") != std::string::npos;
}

// `url` with more libpq options (a=b&c=d) after those it has.
inline std::string with_options(const std::string& url, const std::string& options) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + options;
}

// The URL for a client behind the proxy: in plaintext when the cluster allows it, so
// that cut_when_client_sends can read the protocol; over TLS otherwise (the proxy still
// forwards, delays and cuts bytes, but cannot read them).
inline std::string proxied_url(const std::string& url, unsigned short port) {
    return with_options(via_port(url, port), requires_tls(url) ? "gssencmode=disable" : "sslmode=disable&gssencmode=disable");
}

// For test cases that cut at a statement's text: they need plaintext (see proxied_url).
struct plaintext_to_the_database {
    boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
        const char* url = std::getenv("DATABASE_URL");
        boost::test_tools::assertion_result ok(!url || !requires_tls(url));
        if (!ok) ok.message() << "the cluster takes only TLS (PG_TLS=1): the fault proxy cannot read statements";
        return ok;
    }
};

}  // namespace test_support
