// net: the HTTP/1.1 server's behaviour on real sockets, against the server binary:
// pipelining, keep-alive, Connection: close, limits (431, 413), Expect: 100-continue,
// slow and malformed clients, the request deadline, idle timeout, connection limit,
// /metrics and the access log. The server needs a database only to start (migrations);
// these requests never touch it (PGCORO_TEST_ROUTES=1 adds /debug/sleep and /debug/hang).
#define BOOST_TEST_MODULE net_http
#include <boost/test/unit_test.hpp>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "net/prometheus_text.hpp"
#include "support/pg_env.hpp"
#include "support/raw_socket.hpp"
#include "support/server_process.hpp"

using namespace test_support;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using env_map = std::map<std::string, std::string>;

namespace {

env_map server_env(env_map extra = {}) {
    env_map env{{"DATABASE_URL", database_url()},
                {"WORKERS", "2"},
                {"PGCORO_TEST_ROUTES", "1"},
                {"HEADER_TIMEOUT_MS", "1000"},
                {"REQUEST_DEADLINE_MS", "1000"}};
    for (auto& [k, v] : extra) env[k] = v;
    return env;
}

// One server for the tests that only need the defaults above.
server_process& shared() {
    static server_process srv(PGCORO_SERVER_BIN, server_env());
    return srv;
}

std::string code_of(const net::response& res) {
    return std::string(boost::json::parse(res.body()).at("code").as_string());
}

}  // namespace

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order) {
    raw_socket s(shared().port());
    // Three requests in one write; the first is the slowest, so answering in completion
    // order would show.
    BOOST_REQUIRE(s.send(http_get("/debug/sleep?ms=100", "X-Request-Id: first\r\n") +
                         http_get("/debug/sleep?ms=0", "X-Request-Id: second\r\n") +
                         http_get("/nope", "X-Request-Id: third\r\n")));
    auto a = s.read_response();
    auto b = s.read_response();
    auto c = s.read_response();
    BOOST_TEST(a["X-Request-Id"] == "first");
    BOOST_TEST(a.result_int() == 200);
    BOOST_TEST(boost::json::parse(a.body()).at("data").at("slept_ms").as_int64() == 100);
    BOOST_TEST(b["X-Request-Id"] == "second");
    BOOST_TEST(b.result_int() == 200);
    BOOST_TEST(c["X-Request-Id"] == "third");
    BOOST_TEST(c.result_int() == 404);
    BOOST_TEST(c.keep_alive());
}

BOOST_AUTO_TEST_CASE(a_pipelined_request_past_its_deadline_is_answered_in_its_place) {
    raw_socket s(shared().port());
    // Pipelined behind a quick one, a request that never finishes: at the deadline it is
    // answered 503 REQUEST_TIMEOUT, in its place, and the connection still serves.
    BOOST_REQUIRE(s.send(http_get("/debug/sleep?ms=0", "X-Request-Id: quick\r\n") +
                         http_get("/debug/hang", "X-Request-Id: hang\r\n")));
    auto quick = s.read_response(5s);
    auto hang = s.read_response(5s);
    BOOST_TEST(quick["X-Request-Id"] == "quick");
    BOOST_TEST(quick.result_int() == 200);
    BOOST_TEST(hang["X-Request-Id"] == "hang");
    BOOST_TEST(hang.result_int() == 503);
    BOOST_TEST(code_of(hang) == "REQUEST_TIMEOUT");
    BOOST_REQUIRE(s.send(http_get("/debug/sleep?ms=0")));
    BOOST_TEST(s.read_response().result_int() == 200);
}

