// e2e: GET /docs renders in a real browser. Debian's Chromium, headless, loads the page
// from the server, runs its scripts (Swagger UI), and the rendered DOM must hold every
// operation of the document the server serves at /openapi.json. The page must not try to
// load anything from elsewhere: its Content-Security-Policy would refuse it, and the
// browser's console would say so. A screenshot is left in the build folder
// (test-artefacts/docs.png), not committed.
#define BOOST_TEST_MODULE e2e_docs
#include <boost/test/unit_test.hpp>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "support/pg_env.hpp"
#include "support/server_process.hpp"

using namespace test_support;
using net::http::verb;
namespace json = boost::json;

namespace {

std::string chromium() {
    const char* given = std::getenv("PGCORO_CHROMIUM");
    return given && *given ? given : "/usr/bin/chromium";
}

// Chromium headless with what this machine needs: no sandbox (tests may run as root), no
// GPU, and none of its own background traffic (the network here is closed), in a new
// empty profile. `what` is --dump-dom or --screenshot=...; the page's scripts get up to
// 10 s of virtual time to render.
std::string browse(const std::string& url, const std::string& what, const std::string& out,
                   const std::string& console) {
    auto profile = std::filesystem::temp_directory_path() / ("pgcoro-chromium-" + std::to_string(getpid()));
    std::filesystem::remove_all(profile);
    std::string cmd = "timeout 120 " + chromium() +
                      " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
                      " --disable-background-networking --disable-component-update --disable-sync"
                      " --window-size=1280,1600 --virtual-time-budget=10000 --enable-logging=stderr --v=0"
                      " --user-data-dir=" + profile.string() + " " + what + " '" + url + "' >" + out + " 2>" + console;
    auto r = run_process("/bin/sh", {"-c", cmd});
    std::filesystem::remove_all(profile);
    BOOST_TEST_REQUIRE(r.status == 0, "chromium failed: " << r.output);
    std::ifstream in(console);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_docs_page_renders_every_operation_in_chromium) {
    BOOST_TEST_REQUIRE(std::filesystem::exists(chromium()),
                       chromium() << " is not installed (scripts/setup installs Debian's chromium)");
    server_process srv(PGCORO_SERVER_BIN, {{"DATABASE_URL", database_url()}, {"AUTH", "required"}, {"WORKERS", "1"}});

    // Public, HTML, and fenced in by its Content-Security-Policy.
    auto page = http_request(srv.port(), verb::get, "/docs");
    BOOST_TEST_REQUIRE(page.result_int() == 200u);
    BOOST_TEST(page[net::http::field::content_type] == "text/html; charset=utf-8");
    BOOST_TEST(std::string(page["Content-Security-Policy"]).starts_with("default-src 'none'"));

    auto doc = json::parse(http_request(srv.port(), verb::get, "/openapi.json").body()).as_object();

    std::filesystem::path artefacts = PGCORO_ARTEFACTS_DIR;
    std::filesystem::create_directories(artefacts);
    std::string url = "http://127.0.0.1:" + std::to_string(srv.port()) + "/docs";
    auto dom_file = (artefacts / "docs.dom.html").string();
    auto console = browse(url, "--dump-dom", dom_file, (artefacts / "docs.console.txt").string());
    auto dom = read_file(dom_file);
    BOOST_TEST_MESSAGE("rendered DOM: " << dom.size() << " bytes");

    // Every operation, as the element Swagger UI makes for it: operations-<tag>-<operationId>.
    int operations = 0;
    for (const auto& [path, item] : doc.at("paths").as_object()) {
        for (const auto& [method, op] : item.as_object()) {
            if (!op.is_object() || !op.as_object().contains("operationId")) continue;
            const auto& o = op.as_object();
            std::string id = "id=\"operations-" + std::string(o.at("tags").as_array().at(0).as_string()) + "-" +
                             std::string(o.at("operationId").as_string()) + "\"";
            BOOST_TEST(dom.find(id) != std::string::npos, path << " " << method << ": no " << id);
            ++operations;
        }
    }
    BOOST_TEST(operations >= 20);
    BOOST_TEST_MESSAGE(operations << " operations found in the rendered page");

    // Nothing refused: the page asked for nothing outside itself.
    BOOST_TEST(console.find("Content Security Policy") == std::string::npos, console);

    auto shot = artefacts / "docs.png";
    std::filesystem::remove(shot);
    browse(url, "--screenshot=" + shot.string(), "/dev/null", (artefacts / "docs.screenshot.txt").string());
    BOOST_TEST_REQUIRE(std::filesystem::exists(shot));
    auto png = read_file(shot.string());
    BOOST_TEST(png.size() > 10000u);
    BOOST_TEST(png.substr(1, 3) == "PNG");
    BOOST_TEST_MESSAGE("screenshot: " << shot.string());
}
