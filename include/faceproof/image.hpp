// faceproof — decoding untrusted image bytes.
//
// Contract (dlib style):
//   probe_image(bytes)
//     ensures: returns format, width, height and EXIF orientation read from the header alone,
//              without decoding pixels; throws Error{image_unreadable} for empty, unknown or
//              malformed headers.
//   decode_image(bytes, limits)
//     requires: nothing (bytes may be hostile).
//     ensures:  returns an 8-bit, 3-channel BGR cv::Mat with EXIF orientation applied, or throws:
//               image_too_large if bytes.size() > limits.max_bytes or the header's width*height >
//               limits.max_pixels or a side > limits.max_side (checked before any decoding, so a
//               60000x60000 PNG costs no memory); image_unreadable for empty, garbage, truncated or
//               unsupported input; image_too_large also for a JPEG asking for too much decoding work
//               (more than kMaxJpegScans progressive scans, src/image/jpeg_decoder.hpp). Never
//               returns a partially decoded image.
//   load_image(path, limits): the same for a file; reads at most limits.max_bytes + 1 bytes;
//               io_error if the file cannot be opened or is not a regular file (a FIFO, device or
//               directory is refused without blocking or reading; src/util/input_file.hpp).
// Thread safety: all functions are reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

namespace faceproof {

// Sized for what identity proofing is sent: a phone selfie (12 Mpx), a webcam frame, an ID card or
// passport page scanned at 600 dpi (3-6 Mpx). Decoding and the face pipeline cost grows with the
// pixel count (a blank 24 Mpx image costs about a second of detection on one core), so the limit
// is a work limit too.
struct ImageLimits {
    std::size_t max_bytes = 32u * 1024u * 1024u;  // 32 MiB of encoded data
    std::int64_t max_pixels = 24'000'000;         // 24 Mpx decoded (6000 x 4000)
    int max_side = 12'000;
};

enum class ImageFormat { jpeg, png, webp, bmp };
std::string_view to_string(ImageFormat format) noexcept;

struct ImageInfo {
    ImageFormat format;
    int width = 0;             // as stored, before EXIF orientation
    int height = 0;
    int exif_orientation = 1;  // 1..8 (TIFF orientation tag); 1 when absent
};

ImageInfo probe_image(std::span<const std::uint8_t> bytes);
// probe_image, then every limit decode_image checks before decoding (bytes, pixels, side:
// Error{image_too_large}): what a caller needs to budget decoding work before doing any.
ImageInfo probe_image_within(std::span<const std::uint8_t> bytes, const ImageLimits& limits);
cv::Mat decode_image(std::span<const std::uint8_t> bytes, const ImageLimits& limits = {});
cv::Mat load_image(const std::filesystem::path& path, const ImageLimits& limits = {});

// Reads a whole regular file, refusing (image_too_large) one larger than max_bytes before reading
// it; io_error if it is missing, unreadable or not a regular file (FIFOs and devices never block).
std::vector<std::uint8_t> read_file_limited(const std::filesystem::path& path, std::size_t max_bytes);

}  // namespace faceproof
