// test/support/server_process.hpp — runs the real server binary as a child process on a
// free port, and a small blocking HTTP client for tests (tests may block; the server
// under test runs in its own process).
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <boost/beast/core/string.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "net/http.hpp"
#include "support/openapi_proxy.hpp"

namespace test_support {

class server_process {
public:
    // Starts `binary` with extra environment variables; waits until it listens.
    explicit server_process(const std::string& binary, std::map<std::string, std::string> env = {}) {
        int fds[2];
        if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
        pid_ = fork();
        if (pid_ == 0) {
            dup2(fds[1], STDERR_FILENO);
            close(fds[0]);
            close(fds[1]);
            setenv("PORT", "0", 1);
            setenv("BIND_ADDRESS", "127.0.0.1", 1);
            // The open API, which the tests of the resources were written against; the
            // tests of authentication (test/auth) pass AUTH=required.
            setenv("AUTH", "off", 1);
            for (auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
            execl(binary.c_str(), binary.c_str(), static_cast<char*>(nullptr));
            _exit(127);
        }
        close(fds[1]);
        log_ = fdopen(fds[0], "r");
        char line[4096];
        while (fgets(line, sizeof line, log_)) {
            std::string l = line;
            output_ += l;
            auto at = l.find("listening on ");
            if (at == std::string::npos) continue;
            auto colon = l.find(':', at + 13);
            auto space = l.find(' ', colon);
            port_ = static_cast<unsigned short>(std::stoi(l.substr(colon + 1, space - colon - 1)));
            auto auth = env.find("AUTH");
            openapi_validation::instance().server_started(port_, auth == env.end() ? "off" : auth->second);
            // Keep reading: a server that logs a lot (ACCESS_LOG=1) must never block on a
            // full pipe, and tests may look at what it wrote (output()).
            reader_ = std::thread([this] {
                char buf[4096];
                while (fgets(buf, sizeof buf, log_)) {
                    std::lock_guard lock(output_mutex_);
                    output_ += buf;
                }
            });
            return;
        }
        throw std::runtime_error("the server did not start: " + output_);
    }

    ~server_process() {
        stopped();
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        if (reader_.joinable()) reader_.join();  // the pipe reached EOF when the server exited
        if (log_) fclose(log_);
    }

    unsigned short port() const { return port_; }
    pid_t pid() const { return pid_; }

    // SIGTERM, then the exit status (or -1 when it did not exit normally).
    int terminate() {
        kill(pid_, SIGTERM);
        int status = 0;
        waitpid(pid_, &status, 0);
        pid_ = -1;
        stopped();
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

    // Sends a signal without waiting (see wait_exit()).
    void signal(int sig) { kill(pid_, sig); }

    // Waits up to `timeout` for the server to exit: its exit status (-1 when a signal
    // ended it), or nullopt when it is still running.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                stopped();
                return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            }
            if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a child's exit
        }
    }

    // What the server has written to stderr so far.
    std::string output() const {
        std::lock_guard lock(output_mutex_);
        return output_;
    }

private:
    // Its validating proxy goes with it, once: a later server may get the same port.
    void stopped() {
        if (port_ && !proxy_released_) openapi_validation::instance().server_stopped(port_);
        proxy_released_ = true;
    }

    bool proxy_released_ = false;
    pid_t pid_ = -1;
    FILE* log_ = nullptr;
    unsigned short port_ = 0;
    mutable std::mutex output_mutex_;
    std::string output_;
    std::thread reader_;
};

using header_list = std::vector<std::pair<std::string, std::string>>;

// Whether Prism forwards this JSON body as it is: it parses a JSON body and sends it on
// re-serialized, which would hide from the server exactly what tests of odd bodies send
// (malformed JSON, 1e2, duplicate keys, big numbers). Those go to the server directly.
inline bool prism_forwards_unchanged(const std::string& body) {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    if (ec || !(v.is_object() || v.is_array())) return false;
    bool plain_numbers = true;  // integers JavaScript holds exactly
    auto check = [&](auto& self, const boost::json::value& x) -> void {
        if (x.is_double()) plain_numbers = false;
        if (x.is_uint64() || (x.is_int64() && (x.get_int64() > (1LL << 53) || x.get_int64() < -(1LL << 53))))
            plain_numbers = false;
        if (x.is_object())
            for (auto& [k, e] : x.get_object()) self(self, e);
        if (x.is_array())
            for (auto& e : x.get_array()) self(self, e);
    };
    check(check, v);
    return plain_numbers && boost::json::serialize(v) == body;
}

