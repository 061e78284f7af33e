// Inputs that broke a contract when fed to the fuzz targets (fuzz/): found by the fuzzer, or written
// by hand for the target where the fuzzer had not reached them yet (each test says which).
// (Findings in a parser with a test file of its own are tested there, e.g. test_server_config.cpp.)
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <cstdint>
#include <string>
#include <vector>

#include <httplib.h>

#include "faceproof/error.hpp"
#include "faceproof/image.hpp"
#include "server/request_body.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
using fptest::expect_error_code;

namespace {

std::vector<std::uint8_t> from_hex(const std::string& hex) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

long peak_rss_kib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

}  // namespace

// Found by fuzz_image (out-of-memory after 100,000 executions): "RIFF....WEBPVP8X" with a VP8X chunk libwebp refuses (size 0), and
// "DICM" at offset 128 followed by a DICOM element of type OB with a length of 2.7 GB. Our probe
// took it for a 1x1 WebP; OpenCV's WebP decoder did not claim it, so cv::imdecode gave it to the
// next codec whose signature matched, GDCM's DICOM reader, which wrote it to a temporary file and
// allocated the 2.7 GB. The contract: image_unreadable, at no cost beyond the input's size.
TEST(FuzzFindings, WebpThatLibwebpRefusesReachesNoOtherCodec) {
    const auto input = from_hex(
        "524946460001000057454250565038580000000000000000000000000000000000000000000000000000000078c44515"
        "899dbd5ed4217bdae77c868fbb9446b2d530bf40342a0785fe8ac166d028ca40fde2d8040090064b42182270ba4ee3b8"
        "842102e70268845d3101670610dab900fe0da63f2b39a36940e57c5027380d5c4449434df6df07044f429ba5a0e07caa"
        "c31a62e793dbeff0c640dbf94aa84a1740eb2ef1549338435e7fb474ff4f47434150493a63f582a8617d2512ac17ffff"
        "602000159f40ea78c44515899dbd5ed421402707eaae486826e949b36288212ade79dcba083c1902517ccba197cc1110"
        "ffffffffffffffffffffffffffffffff669777f227320486833a2f2ffffd01");
    ASSERT_EQ(input.size(), 271u);
    // gtest_discover_tests runs each test in a process of its own, so the peak is this test's.
    const long before = peak_rss_kib();
    const std::string message =
        expect_error_code(fp::ErrorCode::image_unreadable, [&] { (void)fp::decode_image(input); });
    EXPECT_NE(message.find("header"), std::string::npos) << message;
    EXPECT_LT(peak_rss_kib() - before, 256 * 1024) << "a 271-byte input raised the peak RSS by "
                                                   << (peak_rss_kib() - before) / 1024 << " MiB";
}

// Written for fuzz_request_body (stack overflow; 200,000 executions had not found it): a JSON body whose "consent" is arrays nested 30,000 deep
// (60 KB). nlohmann parses it iteratively, but RequestBody::json copied the value recursively and
// the service died. A million levels here (2 MB, far under the 40 MiB body limit) overflow any
// thread's stack without the depth limit; with it, the body is refused before anything is copied.
TEST(FuzzFindings, DeeplyNestedJsonBodyIsRefused) {
    constexpr std::size_t depth = 1'000'000;
    const std::string nested = std::string(depth, '[') + std::string(depth, ']');
    httplib::Request request;
    request.set_header("Content-Type", "application/json");
    request.body = R"({"consent": )" + nested + "}";
    expect_error_code(fp::ErrorCode::invalid_argument, [&] {
        const auto body = fp::server::RequestBody::parse(request);
        (void)body.json("consent");
    });
    // The same in a multipart text part, which json() parses on demand.
    httplib::Request multipart;
    multipart.set_header("Content-Type", "multipart/form-data; boundary=XyZ");
    multipart.files.emplace("consent", httplib::MultipartFormData{"consent", nested, "", ""});
    const auto body = fp::server::RequestBody::parse(multipart);
    expect_error_code(fp::ErrorCode::invalid_argument, [&] { (void)body.json("consent"); });
    // Shallow nesting, as real consent records have, still parses.
    multipart.files.find("consent")->second.content = std::string(16, '[') + std::string(16, ']');
    EXPECT_TRUE(fp::server::RequestBody::parse(multipart).json("consent"));
}
