// libFuzzer target: one raw HTTP request, through cpp-httplib's request line, header, body and
// multipart parsing (Server::process_request, as the service's sockets feed it) into our body
// reader (src/server/request_body.hpp), its accessors and the request-image count and header checks
// (src/server/request_images.hpp). The response is discarded.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string_view>

#include <httplib.h>

#include "faceproof/error.hpp"
#include "server/request_body.hpp"
#include "server/request_images.hpp"

namespace {

// The fuzz input as the bytes a client sent on one connection.
class InputStream final : public httplib::Stream {
public:
    explicit InputStream(std::string_view input) : input_(input) {}
    bool is_readable() const override { return position_ < input_.size(); }
    bool is_writable() const override { return true; }
    ssize_t read(char* out, std::size_t size) override {
        const std::size_t n = std::min(size, input_.size() - position_);
        std::memcpy(out, input_.data() + position_, n);
        position_ += n;
        return static_cast<ssize_t>(n);
    }
    ssize_t write(const char*, std::size_t size) override { return static_cast<ssize_t>(size); }
    void get_remote_ip_and_port(std::string& ip, int& port) const override {
        ip = "127.0.0.1";
        port = 40000;
    }
    void get_local_ip_and_port(std::string& ip, int& port) const override {
        ip = "127.0.0.1";
        port = 8080;
    }
    // No socket: process_request only compares it with FD_SETSIZE.
    socket_t socket() const override { return INVALID_SOCKET; }

private:
    std::string_view input_;
    std::size_t position_ = 0;
};

// Each accessor may refuse the body with Error; the next one still runs.
template <class F>
void expect_only_errors(F&& f) {
    try {
        f();
    } catch (const faceproof::Error&) {
    }
}

class FuzzServer final : public httplib::Server {
public:
    FuzzServer() {
        // The service's body limit is 40 MiB; the fuzzer's inputs are far smaller.
        set_payload_max_length(1u << 20);
        Post("/v1/fuzz", [](const httplib::Request& request, httplib::Response& response) {
            try {
                const auto body = faceproof::server::RequestBody::parse(request);
                for (const char* name : {"image", "reference", "probe"})
                    expect_only_errors([&] { (void)body.images(name); });
                for (const char* name : {"image", "probe"})
                    expect_only_errors([&] {
                        // As the service takes them: counted, then checked from their headers.
                        const auto pending = faceproof::server::field_images(body, name, 1, 8);
                        faceproof::server::check_decoding_budget(pending, faceproof::ImageLimits{},
                                                                 std::size_t{64} << 20);
                    });
                for (const char* name : {"subject", "profile", "consent"})
                    expect_only_errors([&] { (void)body.text(name); });
                expect_only_errors([&] { (void)body.required_text("subject"); });
                for (const char* name : {"fmr", "top"}) expect_only_errors([&] { (void)body.number(name); });
                for (const char* name : {"require_liveness", "allow_duplicate"})
                    expect_only_errors([&] { (void)body.flag(name); });
                expect_only_errors([&] { (void)body.json("consent"); });
                response.status = 200;
            } catch (const faceproof::Error&) {
                response.status = 400;
            } catch (const std::exception& e) {
                // httplib would turn this into a 500 and hide it.
                std::fprintf(stderr, "fuzz_request_body: unexpected exception: %s\n", e.what());
                std::abort();
            }
        });
    }
    void feed(std::string_view input) {
        InputStream stream(input);
        bool connection_closed = false;
        (void)process_request(stream, /*close_connection=*/true, connection_closed, nullptr);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static FuzzServer server;
    server.feed(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
