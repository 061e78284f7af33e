#include "server/connection_guard.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

namespace faceproof::server {
namespace {

using Clock = std::chrono::steady_clock;

// Threads beyond max_connections, so that refusing an over-limit connection never waits for one.
constexpr int kRefusalThreads = 8;

Clock::duration seconds(double s) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); }

// Waits until fd is ready for events or the deadline passes (false then, or on an error).
bool wait_until(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, events, 0};
        const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
        if (r > 0) return (p.revents & (events | POLLHUP | POLLERR)) != 0;
        if (r < 0 && errno != EINTR) return false;
    }
}

std::string address_of(const sockaddr_storage& a, int* port) {
    char text[INET6_ADDRSTRLEN] = {};
    if (a.ss_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&a);
        ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
        if (port) *port = ntohs(in->sin_port);
    } else if (a.ss_family == AF_INET6) {
        const auto* in = reinterpret_cast<const sockaddr_in6*>(&a);
        ::inet_ntop(AF_INET6, &in->sin6_addr, text, sizeof text);
        if (port) *port = ntohs(in->sin6_port);
    }
    return text;
}

std::string peer_address(int fd, int* port = nullptr) {
    sockaddr_storage a{};
    socklen_t length = sizeof a;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &length) != 0) return {};
    return address_of(a, port);
}

std::size_t declared_body_bytes(const httplib::Request& req, std::size_t chunked_assumption) {
    if (req.get_header_value("Transfer-Encoding").find("chunked") != std::string::npos) return chunked_assumption;
    const std::string length = req.get_header_value("Content-Length");
    if (length.empty()) return 0;
    std::size_t value = 0;
    for (const char c : length) {
        if (c < '0' || c > '9' || value > (std::size_t{1} << 50)) return chunked_assumption;  // httplib refuses it
        value = value * 10 + static_cast<std::size_t>(c - '0');
    }
    return value;
}

}  // namespace

// One accepted connection: an httplib::Stream whose reads and writes keep to the deadlines of the
// request being served.
class GuardedHttpServer::Connection final : public httplib::Stream {
public:
    Connection(int fd, const ConnectionLimits& limits) : fd_(fd), limits_(limits) {}

    // Until the next request's first byte, at most keep_alive_s; then its headers are due.
    bool wait_for_request() {
        if (buffered() == 0 && !wait_until(fd_, POLLIN, Clock::now() + seconds(limits_.keep_alive_s))) return false;
        in_headers_ = true;
        header_bytes_ = 0;
        read_deadline_ = Clock::now() + seconds(limits_.header_timeout_s);
        write_deadline_.reset();
        refusal.reset();
        return true;
    }
    // The headers are parsed: the body gets its own deadline, proportional to its declared size.
    void headers_done(std::size_t body_bytes) {
        in_headers_ = false;
        read_deadline_ = Clock::now() + seconds(limits_.header_timeout_s + body_bytes / limits_.body_min_rate_bytes_per_s);
    }
    bool timed_out() const { return timed_out_; }

    bool is_readable() const override { return buffered() > 0 || wait(POLLIN, read_deadline_); }
    bool is_writable() const override { return wait(POLLOUT, write_deadline()); }

    ssize_t read(char* ptr, std::size_t size) override {
        if (buffered() > 0) {
            const std::size_t n = std::min(size, buffered());
            std::memcpy(ptr, buffer_.data() + offset_, n);
            offset_ += n;
            return static_cast<ssize_t>(n);
        }
        if (!wait(POLLIN, read_deadline_)) return -1;
        // httplib reads headers a byte at a time: small reads are served from a buffer.
        const bool small = size < buffer_.size();
        ssize_t n;
        do n = ::recv(fd_, small ? buffer_.data() : ptr, small ? buffer_.size() : size, 0);
        while (n < 0 && errno == EINTR);
        if (n <= 0) return n;
        if (in_headers_ && (header_bytes_ += static_cast<std::size_t>(n)) > limits_.max_header_bytes) return -1;
        if (!small) return n;
        offset_ = 0;
        length_ = static_cast<std::size_t>(n);
        const std::size_t copied = std::min(size, length_);
        std::memcpy(ptr, buffer_.data(), copied);
        offset_ = copied;
        return static_cast<ssize_t>(copied);
    }

    ssize_t write(const char* ptr, std::size_t size) override {
        if (!wait(POLLOUT, write_deadline())) return -1;
        ssize_t n;
        do n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        return n;
    }

    void get_remote_ip_and_port(std::string& ip, int& port) const override { ip = peer_address(fd_, &port); }
    void get_local_ip_and_port(std::string& ip, int& port) const override {
        sockaddr_storage a{};
        socklen_t length = sizeof a;
        if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &length) == 0) ip = address_of(a, &port);
    }
    socket_t socket() const override { return fd_; }

    std::size_t reserved = 0;        // in-flight body bytes held for the current request
    std::optional<Error> refusal;    // answer this instead of reading the body
    bool close_after = false;

