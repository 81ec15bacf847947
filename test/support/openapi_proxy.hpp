// test/support/openapi_proxy.hpp — puts a third-party OpenAPI validator between the tests
// and the server: Prism (@stoplight/prism-cli, pinned in tools/openapi) in proxy mode
// forwards each request to the server and answers with an `sl-violations` header listing
// where the request or the answer departs from openapi.yaml.
//
// On only when scripts/test exports PGCORO_PRISM (the prism binary), PGCORO_OPENAPI_DOC
// (openapi.yaml) and PGCORO_OPENAPI_LOG (a folder): then http_request() sends what it
// sends to a server_process through that server's proxy (started on first use, stopped
// with the server), and writes one line per exchange to <folder>/<pid>.tsv:
//   method \t target \t status \t auth mode \t sl-violations (JSON, or empty)
// Requests Prism would not forward as they are (HEAD, which it answers with 500; bodies it
// would re-serialize, see prism_forwards_unchanged) go to the server directly, recorded
// with the auth mode "direct" and counted apart.
// scripts/openapi-report reads those lines after the run, names each operation, and fails
// the run on any violation in an answer (see there for the rules). Tests see the answer
// without Prism's own headers.
#pragma once

#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace test_support {

class openapi_proxy {
public:
    // Starts Prism forwarding to 127.0.0.1:upstream; returns when it listens.
    openapi_proxy(const std::string& prism, const std::string& document, unsigned short upstream)
        : port_(free_port()) {
        // Everything the child needs is made before fork(): in a threaded process only
        // async-signal-safe calls are safe between fork() and exec().
        const std::string port = std::to_string(port_);
        const std::string target = "http://127.0.0.1:" + std::to_string(upstream);
        int fds[2];
        if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
        pid_ = fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            dup2(fds[1], STDOUT_FILENO);
            dup2(fds[1], STDERR_FILENO);
            // Prism outlives many of the test's sockets: it must not hold copies of them.
            close_range(3, ~0U, 0);
            execl(prism.c_str(), prism.c_str(), "proxy", "--host", "127.0.0.1", "--port", port.c_str(),
                  "--errors=false", document.c_str(), target.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
        close(fds[1]);
        log_ = fdopen(fds[0], "r");
        std::string seen;
        char line[4096];
        while (fgets(line, sizeof line, log_)) {
            seen += line;
            if (std::string_view(line).find("Prism is listening") != std::string_view::npos) {
                // Prism logs a few lines per request: drain them so it never blocks on the pipe.
                reader_ = std::thread([this] {
                    char buf[4096];
                    while (fgets(buf, sizeof buf, log_)) {
                    }
                });
                return;
            }
        }
        stop();
        throw std::runtime_error("the OpenAPI validation proxy did not start: " + seen);
    }

    openapi_proxy(const openapi_proxy&) = delete;
    openapi_proxy& operator=(const openapi_proxy&) = delete;
    ~openapi_proxy() { stop(); }

    unsigned short port() const { return port_; }

private:
    static unsigned short free_port() {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            if (fd >= 0) close(fd);
            throw std::runtime_error("no free port for the validation proxy");
        }
        close(fd);
        return ntohs(a.sin_port);
    }

    void stop() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
        if (reader_.joinable()) reader_.join();
        if (log_) {
            fclose(log_);
            log_ = nullptr;
        }
    }

    unsigned short port_;
    pid_t pid_ = -1;
    FILE* log_ = nullptr;
    std::thread reader_;
};

// The proxies of this test process, by the port of the server each stands before.
class openapi_validation {
public:
    static openapi_validation& instance() {
        static openapi_validation v;
        return v;
    }

    bool enabled() const { return !prism_.empty(); }

    // Called by server_process when its server listens: `auth` is its AUTH mode.
    void server_started(unsigned short port, std::string auth) {
        if (!enabled()) return;
        std::lock_guard lock(mutex_);
        servers_[port] = server{std::move(auth), nullptr};
    }

    // Called by server_process when its server is gone: stops the proxy.
    void server_stopped(unsigned short port) {
        std::unique_ptr<openapi_proxy> proxy;
        {
            std::lock_guard lock(mutex_);
            auto it = servers_.find(port);
            if (it == servers_.end()) return;
            proxy = std::move(it->second.proxy);
            servers_.erase(it);
        }
    }

    bool is_server(unsigned short port) {
        std::lock_guard lock(mutex_);
        return servers_.count(port) != 0;
    }

    // The port to connect to for a request to the server on `port` (itself when the
    // server is not one of ours, e.g. a test's own listener), and the server's AUTH mode.
    std::pair<unsigned short, std::string> route(unsigned short port) {
        std::lock_guard lock(mutex_);
        auto it = servers_.find(port);
        if (it == servers_.end()) return {port, {}};
        if (!it->second.proxy) it->second.proxy = std::make_unique<openapi_proxy>(prism_, document_, port);
        return {it->second.proxy->port(), it->second.auth};
    }

    void record(std::string_view method, std::string_view target, unsigned status, std::string_view auth,
                std::string_view violations) {
        std::string line;
        line.append(method).append("\t").append(target).append("\t").append(std::to_string(status));
        line.append("\t").append(auth).append("\t").append(violations).append("\n");
        std::lock_guard lock(mutex_);
        if (!out_) {
            std::string path = log_folder_ + "/" + std::to_string(getpid()) + ".tsv";
            out_ = fopen(path.c_str(), "a");
            if (!out_) throw std::runtime_error("cannot write " + path);
        }
        fwrite(line.data(), 1, line.size(), out_);
        fflush(out_);
    }

private:
    openapi_validation() {
        const char* prism = std::getenv("PGCORO_PRISM");
        const char* document = std::getenv("PGCORO_OPENAPI_DOC");
        const char* log = std::getenv("PGCORO_OPENAPI_LOG");
        if (prism && *prism && document && *document && log && *log) {
            prism_ = prism;
            document_ = document;
            log_folder_ = log;
        }
    }
    ~openapi_validation() {
        if (out_) fclose(out_);
    }

    struct server {
        std::string auth;
        std::unique_ptr<openapi_proxy> proxy;
    };
    std::string prism_, document_, log_folder_;
    std::mutex mutex_;
    std::map<unsigned short, server> servers_;
    FILE* out_ = nullptr;
};

}  // namespace test_support
