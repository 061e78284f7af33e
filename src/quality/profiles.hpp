// The thresholds of each quality profile — one table, in profiles.cpp, with the data behind it.
#pragma once

#include <string>
#include <vector>

#include "faceproof/quality.hpp"

namespace faceproof {

struct Thresholds {
    // single_face: faces whose box area is at least this share of the primary face's count.
    double significant_face_area = 0.25;
    int max_significant_faces = 1;
    double min_inter_eye_px = 0;         // inter_eye_distance
    double min_crop_margin = 0;          // crop_margins: free space around the box / box size
    double max_abs_yaw_deg = 90;         // head_pose_yaw
    double max_abs_pitch_deg = 90;       // head_pose_pitch
    double max_abs_roll_deg = 90;        // head_pose_roll
    double min_eye_open = 0;             // eyes_open: probability of the more open eye
    double min_sharpness = 0;            // sharpness (see photometric_measures.cpp)
    double min_highlight_level = 0;      // under_exposure: 90th percentile of face luminance
    double max_bright_share = 1;         // over_exposure: share of face pixels above kBrightLevel
    double min_dynamic_range = 0;        // dynamic_range: 5-95 percentile spread, grey levels
    double min_illumination_ratio = 0;   // illumination_uniformity: darker half / brighter half
};

struct MeasureUse {
    std::string measure;
    // A required measure that cannot be assessed fails the report; an optional one does not.
    bool required = true;
};

struct ProfileSpec {
    QualityProfile profile;
    Thresholds thresholds;
    std::vector<MeasureUse> measures;  // which measures the profile runs
};

const ProfileSpec& profile_spec(QualityProfile profile);

}  // namespace faceproof
