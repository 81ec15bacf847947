// net/wire: responses as the server writes them, read back with Beast's response parser.
#define BOOST_TEST_MODULE net_wire
#include <boost/beast/http/parser.hpp>
#include <boost/test/unit_test.hpp>

#include "net/json_response.hpp"
#include "net/wire.hpp"

namespace http = net::http;

namespace {

// Parses one response from `wire`; `head` parses it as the answer to a HEAD request.
// Returns the response and how many bytes it took.
std::pair<http::response<http::string_body>, std::size_t> parse(const std::string& wire, bool head = false) {
    http::response_parser<http::string_body> p;
    p.eager(true);
    if (head) p.skip(true);
    boost::system::error_code ec;
    auto used = p.put(boost::asio::buffer(wire), ec);
    BOOST_REQUIRE_MESSAGE(!ec, ec.message());
    BOOST_REQUIRE(p.is_done());
    return {p.release(), used};
}

net::wire_headers extra(bool keep = true) { return {"Mon, 23 Nov 2026 21:00:00 GMT", "req-1", keep, false, false}; }

}  // namespace

BOOST_AUTO_TEST_CASE(a_json_response_has_length_type_and_the_server_headers) {
    auto res = net::json_data(http::status::created, boost::json::object{{"id", 7}});
    std::string out;
    net::append_response(out, res, extra());
    auto [back, used] = parse(out);
    BOOST_TEST(used == out.size());
    BOOST_TEST(back.result_int() == 201);
    BOOST_TEST(back.body() == R"({"data":{"id":7}})");
    BOOST_TEST(back[http::field::content_length] == std::to_string(back.body().size()));
    BOOST_TEST(back[http::field::content_type] == "application/json");
    BOOST_TEST(back[http::field::server] == "pgcoro");
    BOOST_TEST(back[http::field::date] == "Mon, 23 Nov 2026 21:00:00 GMT");
    BOOST_TEST(back["X-Request-Id"] == "req-1");
    BOOST_TEST(back.keep_alive());
}

BOOST_AUTO_TEST_CASE(responses_appended_back_to_back_parse_one_after_the_other) {
    std::string out;
    net::append_response(out, net::json_data(http::status::ok, 1), extra());
    auto first_size = out.size();
    net::append_response(out, net::error_response(http::status::not_found, "NOT_FOUND", "no"), extra(false));
    auto [a, used_a] = parse(out);
    BOOST_TEST(used_a == first_size);
    auto [b, used_b] = parse(out.substr(used_a));
    BOOST_TEST(b.result_int() == 404);
    BOOST_TEST(!b.keep_alive());
    BOOST_TEST(b[http::field::connection] == "close");
}

BOOST_AUTO_TEST_CASE(handler_set_length_and_connection_are_replaced) {
    net::response res{http::status::ok, 11};
    res.body() = "hello";
    res.set(http::field::content_length, "999");
    res.set(http::field::connection, "upgrade");
    std::string out;
    net::append_response(out, res, extra());
    BOOST_TEST(out.find("999") == std::string::npos);
    BOOST_TEST(out.find("upgrade") == std::string::npos);
    BOOST_TEST(parse(out).first.body() == "hello");
}

BOOST_AUTO_TEST_CASE(head_answers_keep_the_length_but_send_no_body) {
    auto res = net::json_data(http::status::ok, "x");
    std::string out;
    auto e = extra();
    e.head = true;
    net::append_response(out, res, e);
    BOOST_TEST(out.substr(out.size() - 4) == "\r\n\r\n");
    auto [back, used] = parse(out, true);
    BOOST_TEST(used == out.size());
    BOOST_TEST(back[http::field::content_length] == std::to_string(res.body().size()));
}

BOOST_AUTO_TEST_CASE(no_content_has_neither_length_nor_body) {
    net::response res{http::status::no_content, 11};
    std::string out;
    net::append_response(out, res, extra());
    BOOST_TEST(out.find("Content-Length") == std::string::npos);
    BOOST_TEST(parse(out).second == out.size());
}

BOOST_AUTO_TEST_CASE(http10_clients_are_told_the_connection_stays_open) {
    std::string out;
    auto e = extra();
    e.http10_client = true;
    net::append_response(out, net::json_data(http::status::ok, 1), e);
    BOOST_TEST(parse(out).first[http::field::connection] == "keep-alive");
}
