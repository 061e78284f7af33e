// Face detection behind one small interface (OpenCV objdetect/face.hpp style).
//
// FaceDetector::detect
//   requires: image is 8-bit BGR, non-empty.
//   ensures:  every face found with score >= threshold, NMS applied, boxes clipped to the image,
//             sorted by decreasing score; empty when there is none. landmarks are not filled.
// Thread safety: one instance per thread (cv::dnn::Net is not reentrant).
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
    bool try_rotations = true;      // a card photographed sideways
};

class FaceDetector {
public:
    virtual ~FaceDetector() = default;
    virtual std::vector<Face> detect(const cv::Mat& bgr) = 0;
    static std::unique_ptr<FaceDetector> create(const ModelSet& models, const DetectorOptions& options = {});
};

// Greedy NMS over boxes sorted by decreasing score; returns the indices kept.
std::vector<int> non_max_suppression(const std::vector<cv::Rect2f>& boxes, const std::vector<float>& scores,
                                     float iou_threshold);
float intersection_over_union(const cv::Rect2f& a, const cv::Rect2f& b);
cv::Rect2f clip_box(const cv::Rect2f& box, const cv::Size& image_size);

}  // namespace faceproof
