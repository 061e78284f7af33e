// The connection layer of `faceproof serve`: cpp-httplib's request parsing, on connections that a
// stranger cannot hold or flood.
//
// cpp-httplib (Debian 0.11.4) gives each connection a thread and only a per-recv() timeout: six
// sockets sending one header byte a second held a 5-thread server for as long as they liked, and
// a Content-Length never sent held a thread for the whole read timeout. GuardedHttpServer keeps
// httplib's parser and routing but reads and writes through a stream of its own with deadlines:
//   - a request's line and headers must arrive within header_timeout_s of its first byte, and be
//     at most max_header_bytes;
//   - its body within header_timeout_s + Content-Length / body_min_rate;
//   - an idle keep-alive connection is closed after keep_alive_s; a response must be written
//     within write_timeout_s;
//   - at most max_connections connections are open, at most max_connections_per_address from one
//     client address; over that, the connection is answered 503 and closed at once;
//   - request bodies being received count against max_inflight_body_bytes (all connections): a
//     request that would exceed it is answered 503 before its body is read.
// Connection threads are not pipeline workers: the face pipeline runs in the service's own pool
// of workers (admission), so slow or idle clients never take a worker, and /healthz is answered
// while every worker is busy.
//
// Not defended here: HTTP pipelining beyond one request in flight per connection is served in
// order; TLS belongs to a reverse proxy in front; a distributed flood from many addresses is
// bounded by max_connections, not absorbed.
//
// Thread safety: as httplib::Server; stats() may be called from any thread.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "faceproof/error.hpp"

namespace faceproof::server {

struct ConnectionLimits {
    int max_connections = 256;
    int max_connections_per_address = 32;
    double header_timeout_s = 10;
    double body_min_rate_bytes_per_s = 64 * 1024;
    double keep_alive_s = 5;
    double write_timeout_s = 30;
    std::size_t max_header_bytes = 64 * 1024;
    std::size_t max_inflight_body_bytes = std::size_t{512} << 20;
};

struct ConnectionStats {
    int open = 0;                      // connections being served now
    std::uint64_t refused = 0;         // closed at once: too many in all or from one address
    std::uint64_t timed_out = 0;       // closed for missing a read or write deadline
    std::size_t inflight_body_bytes = 0;
};

class GuardedHttpServer : public httplib::Server {
public:
    // refusal turns an Error into the complete HTTP response written to a refused connection (the
    // controller's one mapping of errors to responses).
    GuardedHttpServer(const ConnectionLimits& limits, std::function<std::string(const Error&)> refusal);

    // For the pre-routing handler: the error to answer the current request with instead of
    // reading its body (the in-flight body budget is spent), or nullopt. The connection is closed
    // after that answer.
    std::optional<Error> refusal_for_current_request() const;

    ConnectionStats stats() const;
    const ConnectionLimits& limits() const { return limits_; }

private:
    class Connection;
    bool process_and_close_socket(socket_t sock) override;
    bool reserve_body(std::size_t bytes);
    void release_body(std::size_t bytes);

    static thread_local Connection* current_;  // the connection this thread serves

    const ConnectionLimits limits_;
    const std::function<std::string(const Error&)> refusal_;
    mutable std::mutex mutex_;
    std::map<std::string, int> per_address_;
    int open_ = 0;
    std::size_t inflight_body_bytes_ = 0;
    std::atomic<std::uint64_t> refused_{0}, timed_out_{0};
};

}  // namespace faceproof::server
