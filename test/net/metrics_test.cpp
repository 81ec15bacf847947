// net: the metrics registry on its own: exposition format, histogram buckets, exact
// counts under concurrent recording, the series cap, collectors.
#define BOOST_TEST_MODULE net_metrics
#include <boost/test/unit_test.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <thread>

#include "net/metrics.hpp"
#include "net/prometheus_text.hpp"

using namespace std::chrono_literals;

BOOST_AUTO_TEST_CASE(requests_by_route_and_status_with_a_latency_histogram) {
    net::metrics m;
    m.record("GET", "/users/{id}", 200, 3ms);
    m.record("GET", "/users/{id}", 200, 20ms);
    m.record("GET", "/users/{id}", 404, 100us);
    m.record("POST", "/users", 201, 2s);
    m.record("GET", "unmatched", 404, 50us);
    auto e = prom::parse(m.render());
    BOOST_TEST(e.value("http_requests_total", {{"method", "GET"}, {"route", "/users/{id}"}, {"status", "200"}}) == 2);
    BOOST_TEST(e.value("http_requests_total", {{"method", "GET"}, {"route", "/users/{id}"}, {"status", "404"}}) == 1);
    BOOST_TEST(e.value("http_requests_total", {{"route", "unmatched"}}) == 1);
    BOOST_TEST(e.sum("http_requests_total") == 5);
    auto bucket = [&](const char* le) {
        return e.value("http_request_duration_seconds_bucket", {{"method", "GET"}, {"route", "/users/{id}"}, {"le", le}});
    };
    BOOST_TEST(bucket("0.0005") == 1);  // 100 us
    BOOST_TEST(bucket("0.0025") == 1);
    BOOST_TEST(bucket("0.005") == 2);   // 3 ms
    BOOST_TEST(bucket("0.025") == 3);   // 20 ms
    BOOST_TEST(bucket("+Inf") == 3);
    BOOST_TEST(e.value("http_request_duration_seconds_sum", {{"method", "GET"}, {"route", "/users/{id}"}}) ==
               0.0231, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(e.value("http_request_duration_seconds_bucket", {{"method", "POST"}, {"le", "1"}}) == 0);
    BOOST_TEST(e.value("http_request_duration_seconds_bucket", {{"method", "POST"}, {"le", "2.5"}}) == 1);
}

BOOST_AUTO_TEST_CASE(gauges) {
    net::metrics m;
    m.connection_opened();
    m.connection_opened();
    m.connection_closed();
    m.request_started();
    auto e = prom::parse(m.render());
    BOOST_TEST(e.value("http_open_connections") == 1);
    BOOST_TEST(e.value("http_connections_accepted_total") == 2);
    BOOST_TEST(e.value("http_requests_in_flight") == 1);
    BOOST_TEST(e.types.at("http_open_connections") == "gauge");
}

BOOST_AUTO_TEST_CASE(concurrent_recording_loses_nothing) {
    net::metrics m;
    constexpr int threads = 4, per_thread = 50000;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&m, t] {
            const char* routes[] = {"/a", "/b/{id}", "/c", "unmatched"};
            for (int i = 0; i < per_thread; ++i) m.record("GET", routes[(i + t) % 4], 200 + i % 3, 1ms);
        });
    for (auto& t : pool) t.join();
    auto e = prom::parse(m.render());
    BOOST_TEST(e.sum("http_requests_total") == threads * per_thread);
    BOOST_TEST(e.value("http_request_duration_seconds_count", {{"route", "/a"}}) == threads * per_thread / 4);
    BOOST_TEST(e.find("http_requests_total").size() == 12u);  // 4 routes x 3 statuses
}

BOOST_AUTO_TEST_CASE(series_beyond_the_cap_are_counted_as_other) {
    net::metrics m;
    for (std::size_t i = 0; i < net::metrics::max_series + 50; ++i) m.record("GET", "/r" + std::to_string(i), 200, 1ms);
    auto e = prom::parse(m.render());
    BOOST_TEST(e.sum("http_requests_total") == net::metrics::max_series + 50);
    BOOST_TEST(e.value("http_requests_total", {{"route", "other"}}) == 50);
}

BOOST_AUTO_TEST_CASE(collectors_and_label_escaping) {
    net::metrics m;
    m.record("GET", "/odd \"route\"\\x\n", 200, 1ms);
    m.add_collector([](std::string& out) {
        net::prometheus::family(out, "extra_things", "gauge", "Things.\nMore.");
        net::prometheus::sample(out, "extra_things", net::prometheus::label("kind", "a\"b"), 7);
        net::prometheus::family(out, "extra_seconds_total", "counter", "Seconds.");
        net::prometheus::sample(out, "extra_seconds_total", "", 0.25);
    });
    auto text = m.render();
    auto e = prom::parse(text);
    BOOST_TEST(e.value("http_requests_total", {{"route", "/odd \"route\"\\x\n"}}) == 1);
    BOOST_TEST(e.value("extra_things", {{"kind", "a\"b"}}) == 7);
    BOOST_TEST(e.value("extra_seconds_total") == 0.25);
    BOOST_TEST(text.find("# HELP extra_things Things.\\nMore.\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_handler_serves_the_text_format) {
    net::metrics m;
    m.record("GET", "/x", 200, 1ms);
    auto h = net::metrics_handler(m);
    net::request req{net::http::verb::get, "/metrics", 11};
    net::request_context ctx{req, "/metrics", "", {}, "id", 0, {}};
    boost::asio::io_context ioc;
    auto fut = boost::asio::co_spawn(ioc, h(ctx), boost::asio::use_future);
    ioc.run();
    auto res = fut.get();
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(res[net::http::field::content_type] == "text/plain; version=0.0.4; charset=utf-8");
    BOOST_TEST(prom::parse(res.body()).value("http_requests_total") == 1);
}
