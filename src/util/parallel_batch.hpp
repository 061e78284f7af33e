// Runs one job per item on `threads` worker threads (0 = all cores), each worker with its own state
// (its own networks: OpenCV DNN nets are not reentrant). While it runs, OpenCV's own threading is
// set to 1, since parallelism across images beats intra-layer threads on these small networks.
// A job's exceptions are its own business: run_job must not throw (catch inside).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <opencv2/core/utility.hpp>

namespace faceproof {

// make_state() -> State, called once per worker; run_job(State&, index) for each item;
// progress(done, total) serialised after each item.
template <class MakeState, class RunJob>
void parallel_batch(std::size_t count, int threads, MakeState make_state, RunJob run_job,
                    const std::function<void(std::size_t, std::size_t)>& progress) {
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    threads = static_cast<int>(std::min<std::size_t>(threads, std::max<std::size_t>(1, count)));
    std::atomic<std::size_t> next{0}, done{0};
    std::mutex progress_mutex;
    const int previous_cv_threads = cv::getNumThreads();
    cv::setNumThreads(threads > 1 ? 1 : previous_cv_threads);
    auto worker = [&] {
        auto state = make_state();
        for (std::size_t i; (i = next.fetch_add(1)) < count;) {
            run_job(state, i);
            const std::size_t finished = ++done;
            if (progress) {
                std::lock_guard lock(progress_mutex);
                progress(finished, count);
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    cv::setNumThreads(previous_cv_threads);
}

}  // namespace faceproof
