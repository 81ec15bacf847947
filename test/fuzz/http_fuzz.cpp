// test/fuzz/http_fuzz.cpp — the libFuzzer entry point (built only with -DPGCORO_FUZZ=ON
// by scripts/fuzz, with clang). What it runs is in http_fuzz_target.hpp.
#include <boost/assert.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fuzz/http_fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::run_one(data, size);
    return 0;
}

// The fuzz build keeps Boost's assertions on (BOOST_ENABLE_ASSERT_HANDLER, set with
// PGCORO_FUZZ): an assertion is a finding, except one known false alarm. Boost 1.81's
// HTTP parser asserts `n >= 5` in parse_chunk_header when a last chunk ("0\r\n") and the
// next byte arrive in separate reads, although the code after it handles that case
// correctly (fixed upstream by boostorg/beast#2861, Boost 1.86). The server's builds
// define NDEBUG and never evaluate it; a Debug build of the server would abort on such a
// client. test/fuzz/corpus-regressions/beast_last_chunk_split_* replay the case.
namespace boost {

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
    if (std::strcmp(expr, "n >= 5") == 0 && std::strstr(file, "beast/http/impl/basic_parser.ipp")) return;
    std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed.\n", file, line, function, expr);
    std::abort();
}

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file, long line) {
    std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed: %s\n", file, line, function, expr, msg);
    std::abort();
}

}  // namespace boost
