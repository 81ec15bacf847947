// test/support/raw_socket.hpp — a blocking TCP client over plain POSIX sockets for tests
// that need to control exactly which bytes go out and when (pipelining, slow headers,
// malformed input, refused bodies), and that hold thousands of connections cheaply.
// Every wait has a deadline: nothing here sleeps to hide a race.
#pragma once

#include <arpa/inet.h>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/http.hpp"

namespace test_support {

using namespace std::chrono_literals;

class raw_socket {
public:
    // Connects to 127.0.0.1:port; throws on failure.
    explicit raw_socket(unsigned short port) {
        fd_ = connect_fd(port);
        if (fd_ < 0) throw std::runtime_error(std::string("connect failed: ") + std::strerror(-fd_));
    }
    raw_socket(raw_socket&& o) noexcept : fd_(o.fd_), pending_(std::move(o.pending_)) { o.fd_ = -1; }
    raw_socket& operator=(raw_socket&& o) noexcept {
        std::swap(fd_, o.fd_);
        std::swap(pending_, o.pending_);
        return *this;
    }
    raw_socket(const raw_socket&) = delete;
    raw_socket& operator=(const raw_socket&) = delete;
    ~raw_socket() {
        if (fd_ >= 0) ::close(fd_);
    }

    // 0 when a connection to 127.0.0.1:port is accepted by the kernel, else the errno
    // (ECONNREFUSED once nothing listens).
    static int try_connect(unsigned short port) {
        int fd = connect_fd(port);
        if (fd < 0) return -fd;
        ::close(fd);
        return 0;
    }

    int fd() const { return fd_; }

    // Sends everything; false when the peer is gone (EPIPE, ECONNRESET). Never raises SIGPIPE.
    bool send(std::string_view data) {
        while (!data.empty()) {
            auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // Reads one HTTP response (a 100 Continue is a response too). Bytes after it stay
    // buffered for the next call. Throws on timeout, on a malformed response, or when the
    // connection ends first. `to_head`: the response to a HEAD request (no body follows).
    net::response read_response(std::chrono::milliseconds timeout = 10s, bool to_head = false) {
        net::http::response_parser<net::http::string_body> parser;
        parser.eager(true);
        parser.skip(to_head);
        parser.body_limit(64 * 1024 * 1024);
        auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (!pending_.empty()) {
                boost::system::error_code ec;
                auto n = parser.put(boost::asio::buffer(pending_), ec);
                pending_.erase(0, n);
                if (ec && ec != net::http::error::need_more)
                    throw std::runtime_error("malformed response: " + ec.message());
                if (parser.is_done()) return parser.release();
                if (n > 0 && !pending_.empty()) continue;
            }
            switch (receive(deadline)) {
            case io::data: break;
            case io::timeout: throw std::runtime_error("timed out waiting for a response");
            case io::closed: throw std::runtime_error("connection closed before a full response");
            }
        }
    }

    // Waits until the peer closes the connection (EOF or reset): true, or false at the
    // deadline. Data received meanwhile is kept for read_response().
    bool wait_closed(std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            switch (receive(deadline)) {
            case io::data: continue;
            case io::timeout: return false;
            case io::closed: return true;
            }
        }
    }

    // Whether the connection was closed by the peer, without waiting.
    bool closed_now() { return wait_closed(0ms); }

private:
    enum class io { data, timeout, closed };

    static int connect_fd(unsigned short port) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return -errno;
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int rc;
        do rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        while (rc != 0 && errno == EINTR);
        if (rc != 0) {
            int e = errno;
            ::close(fd);
            return -e;
        }
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return fd;
    }

    io receive(std::chrono::steady_clock::time_point deadline) {
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            pollfd p{fd_, POLLIN, 0};
            int r = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, left.count())));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return io::timeout;
            char buf[65536];
            auto n = ::recv(fd_, buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return io::closed;
            pending_.append(buf, static_cast<std::size_t>(n));
            return io::data;
        }
    }

    int fd_ = -1;
    std::string pending_;
};

// A request as bytes on the wire.
inline std::string http_get(std::string_view target, std::string_view extra_headers = {}) {
    std::string r = "GET ";
    r += target;
    r += " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    r += extra_headers;
    r += "\r\n";
    return r;
}

// Raises this process's open files limit to the hard limit; returns the new soft limit.
inline rlim_t raise_fd_limit() {
    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = lim.rlim_max == RLIM_INFINITY ? 1 << 20 : lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    getrlimit(RLIMIT_NOFILE, &lim);
    return lim.rlim_cur;
}

// The resident set of a process in kB (VmRSS in /proc/<pid>/status), or -1.
inline long rss_kb(pid_t pid) {
    std::string path = "/proc/" + std::to_string(pid) + "/status";
    FILE* f = std::fopen(path.c_str(), "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (std::fgets(line, sizeof line, f))
        if (std::strncmp(line, "VmRSS:", 6) == 0) kb = std::strtol(line + 6, nullptr, 10);
    std::fclose(f);
    return kb;
}

}  // namespace test_support