BOOST_AUTO_TEST_CASE(pipelined_safe_requests_are_handled_concurrently) {
    raw_socket s(shared().port());
    // Each request answers only once all three are in flight: handled one after another,
    // the first would wait alone until its deadline (503).
    std::string burst;
    for (auto id : {"r1", "r2", "r3"})
        burst += http_get("/debug/rendezvous?key=concurrent&n=3", std::string("X-Request-Id: ") + id + "\r\n");
    BOOST_REQUIRE(s.send(burst));
    for (auto id : {"r1", "r2", "r3"}) {
        auto res = s.read_response(5s);
        BOOST_TEST(res["X-Request-Id"] == id);
        BOOST_TEST(res.result_int() == 200);
    }
}

BOOST_AUTO_TEST_CASE(a_pipelined_unsafe_request_waits_for_the_requests_before_it) {
    raw_socket s(shared().port());
    // A POST pipelined behind a GET is not handled beside it: the two never meet, each
    // waits alone until its deadline, and they are answered in order.
    BOOST_REQUIRE(s.send(http_get("/debug/rendezvous?key=ordered&n=2", "X-Request-Id: get\r\n") +
                         "POST /debug/rendezvous?key=ordered&n=2 HTTP/1.1\r\nHost: t\r\nX-Request-Id: post\r\n"
                         "Content-Length: 0\r\n\r\n" +
                         http_get("/debug/rendezvous?key=ordered&n=1", "X-Request-Id: after\r\n")));
    for (auto [id, status] : {std::pair{"get", 503}, std::pair{"post", 503}, std::pair{"after", 200}}) {
        auto res = s.read_response(5s);
        BOOST_TEST(res["X-Request-Id"] == id);
        BOOST_TEST(res.result_int() == status);
    }
}

// BATCH_SCHEDULING=1: every event-loop thread runs under SCHED_BATCH (policy 3 in
// /proc/<pid>/task/<tid>/sched); without it, none does.
BOOST_AUTO_TEST_CASE(batch_scheduling_applies_to_the_event_loop_threads) {
    auto batch_threads = [](pid_t pid) {
        int n = 0;
        for (auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
            std::ifstream sched(task.path() / "sched");
            for (std::string line; std::getline(sched, line);)
                if (line.rfind("policy", 0) == 0 && line.substr(line.find(':') + 1).find('3') != std::string::npos) ++n;
        }
        return n;
    };
    server_process batch(PGCORO_SERVER_BIN, server_env({{"BATCH_SCHEDULING", "1"}}));
    BOOST_TEST(http_request(batch.port(), net::http::verb::get, "/debug/sleep?ms=0").result_int() == 200);
    BOOST_TEST(batch_threads(batch.pid()) == 2);  // WORKERS=2
    BOOST_TEST(batch_threads(shared().pid()) == 0);
}

BOOST_AUTO_TEST_CASE(a_second_server_on_a_port_in_use_refuses_to_start) {
    // Its SO_REUSEPORT listeners would otherwise join the first server's port and take a
    // share of its connections.
    std::string error;
    try {
        server_process second(PGCORO_SERVER_BIN, server_env({{"PORT", std::to_string(shared().port())}}));
    } catch (const std::exception& e) {
        error = e.what();
    }
    BOOST_TEST(error.find("is in use") != std::string::npos, error);
    BOOST_TEST(http_request(shared().port(), net::http::verb::get, "/debug/sleep?ms=0").result_int() == 200);
}

BOOST_AUTO_TEST_CASE(keep_alive_reuses_the_connection) {
    raw_socket s(shared().port());
    BOOST_REQUIRE(s.send(http_get("/metrics")));
    auto accepted = prom::parse(s.read_response().body()).value("http_connections_accepted_total");
    for (int i = 0; i < 5; ++i) {
        BOOST_REQUIRE(s.send(http_get("/debug/sleep?ms=0")));
        auto res = s.read_response();
        BOOST_TEST(res.result_int() == 200);
        BOOST_TEST(res.keep_alive());
    }
    BOOST_REQUIRE(s.send(http_get("/metrics")));
    // Seven requests, one connection: the server accepted no other.
    BOOST_TEST(prom::parse(s.read_response().body()).value("http_connections_accepted_total") == accepted);
    BOOST_TEST(!s.closed_now());
}