// One request on a fresh connection to 127.0.0.1:port; blocking. Extra headers are set
// last, so they may override Content-Type.
inline net::response http_exchange(unsigned short port, net::http::verb method, const std::string& target,
                                   const std::string& body, const std::string& content_type,
                                   const header_list& headers) {
    namespace asio = boost::asio;
    asio::io_context ioc;
    asio::ip::tcp::socket s(ioc);
    s.connect({asio::ip::make_address("127.0.0.1"), port});
    net::request req{method, target, 11};
    req.set(net::http::field::host, "127.0.0.1");
    if (!body.empty()) {
        req.set(net::http::field::content_type, content_type);
        req.body() = body;
    }
    for (auto& [k, v] : headers) req.set(k, v);
    req.prepare_payload();
    net::http::write(s, req);
    boost::beast::flat_buffer buf;
    net::response res;
    net::http::read(s, buf, res);
    return res;
}

// A request to the server itself, never through the validating proxy: for tests of the
// transport (connections counted, keep-alive), which a proxy in between would change.
inline net::response http_request_direct(unsigned short port, net::http::verb method, const std::string& target,
                                         const std::string& body = {},
                                         const std::string& content_type = "application/json",
                                         const header_list& headers = {}) {
    return http_exchange(port, method, target, body, content_type, headers);
}

// A request as an API client sends it. With OpenAPI validation on (support/openapi_proxy.hpp),
// one to a server_process goes through its validating proxy and the exchange is recorded.
inline net::response http_request(unsigned short port, net::http::verb method, const std::string& target,
                                  const std::string& body = {}, const std::string& content_type = "application/json",
                                  const header_list& headers = {}) {
    auto& validation = openapi_validation::instance();
    // The test-only routes (PGCORO_TEST_ROUTES: /debug/...) are not part of the API, and
    // tests time them: they go to the server directly.
    if (!validation.enabled() || !validation.is_server(port) || target.starts_with("/debug/"))
        return http_exchange(port, method, target, body, content_type, headers);
    const std::string method_name(net::http::to_string(method));
    bool json = content_type == "application/json";
    for (auto& [k, v] : headers)
        if (boost::beast::iequals(k, "Content-Type")) json = v == "application/json";
    if (method == net::http::verb::head || !(body.empty() || (json && prism_forwards_unchanged(body)))) {
        auto res = http_exchange(port, method, target, body, content_type, headers);
        validation.record(method_name, target, res.result_int(), "direct", {});
        return res;
    }
    auto [proxy_port, auth] = validation.route(port);
    auto res = http_exchange(proxy_port, method, target, body, content_type, headers);
    auto violations = res["sl-violations"];
    validation.record(method_name, target, res.result_int(), auth,
                      std::string_view(violations.data(), violations.size()));
    // What Prism adds of its own; the tests look at the server's answer.
    res.erase("sl-violations");
    for (auto* h : {"Access-Control-Allow-Origin", "Access-Control-Allow-Headers", "Access-Control-Allow-Credentials",
                    "Access-Control-Expose-Headers"})
        res.erase(h);
    return res;
}

// Runs `binary args...` to completion (a one-shot command such as `seed`) with extra
// environment variables; its exit status (-1 when it did not exit normally) and what it
// wrote to stdout and stderr.
struct process_result {
    int status = -1;
    std::string output;
};

inline process_result run_process(const std::string& binary, const std::vector<std::string>& args,
                                  const std::map<std::string, std::string>& env = {}) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        for (auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
        std::vector<char*> argv{const_cast<char*>(binary.c_str())};
        for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(binary.c_str(), argv.data());
        _exit(127);
    }
    close(fds[1]);
    process_result out;
    char buf[4096];
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        out.output.append(buf, static_cast<std::size_t>(n));
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    out.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

// Runs scripts/pg with an argument (stop, start), as scripts/test arranged.
inline void pg_control(const std::string& what) {
    const char* script = std::getenv("PGCORO_PG_SCRIPT");
    if (!script) throw std::runtime_error("PGCORO_PG_SCRIPT is not set: run the tests through scripts/test");
    std::string cmd = std::string(script) + " " + what + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("scripts/pg " + what + " failed");
}

}  // namespace test_support
