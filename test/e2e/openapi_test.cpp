// e2e: GET /openapi.json serves openapi.yaml (converted at build time; compared here with
// the repository's file), and the document and the server agree on the routes: for every
// path of the document, the methods the server serves there (its 405's Allow header) are
// exactly the document's operations.
#define BOOST_TEST_MODULE e2e_openapi
#include <boost/test/unit_test.hpp>

#include <boost/json/parse.hpp>
#include <cstdlib>
#include <map>
#include <set>
#include <vector>
#include <string>

#include "support/pg_env.hpp"
#include "support/server_process.hpp"

using namespace test_support;
using net::http::verb;
namespace json = boost::json;

namespace {

// "/users/{id}/orders" with every parameter a UUID.
std::string concrete(std::string path) {
    for (auto open = path.find('{'); open != std::string::npos; open = path.find('{')) {
        auto close = path.find('}', open);
        path.replace(open, close - open + 1, "00000000-0000-4000-8000-000000000001");
    }
    return path;
}

std::vector<std::string> segments(std::string_view path) {
    std::vector<std::string> out;
    while (!path.empty()) {
        if (path.front() == '/') {
            path.remove_prefix(1);
            continue;
        }
        auto slash = path.find('/');
        out.emplace_back(path.substr(0, slash));
        path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
    }
    return out;
}

// Whether the path template `pattern` matches `path`, as the server's router matches.
bool matches(std::string_view pattern, std::string_view path) {
    auto p = segments(pattern), s = segments(path);
    if (p.size() != s.size()) return false;
    for (std::size_t i = 0; i < p.size(); ++i)
        if (!(p[i].front() == '{' && p[i].back() == '}') && p[i] != s[i]) return false;
    return true;
}

std::set<std::string> split_allow(std::string_view allow) {
    std::set<std::string> out;
    while (!allow.empty()) {
        auto comma = allow.find(',');
        auto item = allow.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        out.emplace(item);
        allow = comma == std::string_view::npos ? std::string_view{} : allow.substr(comma + 1);
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_document_is_served_and_names_every_method_of_every_path) {
    server_process srv(PGCORO_SERVER_BIN, {{"DATABASE_URL", database_url()}, {"AUTH", "required"}, {"WORKERS", "1"}});
    auto res = http_request(srv.port(), verb::get, "/openapi.json");  // public: no token
    BOOST_TEST_REQUIRE(res.result_int() == 200u);
    BOOST_TEST(res[net::http::field::content_type] == "application/json");
    auto doc = json::parse(res.body()).as_object();
    BOOST_TEST(doc.at("openapi").as_string() == "3.1.0");
    const auto& paths = doc.at("paths").as_object();
    BOOST_TEST(paths.size() >= 16u);

    // The methods the document gives each template.
    std::map<std::string, std::set<std::string>> methods;
    int operations = 0;
    for (const auto& [path, item] : paths) {
        for (const auto& [key, op] : item.as_object()) {
            std::string method(key);
            if (method == "parameters" || method == "summary" || method == "description") continue;
            for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            methods[std::string(path)].insert(method);
            ++operations;
            // Public operations say so; the others require the bearer scheme (the default).
            const auto& o = op.as_object();
            bool is_public = o.contains("x-access") && o.at("x-access").as_string() == "public";
            bool no_security = o.contains("security") && o.at("security").as_array().empty();
            BOOST_TEST(is_public == no_security, path << " " << method);
        }
    }
    for (const auto& [path, own] : methods) {
        // A method the API never serves: the router answers 405 with the methods of every
        // route that matches the path (GET /orders/status is GET /orders/{id} with id
        // "status"), which must be those the document gives the templates that match it.
        auto target = concrete(path);
        std::set<std::string> documented;
        for (const auto& [other, its] : methods)
            if (matches(other, target)) documented.insert(its.begin(), its.end());
        auto probe = http_request(srv.port(), verb::options, target);
        BOOST_TEST_CONTEXT(path) {
            BOOST_TEST(probe.result_int() == 405u);
            auto served = split_allow(probe["Allow"]);
            BOOST_TEST((served == documented), "served: " << probe["Allow"]);
        }
    }
    BOOST_TEST_MESSAGE(paths.size() << " paths, " << operations << " operations checked against the server");
}

// The served document is the repository's openapi.yaml: converted here again, apart from
// the build (python3 and python3-yaml, as scripts/setup installs them), and compared as
// JSON values.
BOOST_AUTO_TEST_CASE(the_served_document_is_the_repositorys) {
    const char* repo = std::getenv("PGCORO_REPO");
    BOOST_TEST_REQUIRE(repo, "PGCORO_REPO is not set: run the tests through scripts/test");
    auto converted = run_process("/usr/bin/python3",
                                 {"-c", "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
                                  std::string(repo) + "/openapi.yaml"});
    BOOST_TEST_REQUIRE(converted.status == 0, converted.output);
    server_process srv(PGCORO_SERVER_BIN, {{"DATABASE_URL", database_url()}, {"WORKERS", "1"}});
    auto res = http_request(srv.port(), verb::get, "/openapi.json");
    BOOST_TEST_REQUIRE(res.result_int() == 200u);
    BOOST_TEST((json::parse(res.body()) == json::parse(converted.output)));
}

// Errors answered before routing are documented on every operation; /health has no other
// 4xx, so this is its documented client error: headers over MAX_HEADER_BYTES give 431 with
// the error body (checked against the document when the tests run through the validating
// proxy; Node.js takes headers up to 16 KiB, so 4 KiB passes it).
BOOST_AUTO_TEST_CASE(headers_too_large_on_health_are_431_with_the_error_body) {
    server_process srv(PGCORO_SERVER_BIN, {{"DATABASE_URL", database_url()}, {"WORKERS", "1"}, {"MAX_HEADER_BYTES", "2048"}});
    auto res = http_request(srv.port(), verb::get, "/health", {}, "application/json",
                            {{"X-Padding", std::string(4096, 'p')}});
    BOOST_TEST(res.result_int() == 431u);
    auto body = json::parse(res.body()).as_object();
    BOOST_TEST(body.at("code").as_string() == "HEADERS_TOO_LARGE");
    BOOST_TEST(!res["X-Request-Id"].empty());
}
