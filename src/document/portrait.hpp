// The chip portrait (DG2) as pixels: the reference image of a verification against a document.
// JPEG goes through the project's image decoder; JPEG 2000 through OpenCV's (OpenJPEG) after its
// size is read from the JP2 'ihdr' box or the codestream's SIZ marker and checked against the limits,
// so a portrait that claims a huge size is refused before any decoding.
// Thread safety: reentrant.
#pragma once

#include <opencv2/core.hpp>

#include "faceproof/document.hpp"
#include "faceproof/image.hpp"

namespace faceproof {

// requires: portrait came from check_document (format "jpeg" or "jp2").
// ensures:  an 8-bit BGR image.
// throws:   image_too_large (over limits, from the header), image_unreadable (not decodable, a
//           size that is not stated, a format other than jpeg/jp2), each naming "chip portrait".
cv::Mat decode_portrait(const DocumentPortrait& portrait, const ImageLimits& limits = {});

}  // namespace faceproof
