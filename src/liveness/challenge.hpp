// The burst challenge and the same-face check, as small pure functions over per-frame values, so
// eye-state and head-pose estimators can be plugged in without touching the decision logic.
//
// evaluate_challenge(left_eye_open, right_eye_open, yaw_deg)
//   requires: three vectors of the same length (one value per frame, in capture order); eye-open
//             probabilities in [0, 1]; yaw finite (degrees).
//   ensures:  assessed = true; blink = some frame with both eyes' open-probability < kEyeClosedBelow
//             is followed (not necessarily immediately) by a frame with both > kEyeOpenAbove — this
//             covers open -> closed -> open and a burst that starts mid-blink (closed -> open);
//             yaw_range_deg = max - min yaw; head_turn = yaw_range_deg >= kHeadTurnMinDeg.
//             The same-face fields are left at their defaults.
// same_face_check(templates)
//   requires: templates.size() >= 1, all from one template model (else template_mismatch).
//   ensures:  the lowest similarity of templates[0] with each other template (1 for one template)
//             and whether it is >= kSameFaceMinSimilarity.
// Thread safety: pure and reentrant.
#pragma once

#include <utility>
#include <vector>

#include "faceproof/liveness.hpp"

namespace faceproof {

constexpr double kEyeClosedBelow = 0.3;
constexpr double kEyeOpenAbove = 0.7;
constexpr double kHeadTurnMinDeg = 15.0;

ChallengeResult evaluate_challenge(const std::vector<double>& left_eye_open, const std::vector<double>& right_eye_open,
                                   const std::vector<double>& yaw_deg);

// {min similarity, same face}
std::pair<double, bool> same_face_check(const std::vector<Template>& templates);

// Median (mean of the two middle values for an even count); invalid_argument when empty.
double median_of(std::vector<double> values);

}  // namespace faceproof
