// Face detection behind one small interface (OpenCV objdetect/face.hpp style).
//
// FaceDetector::detect(image, rotation)
//   requires: image is 8-bit BGR, non-empty; rotation is 0, 90, 180 or 270.
//   ensures:  every face found, with score >= threshold, in the image turned clockwise by rotation;
//             NMS applied, boxes clipped and mapped back to image's own coordinates, face.rotation
//             = rotation, sorted by decreasing score; empty when there is none; landmarks not filled.
//             The detector also fires on sideways faces, so choosing the rotation is the caller's job.
// Thread safety: one instance per thread (its network is not reentrant).
#pragma once

#include <memory>
#include <vector>

#include "faceproof/models.hpp"
#include "faceproof/types.hpp"

namespace faceproof {

struct DetectorOptions {
    float score_threshold = 0.7f;
    float nms_iou = 0.4f;
    // Fallbacks for ID images, tried in this order only while nothing is found:
    bool pad_tight_crops = true;  // a portrait filling the frame
    bool tile_large_images = true;  // a small face on a photographed card
};

class FaceDetector {
public:
    virtual ~FaceDetector() = default;
    virtual std::vector<Face> detect(const cv::Mat& bgr, int rotation = 0) = 0;
    static std::unique_ptr<FaceDetector> create(const ModelSet& models, const DetectorOptions& options = {});
};

// Greedy NMS over boxes sorted by decreasing score; returns the indices kept.
std::vector<int> non_max_suppression(const std::vector<cv::Rect2f>& boxes, const std::vector<float>& scores,
                                     float iou_threshold);
float intersection_over_union(const cv::Rect2f& a, const cv::Rect2f& b);
cv::Rect2f clip_box(const cv::Rect2f& box, const cv::Size& image_size);

}  // namespace faceproof
