// Prometheus metrics of the service, rendered in the text exposition format (version 0.0.4).
// Thread safety: every member function may be called concurrently.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "faceproof/types.hpp"

namespace faceproof::server {

class Metrics {
public:
    // One finished request: route is the route pattern ("/v1/subjects/{ref}"), not the raw path.
    void observe_request(const std::string& route, const std::string& method, int status, double seconds);
    // Pipeline stage timings of one request (ms, as the engine reports them).
    void observe_stages(const StageTimings& timings);
    void set_queue(int waiting, int busy, int workers);
    void count_sync(std::size_t changes);
    void count_compaction() { ++compactions_; }
    // Connection layer counters (connection_guard.hpp), copied in before each render.
    void set_connections(int open, std::uint64_t refused, std::uint64_t timed_out) {
        open_connections_ = open;
        refused_connections_ = refused;
        timed_out_connections_ = timed_out;
    }

    std::string render() const;

private:
    static constexpr std::array<double, 12> kBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
    struct Histogram {
        std::array<std::uint64_t, kBuckets.size()> counts{};
        std::uint64_t count = 0;
        double sum = 0;
    };
    mutable std::mutex mutex_;
    std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;  // route, method, status
    std::map<std::string, Histogram> latency_;                                     // route
    std::map<std::string, std::pair<double, std::uint64_t>> stages_;               // stage -> (sum s, count)
    std::atomic<int> waiting_{0}, busy_{0}, workers_{0};
    std::atomic<std::uint64_t> sync_changes_{0}, compactions_{0};
    std::atomic<int> open_connections_{0};
    std::atomic<std::uint64_t> refused_connections_{0}, timed_out_connections_{0};
};

}  // namespace faceproof::server
