// test/support/server_process.hpp — runs the real server binary as a child process on a
// free port, and a small blocking HTTP client for tests (tests may block; the server
// under test runs in its own process).
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "net/http.hpp"

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
            return;
        }
        throw std::runtime_error("the server did not start: " + output_);
    }

    ~server_process() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
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
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

private:
    pid_t pid_ = -1;
    FILE* log_ = nullptr;
    unsigned short port_ = 0;
    std::string output_;
};

// One request on a fresh connection; blocking.
inline net::response http_request(unsigned short port, net::http::verb method, const std::string& target,
                                  const std::string& body = {}, const std::string& content_type = "application/json") {
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
    req.prepare_payload();
    net::http::write(s, req);
    boost::beast::flat_buffer buf;
    net::response res;
    net::http::read(s, buf, res);
    return res;
}

// Runs scripts/pg with an argument (stop, start), as scripts/test arranged.
inline void pg_control(const std::string& what) {
    const char* script = std::getenv("PGCORO_PG_SCRIPT");
    if (!script) throw std::runtime_error("PGCORO_PG_SCRIPT is not set: run the tests through scripts/test");
    std::string cmd = std::string(script) + " " + what + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("scripts/pg " + what + " failed");
}

}  // namespace test_support
