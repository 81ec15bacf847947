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
}

}  // namespace app