BOOST_AUTO_TEST_CASE(connection_close_closes_after_the_response) {
    {
        raw_socket s(shared().port());
        BOOST_REQUIRE(s.send(http_get("/debug/sleep?ms=0", "Connection: close\r\n")));
        auto res = s.read_response();
        BOOST_TEST(res.result_int() == 200);
        BOOST_TEST(!res.keep_alive());
        BOOST_TEST(res[net::http::field::connection] == "close");
        BOOST_TEST(s.wait_closed(2s));
    }
    {
        raw_socket s(shared().port());  // HTTP/1.0 without keep-alive: closed too
        BOOST_REQUIRE(s.send("GET /debug/sleep?ms=0 HTTP/1.0\r\n\r\n"));
        BOOST_TEST(s.read_response().result_int() == 200);
        BOOST_TEST(s.wait_closed(2s));
    }
}

BOOST_AUTO_TEST_CASE(responses_carry_request_id_date_and_server) {
    raw_socket s(shared().port());
    BOOST_REQUIRE(s.send(http_get("/nope", "X-Request-Id: abc-123\r\n") + http_get("/nope")));
    auto echoed = s.read_response();
    auto generated = s.read_response();
    BOOST_TEST(echoed["X-Request-Id"] == "abc-123");
    BOOST_TEST(!generated["X-Request-Id"].empty());
    BOOST_TEST(generated["X-Request-Id"] != "abc-123");
    BOOST_TEST(!echoed[net::http::field::date].empty());
    BOOST_TEST(echoed[net::http::field::server] == "pgcoro");
}

