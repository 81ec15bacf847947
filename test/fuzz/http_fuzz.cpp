// test/fuzz/http_fuzz.cpp — the libFuzzer entry point (built only with -DPGCORO_FUZZ=ON
// by scripts/fuzz, with clang). What it runs is in http_fuzz_target.hpp.
#include "fuzz/http_fuzz_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::run_one(data, size);
    return 0;
}
