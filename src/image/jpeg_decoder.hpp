// JPEG decoding straight to BGR with libjpeg-turbo. OpenCV 4.6's imdecode asks libjpeg for RGB and
// swaps every pixel to BGR in a scalar loop of its own, which took about a third of a 640x480
// JPEG's decode time; libjpeg-turbo writes BGR itself. Same decoder settings as OpenCV (the
// library defaults: accurate integer IDCT, smooth chroma upsampling), so the pixels are identical.
//
// decode_jpeg_bgr
//   requires: bytes hold a whole JPEG file whose declared size the caller has checked against its
//             limits (libjpeg allocates for the declared size).
//   ensures:  an 8-bit BGR image, or an empty Mat when the colour space is one libjpeg-turbo does
//             not convert to BGR itself (CMYK, YCCK): the caller then decodes another way.
//             Corrupt data is Error{image_unreadable}; libjpeg's warnings (recoverable damage) are
//             not printed and do not stop the decoding, as with OpenCV.
// Thread safety: reentrant.
#pragma once

#include <cstdint>
#include <span>

#include <opencv2/core.hpp>

namespace faceproof {

cv::Mat decode_jpeg_bgr(std::span<const std::uint8_t> bytes);

}  // namespace faceproof
