// domain/auth/client_address.hpp — the address a request comes from, for log-in
// throttling. The socket's peer, unless that peer is a proxy we trust (TRUSTED_PROXIES):
// then the address that proxy saw, from X-Forwarded-For. A header from anyone else is
// ignored: a client could write any address there.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace domain {

class trusted_proxies {
public:
    // A comma-separated list of CIDR blocks ("10.0.0.0/8, ::1/128"; a bare address is
    // one host). Throws std::invalid_argument naming a bad entry.
    static std::shared_ptr<const trusted_proxies> parse(std::string_view list);
    ~trusted_proxies();

    bool trusts(std::string_view address) const;

    // The client's address: `peer` when it is not trusted; else the right-most address
    // of `forwarded_for` (X-Forwarded-For) that is not a trusted proxy itself (each proxy
    // appends the address it saw), or `peer` when there is none.
    std::string client(std::string_view peer, std::string_view forwarded_for) const;

    struct impl;

private:
    explicit trusted_proxies(std::unique_ptr<impl> i);
    std::unique_ptr<impl> impl_;
};

}  // namespace domain
