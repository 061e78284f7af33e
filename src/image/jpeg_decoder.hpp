// JPEG decoding straight to BGR with libjpeg-turbo, with a bound on the work a file can ask for.
//
// Why not OpenCV's imdecode: OpenCV 4.6 asks libjpeg for RGB and swaps every pixel to BGR in a
// scalar loop of its own (about a third of a 640x480 JPEG's decode time), and it has no way to
// bound a progressive file's work. Same decoder settings as OpenCV (the library defaults: accurate
// integer IDCT, smooth chroma upsampling), so the pixels are identical; CMYK and YCCK files are
// converted to BGR with OpenCV's own formula (Adobe-style inverted CMYK), also bit for bit.
//
// Work bound: a progressive JPEG may hold any number of scans, each a pass over the whole image's
// coefficients; 2,000 empty scans in 20 KB cost ~10 s of CPU. Real encoders write at most a few
// dozen (libjpeg's progressive script: 10; mozjpeg's optimised ones: under 20), so more than
// kMaxJpegScans is refused before the work is done. libjpeg's memory is capped too (the
// coefficient buffer of a progressive file is allocated for the declared size).
//
// decode_jpeg_bgr
//   requires: bytes hold a whole JPEG file whose declared size the caller has checked against its
//             limits; max_pixels is that limit (it sizes libjpeg's memory cap).
//   ensures:  an 8-bit BGR image of the declared size. Corrupt data is Error{image_unreadable};
//             more than kMaxJpegScans scans, or more memory than the cap, is Error{image_too_large};
//             libjpeg's warnings (recoverable damage) are not printed and do not stop decoding, as
//             with OpenCV.
// Thread safety: reentrant.
#pragma once

#include <cstdint>
#include <span>

#include <opencv2/core.hpp>

namespace faceproof {

inline constexpr int kMaxJpegScans = 100;

cv::Mat decode_jpeg_bgr(std::span<const std::uint8_t> bytes, std::int64_t max_pixels);

}  // namespace faceproof
