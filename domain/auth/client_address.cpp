#include "domain/auth/client_address.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <stdexcept>
#include <vector>

namespace domain {

namespace ip = boost::asio::ip;

struct trusted_proxies::impl {
    std::vector<ip::network_v4> v4;
    std::vector<ip::network_v6> v6;
};

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::optional<ip::address> parse_address(std::string_view text) {
    boost::system::error_code ec;
    auto a = ip::make_address(std::string(trim(text)), ec);
    if (ec) return std::nullopt;
    // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d.
    if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
    return a;
}

}  // namespace

trusted_proxies::trusted_proxies(std::unique_ptr<impl> i) : impl_(std::move(i)) {}
trusted_proxies::~trusted_proxies() = default;

std::shared_ptr<const trusted_proxies> trusted_proxies::parse(std::string_view list) {
    auto i = std::make_unique<impl>();
    while (!list.empty()) {
        auto comma = list.find(',');
        auto entry = trim(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (entry.empty()) continue;
        std::string text(entry);
        if (text.find('/') == std::string::npos) text += text.find(':') == std::string::npos ? "/32" : "/128";
        boost::system::error_code ec;
        if (text.find(':') == std::string::npos) {
            auto n = ip::make_network_v4(text, ec);
            if (!ec) i->v4.push_back(n.canonical());
        } else {
            auto n = ip::make_network_v6(text, ec);
            if (!ec) i->v6.push_back(n.canonical());
        }
        if (ec) throw std::invalid_argument("TRUSTED_PROXIES: '" + std::string(entry) + "' is not an address or CIDR block");
    }
    return std::shared_ptr<const trusted_proxies>(new trusted_proxies(std::move(i)));
}

bool trusted_proxies::trusts(std::string_view address) const {
    auto a = parse_address(address);
    if (!a) return false;
    if (a->is_v4()) {
        ip::network_v4 host(a->to_v4(), 32);
        for (auto& n : impl_->v4)
            if (host.is_subnet_of(n) || host == n) return true;
    } else {
        ip::network_v6 host(a->to_v6(), 128);
        for (auto& n : impl_->v6)
            if (host.is_subnet_of(n) || host == n) return true;
    }
    return false;
}

std::string trusted_proxies::client(std::string_view peer, std::string_view forwarded_for) const {
    if (!trusts(peer)) return std::string(peer);
    // Right to left: the entries a trusted proxy appended are true; the first one that is
    // not a trusted proxy is the client. Anything to its left, the client wrote itself.
    while (!forwarded_for.empty()) {
        auto comma = forwarded_for.rfind(',');
        auto entry = trim(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
        forwarded_for = comma == std::string_view::npos ? std::string_view{} : forwarded_for.substr(0, comma);
        auto a = parse_address(entry);
        if (!a) break;  // not an address: stop believing the header here
        auto text = a->to_string();
        if (!trusts(text)) return text;
    }
    return std::string(peer);
}

}  // namespace domain
