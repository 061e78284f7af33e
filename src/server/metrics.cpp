#include "server/metrics.hpp"

#include <sstream>

namespace faceproof::server {
namespace {
// Label values are route patterns and stage names we choose, but escape anyway: the format breaks
// on a stray quote or backslash.
std::string label(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}
}  // namespace

void Metrics::observe_request(const std::string& route, const std::string& method, int status, double seconds) {
    std::lock_guard lock(mutex_);
    ++requests_[{route, method, status}];
    Histogram& h = latency_[route];
    for (std::size_t i = 0; i < kBuckets.size(); ++i)
        if (seconds <= kBuckets[i]) ++h.counts[i];
    ++h.count;
    h.sum += seconds;
}

void Metrics::observe_stages(const StageTimings& timings) {
    std::lock_guard lock(mutex_);
    for (const auto& [stage, ms] : timings) {
        auto& s = stages_[stage];
        s.first += ms / 1000.0;
        ++s.second;
    }
}

void Metrics::set_queue(int waiting, int busy, int workers) {
    waiting_ = waiting;
    busy_ = busy;
    workers_ = workers;
}

void Metrics::count_sync(std::size_t changes) { sync_changes_ += changes; }

std::string Metrics::render() const {
    std::ostringstream out;
    std::lock_guard lock(mutex_);
    out << "# HELP faceproof_http_requests_total HTTP requests by route pattern, method and status.\n"
           "# TYPE faceproof_http_requests_total counter\n";
    for (const auto& [key, n] : requests_) {
        const auto& [route, method, status] = key;
        out << "faceproof_http_requests_total{route=\"" << label(route) << "\",method=\"" << method
            << "\",status=\"" << status << "\"} " << n << '\n';
    }
    out << "# HELP faceproof_http_request_duration_seconds Time from request parsed to response ready.\n"
           "# TYPE faceproof_http_request_duration_seconds histogram\n";
    for (const auto& [route, h] : latency_) {
        for (std::size_t i = 0; i < kBuckets.size(); ++i)
            out << "faceproof_http_request_duration_seconds_bucket{route=\"" << label(route) << "\",le=\""
                << kBuckets[i] << "\"} " << h.counts[i] << '\n';
        out << "faceproof_http_request_duration_seconds_bucket{route=\"" << label(route) << "\",le=\"+Inf\"} "
            << h.count << '\n'
            << "faceproof_http_request_duration_seconds_sum{route=\"" << label(route) << "\"} " << h.sum << '\n'
            << "faceproof_http_request_duration_seconds_count{route=\"" << label(route) << "\"} " << h.count << '\n';
    }
    out << "# HELP faceproof_pipeline_stage_seconds Time spent in each face pipeline stage.\n"
           "# TYPE faceproof_pipeline_stage_seconds summary\n";
    for (const auto& [stage, s] : stages_)
        out << "faceproof_pipeline_stage_seconds_sum{stage=\"" << label(stage) << "\"} " << s.first << '\n'
            << "faceproof_pipeline_stage_seconds_count{stage=\"" << label(stage) << "\"} " << s.second << '\n';
    out << "# HELP faceproof_queue_depth Requests waiting for a pipeline worker.\n"
           "# TYPE faceproof_queue_depth gauge\nfaceproof_queue_depth "
        << waiting_ << "\n# HELP faceproof_workers_busy Pipeline workers running a request.\n"
           "# TYPE faceproof_workers_busy gauge\nfaceproof_workers_busy "
        << busy_ << "\n# HELP faceproof_workers Pipeline workers.\n# TYPE faceproof_workers gauge\nfaceproof_workers "
        << workers_ << "\n# HELP faceproof_sync_changes_total Subject changes applied from the change feed.\n"
           "# TYPE faceproof_sync_changes_total counter\nfaceproof_sync_changes_total "
        << sync_changes_ << "\n# HELP faceproof_compactions_total Scheduled compactions after API deletions (PostgreSQL).\n"
           "# TYPE faceproof_compactions_total counter\nfaceproof_compactions_total "
        << compactions_ << "\n# HELP faceproof_connections_open Client connections being served.\n"
           "# TYPE faceproof_connections_open gauge\nfaceproof_connections_open "
        << open_connections_ << "\n# HELP faceproof_connections_refused_total Connections answered 503 and closed at once "
           "(too many in all or from one address).\n# TYPE faceproof_connections_refused_total counter\n"
           "faceproof_connections_refused_total "
        << refused_connections_ << "\n# HELP faceproof_connections_timed_out_total Connections closed for missing a read "
           "or write deadline.\n# TYPE faceproof_connections_timed_out_total counter\nfaceproof_connections_timed_out_total "
        << timed_out_connections_ << '\n';
    return out.str();
}

}  // namespace faceproof::server
