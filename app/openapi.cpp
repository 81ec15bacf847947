#include "app/openapi.hpp"

#include "domain/auth/access.hpp"

namespace app {

void register_openapi(net::router& routes, domain::services& svc) {
    domain::route(routes, net::http::verb::get, "/openapi.json", domain::access::anyone, svc,
                  [](net::request_context&) -> boost::asio::awaitable<net::response> {
                      net::response res{net::http::status::ok, 11};
                      res.set(net::http::field::content_type, "application/json");
                      res.body() = openapi_json;
                      co_return res;
                  });
    domain::route(routes, net::http::verb::get, "/docs", domain::access::anyone, svc,
                  [](net::request_context&) -> boost::asio::awaitable<net::response> {
                      net::response res{net::http::status::ok, 11};
                      res.set(net::http::field::content_type, "text/html; charset=utf-8");
                      // Redoc's inline scripts run; nothing else may load (no network
                      // access is needed: fonts and scripts are in the page).
                      res.set("Content-Security-Policy",
                              "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                              "img-src data:; font-src data:; connect-src 'self'; worker-src blob:");
                      res.body() = docs_html;
                      co_return res;
                  });
}

}  // namespace app
