// domain/common/errors.hpp — the one mapping from database errors to API.md's HTTP
// errors. Handlers registered through domain::route (domain/auth/access.hpp) get it for free.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <exception>
#include <string>

#include "net/http_error.hpp"
#include "net/router.hpp"

namespace domain {

// The HTTP error for the exception in flight (a pgcoro::error, an http_error, or
// anything else: 500 INTERNAL). Never copies driver messages or SQL into the response.
net::http_error to_http_error(std::exception_ptr e);

}  // namespace domain
