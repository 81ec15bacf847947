#include "net/wire.hpp"

#include <charconv>

namespace net {

namespace {

void append_number(std::string& out, std::size_t n) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
    out.append(digits, end);
}

bool has_no_body(unsigned status) { return status < 200 || status == 204 || status == 304; }

}  // namespace

void append_response(std::string& out, const response& res, const wire_headers& extra) {
    unsigned status = res.result_int();
    out += "HTTP/1.1 ";
    append_number(out, status);
    out += ' ';
    out += std::string_view(res.reason());
    out += "\r\n";
    for (const auto& f : res) {
        auto name = f.name();
        if (name == http::field::content_length || name == http::field::connection ||
            name == http::field::transfer_encoding)
            continue;
        out += std::string_view(f.name_string());
        out += ": ";
        out += std::string_view(f.value());
        out += "\r\n";
    }
    // nosniff on every answer: a browser must never run a JSON body as a script or page.
    out += "Server: pgcoro\r\nX-Content-Type-Options: nosniff\r\nDate: ";
    out += extra.date;
    out += "\r\nX-Request-Id: ";
    out += extra.request_id;
    out += "\r\n";
    bool bodiless = has_no_body(status);
    if (!bodiless) {
        out += "Content-Length: ";
        append_number(out, res.body().size());
        out += "\r\n";
    }
    if (!extra.keep_alive) out += "Connection: close\r\n";
    else if (extra.http10_client) out += "Connection: keep-alive\r\n";
    out += "\r\n";
    if (!bodiless && !extra.head) out += res.body();
}

}  // namespace net
