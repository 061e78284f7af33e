// libFuzzer target: the chip portrait decoder (src/document/portrait.hpp) — JPEG through the
// project's decoder, JPEG 2000 through the header size check and OpenCV's OpenJPEG decoder. The
// first byte chooses the declared format; small limits keep each run short.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "document/portrait.hpp"
#include "faceproof/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    faceproof::DocumentPortrait portrait;
    portrait.format = data[0] % 2 ? "jp2" : "jpeg";
    portrait.image.assign(data + 1, data + size);
    faceproof::ImageLimits limits;
    limits.max_pixels = 1'000'000;
    limits.max_side = 2000;
    try {
        const cv::Mat image = faceproof::decode_portrait(portrait, limits);
        if (image.empty() || image.cols > limits.max_side || image.rows > limits.max_side) {
            std::fprintf(stderr, "fuzz_portrait: decoded an image outside the limits\n");
            std::abort();
        }
    } catch (const faceproof::Error&) {
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fuzz_portrait: unexpected exception: %s\n", e.what());
        std::abort();
    }
    return 0;
}
