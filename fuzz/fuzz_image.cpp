// libFuzzer target: untrusted image bytes through the header probe and the decoder
// (include/faceproof/image.hpp). Error{...} is the contract for bad input; anything else is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include <opencv2/core.hpp>

#include "faceproof/error.hpp"
#include "faceproof/image.hpp"

namespace {

[[noreturn]] void finding(const char* what) {
    std::fprintf(stderr, "fuzz_image: %s\n", what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> bytes(data, size);
    bool probed = false;
    faceproof::ImageInfo info{};
    try {
        info = faceproof::probe_image(bytes);
        probed = true;
    } catch (const faceproof::Error&) {
    }
    // Small limits: a legitimately big image would only cost the fuzzer memory and time, and the
    // refusal from the header is part of what is fuzzed.
    faceproof::ImageLimits limits;
    limits.max_bytes = 1u << 20;
    limits.max_pixels = 4'000'000;
    limits.max_side = 4096;
    try {
        const cv::Mat image = faceproof::decode_image(bytes, limits);
        // The contract: a decoded image is 8-bit BGR of exactly the size its header declared,
        // turned by the EXIF orientation it declared.
        if (!probed) finding("decode_image succeeded on bytes probe_image refused");
        if (image.type() != CV_8UC3) finding("decoded image is not 8-bit BGR");
        const bool turned = info.exif_orientation >= 5;
        const int width = turned ? info.height : info.width;
        const int height = turned ? info.width : info.height;
        if (image.cols != width || image.rows != height) finding("decoded size differs from the probed header");
        if (std::int64_t{image.cols} * image.rows > limits.max_pixels) finding("decoded image exceeds max_pixels");
    } catch (const faceproof::Error&) {
    }
    return 0;
}