private:
    std::size_t buffered() const { return length_ - offset_; }
    Clock::time_point write_deadline() const {
        if (!write_deadline_) write_deadline_ = Clock::now() + seconds(limits_.write_timeout_s);
        return *write_deadline_;
    }
    bool wait(short events, Clock::time_point deadline) const {
        if (wait_until(fd_, events, deadline)) return true;
        if (Clock::now() >= deadline) timed_out_ = true;
        return false;
    }

    const int fd_;
    const ConnectionLimits& limits_;
    std::array<char, 4096> buffer_{};
    std::size_t offset_ = 0, length_ = 0;
    bool in_headers_ = true;
    std::size_t header_bytes_ = 0;
    Clock::time_point read_deadline_{};
    mutable std::optional<Clock::time_point> write_deadline_;
    mutable bool timed_out_ = false;
};

thread_local GuardedHttpServer::Connection* GuardedHttpServer::current_ = nullptr;

GuardedHttpServer::GuardedHttpServer(const ConnectionLimits& limits, std::function<std::string(const Error&)> refusal)
    : limits_(limits), refusal_(std::move(refusal)) {
    const std::size_t threads = static_cast<std::size_t>(std::max(1, limits_.max_connections) + kRefusalThreads);
    new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
}

std::optional<Error> GuardedHttpServer::refusal_for_current_request() const {
    return current_ ? current_->refusal : std::nullopt;
}

ConnectionStats GuardedHttpServer::stats() const {
    std::lock_guard lock(mutex_);
    return {open_, refused_, timed_out_, inflight_body_bytes_};
}

bool GuardedHttpServer::reserve_body(std::size_t bytes) {
    std::lock_guard lock(mutex_);
    if (bytes > limits_.max_inflight_body_bytes - std::min(inflight_body_bytes_, limits_.max_inflight_body_bytes))
        return false;
    inflight_body_bytes_ += bytes;
    return true;
}

void GuardedHttpServer::release_body(std::size_t bytes) {
    std::lock_guard lock(mutex_);
    inflight_body_bytes_ -= std::min(bytes, inflight_body_bytes_);
}

bool GuardedHttpServer::process_and_close_socket(socket_t sock) {
    const std::string address = peer_address(sock);
    bool admitted = false;
    {
        std::lock_guard lock(mutex_);
        int& from_address = per_address_[address];
        admitted = open_ < limits_.max_connections && from_address < limits_.max_connections_per_address;
        if (admitted) {
            ++open_;
            ++from_address;
        } else if (from_address == 0) {
            per_address_.erase(address);
        }
    }
    if (!admitted) {
        ++refused_;
        const std::string response = refusal_(Error(ErrorCode::overloaded, "too many connections; try again shortly"));
        const auto deadline = Clock::now() + std::chrono::seconds(1);
        for (std::size_t sent = 0; sent < response.size() && wait_until(sock, POLLOUT, deadline);) {
            const ssize_t n = ::send(sock, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) break;
            sent += static_cast<std::size_t>(n);
        }
        ::shutdown(sock, SHUT_RDWR);
        ::close(sock);
        return false;
    }

    Connection connection(sock, limits_);
    current_ = &connection;
    bool ok = false;
    const std::size_t chunked_assumption = payload_max_length_;
    for (std::size_t count = keep_alive_max_count_; count > 0 && svr_sock_ != INVALID_SOCKET; --count) {
        if (!connection.wait_for_request()) break;
        bool connection_closed = false;
        ok = process_request(connection, count == 1, connection_closed, [&](httplib::Request& req) {
            const std::size_t body = declared_body_bytes(req, chunked_assumption);
            connection.headers_done(body);
            // Bodies over the server's limit are refused by httplib unread; nothing to reserve.
            if (body > 0 && body <= payload_max_length_) {
                if (reserve_body(body)) {
                    connection.reserved = body;
                } else {
                    connection.refusal = Error(ErrorCode::overloaded, "the server is receiving too much data; try again shortly");
                    connection.close_after = true;  // the unread body must not be taken for a request
                }
            }
        });
        release_body(std::exchange(connection.reserved, 0));
        // After a missed deadline the stream is mid-request: nothing more can be read from it.
        if (!ok || connection_closed || connection.close_after || connection.timed_out()) break;
    }
    current_ = nullptr;
    if (connection.timed_out()) ++timed_out_;
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    {
        std::lock_guard lock(mutex_);
        --open_;
        if (--per_address_[address] <= 0) per_address_.erase(address);
    }
    return ok;
}

}  // namespace faceproof::server