BOOST_AUTO_TEST_CASE(head_responses_have_no_body) {
    raw_socket s(shared().port());
    BOOST_REQUIRE(s.send("HEAD /debug/sleep?ms=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + http_get("/debug/sleep?ms=0")));
    auto head = s.read_response(5s, true);
    BOOST_TEST(head.result_int() == 405);  // only GET is routed
    BOOST_TEST(head[net::http::field::allow] == "GET");
    auto next = s.read_response();  // parsed where the HEAD answer ends: no stray body bytes
    BOOST_TEST(next.result_int() == 200);
}

BOOST_AUTO_TEST_CASE(headers_sent_one_byte_per_second_are_cut_at_the_header_timeout) {
    raw_socket slow(shared().port());
    std::string req = http_get("/debug/sleep?ms=0", "X-Padding: " + std::string(40, 'p') + "\r\n");
    auto start = clock_type::now();
    bool closed = false;
    std::size_t sent = 0;
    while (sent < req.size() && !closed) {
        if (!slow.send(req.substr(sent, 1))) break;
        ++sent;
        if (sent == 2) {  // meanwhile, other clients are served
            auto res = http_request(shared().port(), net::http::verb::get, "/debug/sleep?ms=0");
            BOOST_TEST(res.result_int() == 200);
        }
        closed = slow.wait_closed(1s);  // one byte per second, watching for the close
    }
    auto took = clock_type::now() - start;
    BOOST_TEST(closed);
    BOOST_TEST(sent < req.size());
    BOOST_TEST((took >= 900ms));  // HEADER_TIMEOUT_MS=1000, from the first byte
    BOOST_TEST((took < 3s));
}

BOOST_AUTO_TEST_CASE(idle_keep_alive_connections_are_closed_after_the_idle_timeout) {
    server_process srv(PGCORO_SERVER_BIN, server_env({{"IDLE_TIMEOUT_MS", "300"}}));
    raw_socket s(srv.port());
    BOOST_REQUIRE(s.send(http_get("/debug/sleep?ms=0")));
    BOOST_TEST(s.read_response().result_int() == 200);
    auto start = clock_type::now();
    BOOST_TEST(s.wait_closed(5s));
    BOOST_TEST((clock_type::now() - start >= 250ms));
}

BOOST_AUTO_TEST_CASE(a_client_that_stops_reading_is_cut_at_the_idle_timeout) {
    server_process srv(PGCORO_SERVER_BIN, server_env({{"IDLE_TIMEOUT_MS", "300"}}));
    auto port = srv.port();
    BOOST_REQUIRE(prom::wait_for(port, "http_open_connections", 1, 5s));
    raw_socket s(port);
    // Megabytes of answers that are never read: the server's write blocks on a full
    // socket, and the sweep cuts it an idle timeout later.
    std::string burst;
    for (int i = 0; i < 2000; ++i) burst += http_get("/metrics");
    BOOST_REQUIRE(s.send(burst));
    BOOST_TEST(prom::wait_for(port, "http_open_connections", 1, 5s));  // only the scrape's own
    BOOST_TEST(prom::wait_for(port, "http_requests_in_flight", 1, 5s));
}

BOOST_AUTO_TEST_CASE(malformed_requests_get_400_and_others_are_still_served) {
    // A well-formed request in progress on another connection, finished afterwards.
    raw_socket other(shared().port());
    std::string good = http_get("/debug/sleep?ms=0");
    BOOST_REQUIRE(other.send(good.substr(0, 10)));

    for (std::string bad : {std::string("GARBAGE\r\n\r\n"), std::string("GET /x HTTP/1.1 extra\r\nHost: a\r\n\r\n"),
                            std::string("GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n"),
                            std::string("\x01\x02\x03\xff\r\n\r\n", 8)}) {
        raw_socket s(shared().port());
        BOOST_REQUIRE(s.send(bad));
        auto res = s.read_response();
        BOOST_TEST(res.result_int() == 400);
        BOOST_TEST(code_of(res) == "BAD_REQUEST");
        BOOST_TEST(!res["X-Request-Id"].empty());
        BOOST_TEST(s.wait_closed(3s));
    }

    BOOST_REQUIRE(other.send(good.substr(10)));
    BOOST_TEST(other.read_response().result_int() == 200);
}

BOOST_AUTO_TEST_CASE(a_2_mib_body_gets_413_before_it_is_sent) {
    raw_socket s(shared().port());
    BOOST_REQUIRE(s.send("POST /users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         "Content-Length: 2097152\r\n\r\n"));
    // Not one byte of the body sent: the answer comes from the declared length alone.
    auto res = s.read_response(3s);
    BOOST_TEST(res.result_int() == 413);
    BOOST_TEST(code_of(res) == "PAYLOAD_TOO_LARGE");
    BOOST_TEST(!res.keep_alive());
    // The server does not wait for (or buffer) the body: it ends the connection.
    std::string chunk(64 * 1024, 'x');
    for (std::size_t sent = 0; sent < 2 * 1024 * 1024 && s.send(chunk); sent += chunk.size()) {
    }
    BOOST_TEST(s.wait_closed(5s));
}

BOOST_AUTO_TEST_CASE(expect_100_continue) {
    {
        raw_socket s(shared().port());
        BOOST_REQUIRE(s.send("POST /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                             "Content-Length: 2\r\nExpect: 100-continue\r\n\r\n"));
        auto cont = s.read_response(3s);
        BOOST_TEST(cont.result_int() == 100);
        BOOST_REQUIRE(s.send("{}"));
        BOOST_TEST(s.read_response().result_int() == 404);
    }
    {
        raw_socket s(shared().port());  // too large: 413 at once, no 100
        BOOST_REQUIRE(s.send("POST /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                             "Content-Length: 5000000\r\nExpect: 100-continue\r\n\r\n"));
        BOOST_TEST(s.read_response(3s).result_int() == 413);
    }
}

BOOST_AUTO_TEST_CASE(a_chunked_body_over_the_limit_gets_413) {
    raw_socket s(shared().port());
    BOOST_REQUIRE(s.send("POST /users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n"));
    std::string data(64 * 1024, 'x');
    std::string chunk = "10000\r\n" + data + "\r\n";  // 0x10000 = 64 KiB
    for (int i = 0; i < 17 && s.send(chunk); ++i) {  // 1 MiB + 64 KiB
    }
    auto res = s.read_response(5s);
    BOOST_TEST(res.result_int() == 413);
    BOOST_TEST(s.wait_closed(5s));
}

BOOST_AUTO_TEST_CASE(a_chunked_body_within_the_limit_is_read) {
    raw_socket s(shared().port());
    BOOST_REQUIRE(s.send("POST /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n1\r\n}\r\n0\r\n\r\n" +
                         http_get("/debug/sleep?ms=0")));
    BOOST_TEST(s.read_response().result_int() == 404);
    BOOST_TEST(s.read_response().result_int() == 200);  // and the next one on the connection
}

BOOST_AUTO_TEST_CASE(oversized_headers_get_431) {
    raw_socket s(shared().port());
    BOOST_REQUIRE(s.send(http_get("/debug/sleep?ms=0", "X-Big: " + std::string(20000, 'a') + "\r\n")));
    auto res = s.read_response();
    BOOST_TEST(res.result_int() == 431);
    BOOST_TEST(code_of(res) == "HEADERS_TOO_LARGE");
    BOOST_TEST(s.wait_closed(3s));
}

BOOST_AUTO_TEST_CASE(a_handler_that_never_finishes_is_cut_at_the_deadline_without_leaking) {
    auto port = shared().port();
    // Every earlier connection is closed: only the scrape's own is open.
    BOOST_REQUIRE(prom::wait_for(port, "http_open_connections", 1, 5s));
    {
        raw_socket s(port);
        BOOST_REQUIRE(s.send(http_get("/debug/hang")));
        auto start = clock_type::now();
        auto res = s.read_response(5s);
        auto took = clock_type::now() - start;
        BOOST_TEST(res.result_int() == 503);
        BOOST_TEST(code_of(res) == "REQUEST_TIMEOUT");
        BOOST_TEST(res[net::http::field::retry_after] == "1");
        BOOST_TEST((took >= 900ms));  // REQUEST_DEADLINE_MS=1000
        BOOST_TEST((took < 3s));
        // The connection is still good for the next request.
        BOOST_REQUIRE(s.send(http_get("/debug/sleep?ms=0")));
        BOOST_TEST(s.read_response().result_int() == 200);
        // Several hanging requests at once, cut together.
        std::vector<raw_socket> many;
        for (int i = 0; i < 20; ++i) {
            many.emplace_back(port);
            BOOST_REQUIRE(many.back().send(http_get("/debug/hang")));
        }
        for (auto& m : many) BOOST_TEST(m.read_response(5s).result_int() == 503);
    }
    // Closed by the client: the server lets go of every connection and request.
    BOOST_TEST(prom::wait_for(port, "http_open_connections", 1, 5s));
    BOOST_TEST(prom::wait_for(port, "http_requests_in_flight", 1, 5s));
}

BOOST_AUTO_TEST_CASE(a_client_that_hangs_up_has_its_handler_cancelled) {
    // A deadline far away: only the hang-up can end the handler.
    server_process srv(PGCORO_SERVER_BIN, server_env({{"REQUEST_DEADLINE_MS", "60000"}}));
    auto port = srv.port();
    BOOST_REQUIRE(prom::wait_for(port, "http_requests_in_flight", 1, 5s));  // the scrape itself
    {
        raw_socket s(port);
        BOOST_REQUIRE(s.send(http_get("/debug/hang")));
        BOOST_REQUIRE(prom::wait_for(port, "http_requests_in_flight", 2, 5s));
    }  // closed
    BOOST_TEST(prom::wait_for(port, "http_requests_in_flight", 1, 5s));
    BOOST_TEST(prom::wait_for(port, "http_open_connections", 1, 5s));
    raw_socket scrape(port);
    BOOST_REQUIRE(scrape.send(http_get("/metrics")));
    auto metrics = prom::parse(scrape.read_response().body());
    BOOST_TEST(metrics.value("http_requests_total", {{"route", "/debug/hang"}, {"status", "499"}}) == 1);
}

BOOST_AUTO_TEST_CASE(accepting_pauses_at_max_connections) {
    server_process srv(PGCORO_SERVER_BIN, server_env({{"MAX_CONNECTIONS", "2"}}));
    auto first = std::make_unique<raw_socket>(srv.port());
    raw_socket second(srv.port());
    for (auto* s : {first.get(), &second}) {
        BOOST_REQUIRE(s->send(http_get("/debug/sleep?ms=0")));
        BOOST_TEST(s->read_response().result_int() == 200);
    }
    raw_socket third(srv.port());  // the kernel completes the handshake; the server does not accept
    BOOST_REQUIRE(third.send(http_get("/debug/sleep?ms=0")));
    BOOST_CHECK_THROW(third.read_response(500ms), std::runtime_error);
    first.reset();  // a slot frees up: the third is accepted and answered
    BOOST_TEST(third.read_response(5s).result_int() == 200);
}

BOOST_AUTO_TEST_CASE(metrics_parse_as_prometheus_text_and_count_every_request) {
    server_process srv(PGCORO_SERVER_BIN, server_env());
    auto port = srv.port();
    raw_socket s(port);
    int sent = 0;
    auto expect = [&](const std::string& request, int status) {
        BOOST_REQUIRE(s.send(request));
        BOOST_TEST(s.read_response().result_int() == status);
        ++sent;
    };
    for (int i = 0; i < 10; ++i) expect(http_get("/debug/sleep?ms=0"), 200);
    for (int i = 0; i < 5; ++i) expect(http_get("/nope/" + std::to_string(i)), 404);
    for (int i = 0; i < 4; ++i) expect("DELETE /debug/sleep HTTP/1.1\r\nHost: a\r\n\r\n", 405);
    for (int i = 0; i < 3; ++i) expect(http_get("/debug/sleep?ms=abc"), 400);
    for (int i = 0; i < 2; ++i) {  // on connections of their own
        BOOST_TEST(http_request_direct(port, net::http::verb::get, "/debug/sleep?ms=1").result_int() == 200);
        ++sent;
    }

    BOOST_REQUIRE(s.send(http_get("/metrics")));
    auto res = s.read_response();
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(res[net::http::field::content_type].starts_with("text/plain; version=0.0.4"));
    prom::exposition m;
    BOOST_REQUIRE_NO_THROW(m = prom::parse(res.body()));

    BOOST_TEST(m.types.at("http_requests_total") == "counter");
    BOOST_TEST(m.types.at("http_request_duration_seconds") == "histogram");
    BOOST_TEST(m.types.at("http_open_connections") == "gauge");
    BOOST_TEST(m.sum("http_requests_total") == sent);  // the scrape itself is counted once answered
    BOOST_TEST(m.value("http_requests_total", {{"method", "GET"}, {"route", "/debug/sleep"}, {"status", "200"}}) == 12);
    BOOST_TEST(m.value("http_requests_total", {{"method", "GET"}, {"route", "/debug/sleep"}, {"status", "400"}}) == 3);
    BOOST_TEST(m.value("http_requests_total", {{"method", "GET"}, {"route", "unmatched"}, {"status", "404"}}) == 5);
    BOOST_TEST(m.value("http_requests_total", {{"method", "DELETE"}, {"route", "unmatched"}, {"status", "405"}}) == 4);
    BOOST_TEST(m.value("http_request_duration_seconds_count", {{"method", "GET"}, {"route", "/debug/sleep"}}) == 15);
    BOOST_TEST(m.value("http_request_duration_seconds_bucket",
                       {{"method", "GET"}, {"route", "/debug/sleep"}, {"le", "+Inf"}}) == 15);
    BOOST_TEST(m.value("http_request_duration_seconds_sum", {{"method", "GET"}, {"route", "/debug/sleep"}}) > 0);
    BOOST_TEST(m.value("http_connections_accepted_total") == 3);
    BOOST_TEST(m.value("http_requests_in_flight") == 1);  // the scrape

    // What app/ registers: the database pools and transactions.
    for (auto* name : {"pgcoro_pool_connections", "pgcoro_pool_idle_connections", "pgcoro_pool_in_use_connections",
                       "pgcoro_pool_waiting_acquirers", "pgcoro_pool_max_connections"})
    {
        BOOST_TEST_INFO(name);
        BOOST_TEST(m.types.count(name) == 1);
        BOOST_TEST(m.types[name] == "gauge");
    }
    for (auto* name : {"pgcoro_pool_acquires_total", "pgcoro_pool_acquire_timeouts_total",
                       "pgcoro_pool_acquire_wait_seconds_total", "pgcoro_transaction_attempts_total",
                       "pgcoro_transaction_commits_total", "pgcoro_transaction_retries_exhausted_total",
                       "pgcoro_transaction_retries_denied_total",
                       "pgcoro_transaction_unknown_outcomes_total", "pgcoro_statements_total",
                       "pgcoro_statement_errors_total", "pgcoro_statement_seconds_total"})
    {
        BOOST_TEST_INFO(name);
        BOOST_TEST(m.types.count(name) == 1);
        BOOST_TEST(m.types[name] == "counter");
    }
    BOOST_TEST(m.find("pgcoro_transaction_retries_total").size() == 4);  // serialization, deadlock, connection, stale_plan
    BOOST_TEST(m.value("pgcoro_pool_max_connections") > 0);

    BOOST_REQUIRE(s.send(http_get("/metrics")));
    auto again = prom::parse(s.read_response().body());
    BOOST_TEST(again.sum("http_requests_total") == sent + 1);
    BOOST_TEST(again.value("http_requests_total", {{"route", "/metrics"}}) == 1);
}

BOOST_AUTO_TEST_CASE(access_log_lines_at_info_when_enabled) {
    server_process srv(PGCORO_SERVER_BIN, server_env({{"ACCESS_LOG", "1"}}));
    raw_socket s(srv.port());
    BOOST_REQUIRE(s.send(http_get("/debug/sleep?ms=0&x=1", "X-Request-Id: log \"quoted\" id\r\n")));
    BOOST_TEST(s.read_response().result_int() == 200);
    std::string line;
    auto deadline = clock_type::now() + 5s;
    while (line.empty() && clock_type::now() < deadline) {
        auto out = srv.output();
        auto at = out.find(" info access ");
        if (at != std::string::npos) line = out.substr(at, out.find('\n', at) - at);
        else std::this_thread::sleep_for(10ms);  // polling the log, bounded by the deadline
    }
    BOOST_TEST_MESSAGE(line);
    BOOST_TEST(line.find(" method=GET ") != std::string::npos);
    BOOST_TEST(line.find(" path=/debug/sleep ") != std::string::npos);  // no query string
    BOOST_TEST(line.find(" route=/debug/sleep ") != std::string::npos);
    BOOST_TEST(line.find(" status=200 ") != std::string::npos);
    BOOST_TEST(line.find(" duration_ms=") != std::string::npos);
    BOOST_TEST(line.find(R"( request_id="log \"quoted\" id")") != std::string::npos);

    // Off by default: the shared server (info level) has written none.
    BOOST_TEST(http_request(shared().port(), net::http::verb::get, "/debug/sleep?ms=0").result_int() == 200);
    BOOST_TEST(shared().output().find(" access ") == std::string::npos);
}
