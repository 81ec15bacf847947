#include "app/config.hpp"

#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string_view>

namespace app {

namespace {

long long parse_number(std::string_view name, std::string_view value, long long min, long long max) {
    long long v = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc{} || p != value.data() + value.size() || v < min || v > max)
        throw std::invalid_argument(std::string(name) + ": expected a whole number from " + std::to_string(min) +
                                    " to " + std::to_string(max) + ", got '" + std::string(value) + "'");
    return v;
}

bool parse_bool(std::string_view name, std::string_view v) {
    if (v == "1" || v == "true" || v == "on" || v == "yes") return true;
    if (v == "0" || v == "false" || v == "off" || v == "no") return false;
    throw std::invalid_argument(std::string(name) + ": expected 0 or 1, got '" + std::string(v) + "'");
}

// One table of settings, read from the environment first and then from flags.
void apply(config& c, std::string_view key, std::string_view value) {
    using ms = std::chrono::milliseconds;
    if (key == "PORT") c.http.port = static_cast<unsigned short>(parse_number(key, value, 0, 65535));
    else if (key == "BIND_ADDRESS") c.http.address = value;
    else if (key == "WORKERS") c.http.workers = static_cast<std::size_t>(parse_number(key, value, 0, 256));
    else if (key == "DATABASE_URL") c.database_url = value;
    else if (key == "DB_POOL_MAX") c.pool_max = static_cast<std::size_t>(parse_number(key, value, 0, 10000));
    else if (key == "DB_AUTO_PIPELINE") c.auto_pipeline = parse_bool(key, value);
    else if (key == "DB_GROUP_READS") c.group_reads = parse_bool(key, value);
    else if (key == "DB_BATCH_LOOKUPS") c.batch_lookups = parse_bool(key, value);
    else if (key == "REQUEST_DEADLINE_MS") c.http.request_deadline = ms(parse_number(key, value, 1, 3600000));
    else if (key == "IDLE_TIMEOUT_MS") c.http.idle_timeout = ms(parse_number(key, value, 1, 3600000));
    else if (key == "HEADER_TIMEOUT_MS") c.http.header_timeout = ms(parse_number(key, value, 1, 3600000));
    else if (key == "SHUTDOWN_GRACE_MS") c.http.shutdown_grace = ms(parse_number(key, value, 0, 3600000));
    else if (key == "DRAIN_DELAY_MS") c.drain_delay = ms(parse_number(key, value, 0, 3600000));
    else if (key == "SLOW_QUERY_MS") c.slow_query = ms(parse_number(key, value, 0, 3600000));
    else if (key == "PASSWORD_HASH_COST") {
        if (value != "interactive" && value != "moderate" && value != "min")
            throw std::invalid_argument("PASSWORD_HASH_COST: expected interactive, moderate or min, got '" +
                                        std::string(value) + "'");
        c.password_cost = value;
    } else if (key == "USERS") c.seed.users = parse_number(key, value, 0, 10000000);
    else if (key == "ACCOUNTS") c.seed.accounts = parse_number(key, value, 0, 10000000);
    else if (key == "PRODUCTS") c.seed.products = parse_number(key, value, 0, 10000000);
    else if (key == "TOKENS") c.seed.tokens_file = value;
    else if (key == "SESSIONS") c.seed.tokens = parse_number(key, value, 1, 1000000);
    else if (key == "ACCESS_LOG") c.http.access_log = parse_bool(key, value);
    else if (key == "BATCH_SCHEDULING") c.http.batch_scheduling = parse_bool(key, value);
    else if (key == "MAX_HEADER_BYTES") c.http.header_limit = static_cast<std::size_t>(parse_number(key, value, 1024, 1 << 20));
    else if (key == "MAX_BODY_BYTES") c.http.body_limit = static_cast<std::size_t>(parse_number(key, value, 0, 1LL << 30));
    else if (key == "PGCORO_TEST_ROUTES") c.test_routes = parse_bool(key, value);
    else if (key == "AUTH") {
        if (value != "required" && value != "off")
            throw std::invalid_argument("AUTH: expected required or off, got '" + std::string(value) + "'");
        c.auth.required = value == "required";
    } else if (key == "SESSION_IDLE_S") c.auth.idle = std::chrono::seconds(parse_number(key, value, 1, 31536000));
    else if (key == "SESSION_MAX_S") c.auth.max = std::chrono::seconds(parse_number(key, value, 1, 31536000));
    else if (key == "SESSION_CACHE_MS") c.auth.cache = ms(parse_number(key, value, 0, 4500));
    else if (key == "TRUSTED_PROXIES") c.auth.trusted_proxies = value;
    else if (key == "HASH_QUEUE_MAX") c.auth.hash_queue = static_cast<int>(parse_number(key, value, 1, 100000));
    else if (key == "BOOTSTRAP_OPERATOR_EMAIL") c.auth.operator_email = value;
    else if (key == "BOOTSTRAP_OPERATOR_PASSWORD") c.auth.operator_password = value;
    else if (key == "MAX_CONNECTIONS") c.http.max_connections = static_cast<std::size_t>(parse_number(key, value, 1, 10000000));
    else throw std::invalid_argument("unknown setting " + std::string(key));
}

constexpr const char* keys[] = {"PORT", "BIND_ADDRESS", "WORKERS", "DATABASE_URL", "DB_POOL_MAX", "DB_AUTO_PIPELINE", "DB_GROUP_READS", "DB_BATCH_LOOKUPS",
                                "REQUEST_DEADLINE_MS", "IDLE_TIMEOUT_MS", "HEADER_TIMEOUT_MS", "SHUTDOWN_GRACE_MS", "DRAIN_DELAY_MS", "SLOW_QUERY_MS",
                                "MAX_CONNECTIONS", "ACCESS_LOG", "BATCH_SCHEDULING", "MAX_HEADER_BYTES", "MAX_BODY_BYTES", "PGCORO_TEST_ROUTES", "PASSWORD_HASH_COST",
                                "AUTH", "SESSION_IDLE_S", "SESSION_MAX_S", "SESSION_CACHE_MS", "TRUSTED_PROXIES", "HASH_QUEUE_MAX",
                                "BOOTSTRAP_OPERATOR_EMAIL", "BOOTSTRAP_OPERATOR_PASSWORD"};

bool loopback(const std::string& address) {
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address(address, ec);
    return !ec && a.is_loopback();
}

// The checks that span several settings.
void check(const config& c) {
    if (c.database_url.empty()) throw std::invalid_argument("DATABASE_URL is not set (or pass --database-url)");
    if (c.test_routes && c.command == "serve" && !loopback(c.http.address))
        throw std::invalid_argument("PGCORO_TEST_ROUTES adds unauthenticated /debug routes: it is refused unless "
                                    "BIND_ADDRESS is a loopback address (BIND_ADDRESS is " + c.http.address + ")");
    if (!c.auth.required && c.command == "serve" && !loopback(c.http.address))
        throw std::invalid_argument("AUTH=off serves the open API (no tokens, no roles) to anyone who can connect: it is "
                                    "refused unless BIND_ADDRESS is a loopback address such as 127.0.0.1 (BIND_ADDRESS is " +
                                    c.http.address + ")");
    if (c.auth.operator_email.empty() != c.auth.operator_password.empty())
        throw std::invalid_argument("BOOTSTRAP_OPERATOR_EMAIL and BOOTSTRAP_OPERATOR_PASSWORD go together: set both or neither");
    if (!c.auth.operator_password.empty() &&
        (c.auth.operator_password.size() < 8 || c.auth.operator_password.size() > 128))
        throw std::invalid_argument("BOOTSTRAP_OPERATOR_PASSWORD must be 8 to 128 characters");
}

}  // namespace

