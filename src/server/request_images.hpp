// The images of one API request, taken in the service's order: counted (400 at once for a wrong
// count, before even base64 is decoded), their headers checked against the per-image limits and
// the request's decoding budget (413 at once), and decoded only inside a worker's slot — errors
// naming the image ("probe 3: ...") so the user knows which photo to retake.
// Thread safety: free functions, reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "faceproof/error.hpp"
#include "faceproof/image.hpp"
#include "server/request_body.hpp"
#include "util/naming.hpp"  // naming(label, f): errors name the image ("probe 3: ...")

namespace faceproof::server {

// One image of a request, counted and checked but not decoded yet; bytes point into the body.
struct PendingImage {
    std::string label;  // "reference", "probe 2", "image 1"
    std::span<const std::uint8_t> bytes;
};

// The images under field: Error{invalid_argument} unless there are min to max of them.
std::vector<PendingImage> field_images(const RequestBody& body, const std::string& field, std::size_t min,
                                       std::size_t max);

// Error{image_too_large} (naming the image) when one is over the per-image limits, or when together
// they decode to more than budget bytes of 8-bit BGR — from their headers, before any decoding.
void check_decoding_budget(const std::vector<PendingImage>& images, const ImageLimits& limits, std::size_t budget);

// decode_image, naming the image in errors.
cv::Mat decode(const PendingImage& image, const ImageLimits& limits);

}  // namespace faceproof::server
