// domain/auth/access.hpp — registering a route with its access rule. Every route of the
// API is registered through here, so a route's rule sits next to its path in the
// register_* function of its resource: one place a reader checks against API.md.
//
// Before the handler runs (with AUTH=required): `anyone` lets every request through; the
// others need `Authorization: Bearer <token>` naming a live session (401 UNAUTHENTICATED
// with WWW-Authenticate otherwise) and `operator_only` an operator's (403 FORBIDDEN). The
// handler gets the caller and scopes its statements to it (caller::scope()). With
// AUTH=off every handler gets caller::open().
//
// Errors the handler throws pass through to_http_error (domain/common/errors.hpp).
// Answers to signed-in callers carry Cache-Control: no-store.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "domain/auth/caller.hpp"
#include "net/router.hpp"

namespace domain {

struct services;

using guarded_handler = boost::asio::awaitable<net::response> (*)(services&, net::request_context&, const caller&);

void route(net::router& r, net::http::verb method, std::string pattern, access rule, services& svc,
           guarded_handler fn);
// The same for a handler that needs no caller (GET /metrics).
void route(net::router& r, net::http::verb method, std::string pattern, access rule, services& svc,
           net::handler h);

}  // namespace domain
