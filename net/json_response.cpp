#include "net/json_response.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <boost/json/serializer.hpp>
#include <boost/json/object.hpp>
#include <cctype>

namespace net {

namespace {

// Serialises `v` onto the end of `out`, through a buffer on the stack: one growth of
// `out` per kilobyte instead of the repeated ones of serialize()'s own string.
void append_json(std::string& out, const boost::json::value& v) {
    boost::json::serializer sr;
    sr.reset(&v);
    char buf[1024];
    while (!sr.done()) out.append(sr.read(buf, sizeof buf));
}

response json_response(http::status status, std::string body) {
    response res{status, 11};
    res.set(http::field::content_type, "application/json");
    // No Content-Length here: the server computes it as it writes (net/wire.hpp).
    res.body() = std::move(body);
    return res;
}

}  // namespace

response json_body(http::status status, const boost::json::value& body) {
    std::string out;
    append_json(out, body);
    return json_response(status, std::move(out));
}

response json_data(http::status status, boost::json::value data) {
    // Written around the value rather than by wrapping it in an object of its own.
    std::string out = "{\"data\":";
    append_json(out, data);
    out += '}';
    return json_response(status, std::move(out));
}

response error_response(const http_error& e) {
    boost::json::object o;
    o["error"] = e.what();
    o["code"] = e.code();
    if (!e.details().empty()) o["details"] = e.details();
    auto res = json_body(e.status(), o);
    for (auto& [k, v] : e.headers) res.set(k, v);
    return res;
}

response error_response(http::status status, std::string_view code, std::string_view message) {
    return error_response(http_error(status, std::string(code), std::string(message)));
}

namespace {

// A Boost.JSON parse handler that builds the usual value, except that numbers with a
// fraction or an exponent are kept as their exact source text (a JSON string). Money
// then never passes through binary floating point: "12.50" and 12.50 both reach the
// domain as the text 12.50.
struct exact_number_handler {
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);

    boost::json::value_stack st;
    std::string number;
    using ec_t = boost::system::error_code;
    using sv = boost::json::string_view;

    bool on_document_begin(ec_t&) { return true; }
    bool on_document_end(ec_t&) { return true; }
    bool on_array_begin(ec_t&) { return true; }
    bool on_array_end(std::size_t n, ec_t&) { st.push_array(n); return true; }
    bool on_object_begin(ec_t&) { return true; }
    bool on_object_end(std::size_t n, ec_t&) { st.push_object(n); return true; }
    bool on_string_part(sv s, std::size_t, ec_t&) { st.push_chars(s); return true; }
    bool on_string(sv s, std::size_t, ec_t&) { st.push_string(s); return true; }
    bool on_key_part(sv s, std::size_t, ec_t&) { st.push_chars(s); return true; }
    bool on_key(sv s, std::size_t, ec_t&) { st.push_key(s); return true; }
    bool on_number_part(sv s, ec_t&) { number.append(s.data(), s.size()); return true; }
    bool on_int64(std::int64_t v, sv, ec_t&) { number.clear(); st.push_int64(v); return true; }
    bool on_uint64(std::uint64_t v, sv, ec_t&) { number.clear(); st.push_uint64(v); return true; }
    bool on_double(double, sv s, ec_t&) {
        number.append(s.data(), s.size());
        st.push_string(number);
        number.clear();
        return true;
    }
    bool on_bool(bool b, ec_t&) { st.push_bool(b); return true; }
    bool on_null(ec_t&) { st.push_null(); return true; }
    bool on_comment_part(sv, ec_t&) { return true; }
    bool on_comment(sv, ec_t&) { return true; }
};

}  // namespace

boost::json::object parse_json_object(const request& req) {
    auto ct = req[http::field::content_type];
    auto media = ct.substr(0, ct.find(';'));
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    if (!(media.size() == 16 && std::equal(media.begin(), media.end(), "application/json",
                                            [](char a, char b) { return std::tolower(a) == b; })))
        throw http_error(http::status::unsupported_media_type, "UNSUPPORTED_MEDIA_TYPE",
                         "Content-Type must be application/json");
    boost::json::parse_options opts;
    opts.max_depth = 32;
    boost::json::basic_parser<exact_number_handler> parser(opts);
    parser.handler().st.reset();
    boost::system::error_code ec;
    const auto& body = req.body();
    auto n = parser.write_some(false, body.data(), body.size(), ec);
    if (ec || n != body.size() || !parser.done())
        throw http_error(http::status::bad_request, "MALFORMED_JSON", "the request body is not valid JSON");
    auto v = parser.handler().st.release();
    if (!v.is_object())
        throw http_error(http::status::bad_request, "MALFORMED_JSON", "the request body must be a JSON object");
    return std::move(v.as_object());
}

}  // namespace net