std::string usage() {
    return "usage: pgcoro-server [serve|migrate] [--flag=value ...]\n"
           "       pgcoro-server seed [--users N] [--accounts N] [--products N] [--tokens FILE [--sessions N]]\n"
           "                          [--flag=value ...]\n"
           "       pgcoro-server operator EMAIL [--flag=value ...]   (password on standard input)\n"
           "  serve    apply pending migrations, then serve HTTP (the default)\n"
           "  migrate  apply pending migrations and exit\n"
           "  seed     apply pending migrations, then add test data with ids derived from a\n"
           "           sequence number (see app/seed.cpp): N users (default 10000), accounts\n"
           "           of 1000.00 (default 1000), products with 1000000 in stock (default 1000).\n"
           "           Rows already there are kept, so running it again is harmless.\n"           "           --tokens FILE: also open a session for each of the first N seeded users\n"
           "           (--sessions, default 1000) without hashing, and write their tokens to FILE,\n"
           "           line n the token of user n (for load tests with AUTH=required)\n"
           "  operator make EMAIL an operator: created with the password read from standard input\n"
           "           (one line), or promoted when the user exists (password unchanged)\n"
           "\n"
           "Every setting is an environment variable and the same as a flag\n"
           "(PORT or --port, DB_POOL_MAX or --db-pool-max):\n"
           "  PORT                 HTTP port (default 8080; 0 picks a free one)\n"
           "  BIND_ADDRESS         address to listen on (default 0.0.0.0)\n"
           "  WORKERS              event loops, one per thread (default: one per core)\n"
           "  DATABASE_URL         libpq connection string (required)\n"
           "  DB_POOL_MAX          database connections per process (default 4 per worker)\n"
           "  DB_AUTO_PIPELINE     share connections among concurrent statements (default 1)\n"
           "  DB_GROUP_READS       concurrent read-only statements share one Sync and one write (default 1)\n"
           "  DB_BATCH_LOOKUPS     concurrent GET /users/{id}, /inventory/{id} share one statement (default 1)\n"
           "  REQUEST_DEADLINE_MS  per-request deadline (default 30000)\n"
           "  IDLE_TIMEOUT_MS      keep-alive idle timeout (default 60000)\n"
           "  HEADER_TIMEOUT_MS    time to receive a request's headers (default 10000)\n"
           "  DRAIN_DELAY_MS       on SIGTERM, GET /health answers 503 \"draining\" and the server keeps\n"
           "                       serving for this long before it stops accepting (default 0; behind a\n"
           "                       load balancer: its health-check interval times its fall count)\n"
           "  SHUTDOWN_GRACE_MS    time in-flight requests get on SIGTERM (default 10000)\n"
           "  SLOW_QUERY_MS        statements slower than this are counted and logged at warn (default 100; 0: off)\n"
           "  MAX_CONNECTIONS      open HTTP connections before accepting pauses (default 20000)\n"
           "  MAX_HEADER_BYTES     request line and headers; over it: 431 (default 16384)\n"
           "  MAX_BODY_BYTES       request body; over it: 413 (default 1048576)\n"
           "  ACCESS_LOG           1: one info line per request (default 0: at debug level only)\n"
           "  BATCH_SCHEDULING     1: event-loop threads use Linux SCHED_BATCH: they do not preempt\n"
           "                       other work on wakeup, so each turn of a loop finds more ready\n"
           "                       (default 0; see README, Performance)\n"
           "  PASSWORD_HASH_COST   Argon2id cost: interactive (default), moderate, or min (tests, load tests)\n"
           "  AUTH                 required (default): sessions and roles (API.md); off: the open API,\n"
           "                       refused unless BIND_ADDRESS is loopback\n"
           "  SESSION_IDLE_S       a session ends after this long unused (default 1800)\n"
           "  SESSION_MAX_S        a session ends this long after log-in (default 43200)\n"
           "  SESSION_CACHE_MS     how long a process trusts a verified token before checking again:\n"
           "                       the longest a revoked session still works elsewhere (default 4000, max 4500:\n"
           "                       API.md's 5 s, less the time a lookup takes)\n"
           "  TRUSTED_PROXIES      CIDR list of proxies whose X-Forwarded-For is believed (default: none)\n"
           "  HASH_QUEUE_MAX       password hashes waiting or running at once; past it 503 (default 32)\n"
           "  BOOTSTRAP_OPERATOR_EMAIL, BOOTSTRAP_OPERATOR_PASSWORD\n"
           "                       at start, create this operator or promote this user (idempotent)\n"
           "  PGCORO_TEST_ROUTES   1: add /debug/sleep, /debug/db_sleep, /debug/hang and /debug/rendezvous (tests only)\n"
           "  PGCORO_LOG_LEVEL     debug | info | warn | error (default info; debug logs every request)\n"
           "\n"
           "  --help, --version\n";
}

