#include "net/json_response.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/object.hpp>

namespace net {

response json_body(http::status status, const boost::json::value& body) {
    response res{status, 11};
    res.set(http::field::content_type, "application/json");
    res.body() = boost::json::serialize(body);
    res.prepare_payload();
    return res;
}

response json_data(http::status status, boost::json::value data) {
    boost::json::object o;
    o["data"] = std::move(data);
    return json_body(status, o);
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
    boost::system::error_code ec;
    auto v = boost::json::parse(req.body(), ec, {}, opts);
    if (ec) throw http_error(http::status::bad_request, "MALFORMED_JSON", "the request body is not valid JSON");
    if (!v.is_object())
        throw http_error(http::status::bad_request, "MALFORMED_JSON", "the request body must be a JSON object");
    return std::move(v.as_object());
}

}  // namespace net
