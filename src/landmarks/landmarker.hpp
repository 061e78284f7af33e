// 68-point facial landmarks (fr_landmark) and the 5 ArcFace points derived from them.
//
// Landmarker::locate
//   requires: upright is 8-bit BGR; box lies (at least partly) inside it, in its coordinates.
//   ensures:  68 points in upright's coordinates (iBUG 300-W order).
// Thread safety: one instance per thread.
#pragma once

#include <memory>

#include "faceproof/models.hpp"
#include "faceproof/types.hpp"

namespace faceproof {

class Landmarker {
public:
    virtual ~Landmarker() = default;
    virtual Points68 locate(const cv::Mat& upright, const cv::Rect2f& box) = 0;
    static std::unique_ptr<Landmarker> create(const ModelSet& models);
};

// Eye centres (mean of the four eyelid points), nose tip, mouth corners (mean of outer and inner
// lip corner) — the convention of the model package.
Points5 five_points_from_68(const Points68& points);

}  // namespace faceproof
