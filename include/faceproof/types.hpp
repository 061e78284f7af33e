// faceproof — plain value types shared by the pipeline stages.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace faceproof {

// The five points of the ArcFace convention, in image order: left eye, right eye (as seen in the
// image), nose tip, left and right mouth corners.
using Points5 = std::array<cv::Point2f, 5>;
using Points68 = std::array<cv::Point2f, 68>;

struct Face {
    cv::Rect2f box;            // in the coordinates of the image as given (after EXIF orientation)
    float detection_score = 0;
    int rotation = 0;          // 0, 90, 180 or 270: clockwise rotation applied to find the face
    Points68 landmarks68{};    // filled by the landmarker, in image coordinates
    Points5 landmarks5{};
    bool has_landmarks = false;
};

// Stage name -> milliseconds, for the `timing_ms` object of results.
using StageTimings = std::map<std::string, double>;

}  // namespace faceproof
