// Alignment: the least-squares similarity transform (rotation, uniform scale, translation) that
// maps the five detected points onto the ArcFace 112x112 template, and the warped crop.
// Thread safety: pure functions, reentrant.
#pragma once

#include <cstdint>

#include "faceproof/types.hpp"

namespace faceproof {

// The standard ArcFace 112x112 five-point template.
const Points5& arcface_template_112();

// Least-squares similarity (Umeyama without reflection) from src onto dst; 2x3 matrix.
// Throws invalid_argument when the source points are degenerate (all equal).
cv::Matx23d similarity_transform(const cv::Point2f* src, const cv::Point2f* dst, int count);

// Warps the face into a side x side crop whose template is the ArcFace one scaled by side / 112.
cv::Mat align_face(const cv::Mat& bgr, const Points5& points, int side = 112);

// Crops align_face has made in this process: a test checks that one verification aligns each
// face once (the Engine's crop serves the template and the quality measures).
std::uint64_t align_face_count();

}  // namespace faceproof
