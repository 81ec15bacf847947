// test/support/parallel.hpp — real concurrency for tests: many client threads at once.
#pragma once

#include <functional>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

namespace test_support {

// Runs `check` `per_thread` times on each of `threads` threads at once (each thread with
// its own random generator, seeded by its index); returns how many checks failed.
inline int failures_in_parallel(int threads, int per_thread, const std::function<bool(std::mt19937&)>& check) {
    std::vector<int> failed(threads, 0);
    std::vector<std::thread> running;
    for (int t = 0; t < threads; ++t)
        running.emplace_back([&, t] {
            std::mt19937 rng(t);
            for (int k = 0; k < per_thread; ++k)
                if (!check(rng)) ++failed[t];
        });
    for (auto& t : running) t.join();
    return std::accumulate(failed.begin(), failed.end(), 0);
}

}  // namespace test_support