std::optional<config> load_config(int argc, char** argv) {
    config c;
    std::string seed_flag;  // the last of --users/--accounts/--products given
    for (auto* k : keys)
        if (const char* v = std::getenv(k); v && *v) apply(c, k, v);
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") {
            std::cout << usage();
            return std::nullopt;
        }
        if (a == "--version") {
            std::cout << "pgcoro-server 0.1.0\n";
            return std::nullopt;
        }
        if (a == "serve" || a == "migrate" || a == "seed") {
            c.command = a;
            continue;
        }
        if (a == "operator") {
            c.command = a;
            if (i + 1 >= argc || std::string_view(argv[i + 1]).substr(0, 2) == "--")
                throw std::invalid_argument("operator needs an EMAIL (the password is read from standard input)");
            c.operator_email = argv[++i];
            continue;
        }
        // Not echoed: a connection string passed without its flag would show its password.
        if (a.substr(0, 2) != "--") throw std::invalid_argument("unexpected argument #" + std::to_string(i));
        auto eq = a.find('=');
        std::string key(a.substr(2, eq == std::string_view::npos ? std::string_view::npos : eq - 2));
        std::string value;
        if (eq != std::string_view::npos) value = a.substr(eq + 1);
        else if (i + 1 < argc) value = argv[++i];
        else throw std::invalid_argument("--" + key + " needs a value");
        for (auto& ch : key) ch = ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        // Arguments show in `ps` and /proc: a password is taken from the environment only.
        if (key == "BOOTSTRAP_OPERATOR_PASSWORD")
            throw std::invalid_argument("BOOTSTRAP_OPERATOR_PASSWORD is read from the environment only, never from an argument");
        // The seed settings are flags only (no environment variable), for the seed command.
        if (key == "USERS" || key == "ACCOUNTS" || key == "PRODUCTS" || key == "TOKENS" || key == "SESSIONS")
            seed_flag = a.substr(0, a.find('='));
        apply(c, key, value);
    }
    if (!seed_flag.empty() && c.command != "seed")
        throw std::invalid_argument(seed_flag + " is only for the seed command");
    check(c);
    return c;
}

}  // namespace app
