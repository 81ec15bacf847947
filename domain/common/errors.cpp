#include "domain/common/errors.hpp"

#include <pgcoro/error.hpp>

#include "net/log.hpp"

namespace domain {

using net::http::status;

net::http_error to_http_error(std::exception_ptr ep) {
    try {
        std::rethrow_exception(ep);
    } catch (const net::http_error& e) {
        return e;
    } catch (const pgcoro::error& e) {
        switch (e.kind()) {
        case pgcoro::errc::pool_timeout: {
            // The database answers, but every connection stayed busy for the whole
            // acquire timeout (or the queue was too long to wait in): overload, not outage.
            net::log::debug("overloaded: {}", e.what());
            net::http_error out(status::service_unavailable, "OVERLOADED",
                                "the server is too busy to run this request now; retry");
            out.headers.emplace_back("Retry-After", "1");
            return out;
        }
        case pgcoro::errc::connect_failed:
        case pgcoro::errc::connection_lost:
        case pgcoro::errc::pool_closed:
        case pgcoro::errc::timeout:
        // The connection broke during COMMIT (the database restarting): the client cannot
        // know whether the write happened, as with any lost connection.
        case pgcoro::errc::commit_outcome_unknown: {
            net::log::warn("database unavailable: {}", e.what());
            net::http_error out(status::service_unavailable, "DATABASE_UNAVAILABLE", "the database is unavailable");
            out.headers.emplace_back("Retry-After", "1");
            return out;
        }
        case pgcoro::errc::cancelled: {
            // The request's deadline passed (the server answers 503 itself) or the
            // client went away: nothing to log as an error.
            net::http_error out(status::service_unavailable, "DATABASE_UNAVAILABLE", "the database is unavailable");
            out.headers.emplace_back("Retry-After", "1");
            return out;
        }
        case pgcoro::errc::retry_exhausted:
        case pgcoro::errc::retry_budget_exhausted: {
            net::http_error out(status::service_unavailable, "RETRY_EXHAUSTED",
                                "the transaction could not complete because of conflicting updates; retry");
            out.headers.emplace_back("Retry-After", "1");
            return out;
        }
        default:
            if (pgcoro::is_connection_error(e)) {
                net::http_error out(status::service_unavailable, "DATABASE_UNAVAILABLE", "the database is unavailable");
                out.headers.emplace_back("Retry-After", "1");
                return out;
            }
            net::log::error("database error: {}", e.what());
            return net::http_error(status::internal_server_error, "INTERNAL", "internal server error");
        }
    } catch (const std::exception& e) {
        net::log::error("unhandled error: {}", e.what());
    } catch (...) {
        net::log::error("unhandled non-standard exception");
    }
    return net::http_error(status::internal_server_error, "INTERNAL", "internal server error");
}

}  // namespace domain
