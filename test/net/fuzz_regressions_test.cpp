// net: every saved fuzz input — the seed corpus (test/fuzz/corpus) and the inputs that
// once crashed the fuzz target (test/fuzz/corpus-regressions) — replayed through the
// fuzz target's function in the normal build, so a fixed crash stays fixed.
#define BOOST_TEST_MODULE net_fuzz_regressions
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "fuzz/http_fuzz_target.hpp"

namespace fs = std::filesystem;

BOOST_AUTO_TEST_CASE(saved_inputs_replay_cleanly) {
    std::size_t replayed = 0;
    for (auto dir : {"corpus", "corpus-regressions"}) {
        fs::path path = fs::path(PGCORO_FUZZ_DIR) / dir;
        BOOST_REQUIRE(fs::is_directory(path));
        for (auto& entry : fs::directory_iterator(path)) {
            if (!entry.is_regular_file() || entry.path().filename().string().starts_with(".")) continue;
            std::ifstream in(entry.path(), std::ios::binary);
            std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
            BOOST_TEST_CONTEXT(entry.path().string()) {
                BOOST_CHECK_NO_THROW(
                    fuzz::run_one(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
            }
            ++replayed;
        }
    }
    BOOST_TEST_MESSAGE(replayed << " inputs replayed");
    BOOST_TEST(replayed > 0u);
}
