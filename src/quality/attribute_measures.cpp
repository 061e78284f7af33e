// Measures read from the attribute networks: head pose angles and eye state.
#include <algorithm>
#include <cmath>

#include "quality/measures.hpp"
#include "quality/scoring.hpp"

namespace faceproof {
namespace {

const char* axis_name(HeadPoseAngle::Axis axis) {
    switch (axis) {
        case HeadPoseAngle::Axis::yaw: return "head_pose_yaw";
        case HeadPoseAngle::Axis::pitch: return "head_pose_pitch";
        default: return "head_pose_roll";
    }
}

}  // namespace

HeadPoseAngle::HeadPoseAngle(Axis axis) : Measure(axis_name(axis)), axis_(axis) {}

MeasureResult HeadPoseAngle::assess(const QualitySession& context, const Thresholds& t) const {
    const Attribute<HeadPose>& pose = context.head_pose();
    if (!pose.value) return failed_to_assess(pose.failure);
    double angle = 0, limit = 0;
    switch (axis_) {
        case Axis::yaw: angle = pose.value->yaw_deg, limit = t.max_abs_yaw_deg; break;
        case Axis::pitch: angle = pose.value->pitch_deg, limit = t.max_abs_pitch_deg; break;
        case Axis::roll: angle = pose.value->roll_deg, limit = t.max_abs_roll_deg; break;
    }
    return judged(angle, "deg", scoring::angle(angle), std::abs(angle) <= limit, "LOOK_STRAIGHT");
}

MeasureResult EyesOpen::assess(const QualitySession& context, const Thresholds& t) const {
    const Attribute<EyeState>& eyes = context.eye_state();
    if (!eyes.value) return failed_to_assess(eyes.failure);
    const double open = std::max(eyes.value->left_open, eyes.value->right_open);
    return judged(open, "probability", 100.0 * open, open >= t.min_eye_open, "EYES_CLOSED");
}

}  // namespace faceproof
