// faceproof — passive liveness (presentation-attack detection) and burst liveness.
//
// Passive: fr_liveness (MiniFASNet-style) on the face box scaled by 2.7 around its centre,
// shifted to stay inside the image, 128x128, BGR 0-255; softmax, class 0 = live.
// Burst: several frames of one capture session (1-2 s of webcam frames): the passive scores are
// fused, and the frames must show a blink (eye state changes) or a head turn (yaw range), and
// the same face throughout (template similarity between frames). A replayed still photo fails the
// challenge even when one frame fools the passive model.
//
// LivenessChecker::passive_score(face)
//   requires: face made by the Engine with a face (has_face()).
//   ensures:  probability-like score in [0, 1] that the face is live, from the face's upright frame.
// LivenessChecker::assess(frames)
//   requires: frames.size() >= 1, each with a face and a template, in capture order.
//   ensures:  a report whose `live` combines the fused passive score (median of the frame scores)
//             with the calibrated threshold and, for two or more frames, the same-face check
//             (similarity of the first frame's template with every other >= kSameFaceMinSimilarity)
//             and the challenge on each frame's eye state and head yaw (FaceContext attributes):
//             blink = a frame with both eyes' open-probability < 0.3 followed later by a frame with
//             both > 0.7 (covers open -> closed -> open); head turn = yaw range >= 15 degrees;
//             neither -> not live with reason NO_CHALLENGE. When some frame's attributes could not
//             be computed, the challenge is not assessed (challenge.assessed == false).
// LivenessChecker::assess(frames, attributes)
//   requires: as above and attributes.size() == frames.size(); eye-open probabilities in [0, 1].
//   ensures:  as above, with the challenge judged on the given attributes instead.
// Thread safety: a checker is NOT reentrant (DNN networks); one per thread. LivenessCalibration is
// immutable.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "faceproof/face_context.hpp"
#include "faceproof/template.hpp"
#include "faceproof/models.hpp"
#include "faceproof/types.hpp"

namespace faceproof {

// Threshold on the passive score, produced by `faceproof eval pad --calibrate-out` from a labelled
// spoof set (split by subject) and shipped as calibration/liveness.json.
struct LivenessCalibration {
    double threshold = 0.5;
    std::string json;  // the whole file, for provenance
    static LivenessCalibration from_json(const std::string& text);  // calibration_invalid if malformed
    // A regular file of at most 1 MiB (input_limit::calibration), else Error{io_error}.
    static LivenessCalibration load(const std::filesystem::path& file);
    static const LivenessCalibration& shipped();  // calibration_invalid when the build has none
};

// Per-frame values from eye-state and head-pose estimators, for the burst challenge.
struct FrameAttributes {
    double left_eye_open = 1;   // probability that the eye is open, [0, 1]
    double right_eye_open = 1;
    double yaw_deg = 0;         // head yaw in degrees (sign convention irrelevant: only the range counts)
};

// Lowest template similarity between the first frame and the others for "same face": above the
// shipped match calibration's threshold at FMR 1e-5 (0.476), so a swapped-in different person passes
// less often than 1 in 10^5 comparisons, while one person's frames score higher (measured: in
// the NUAA webcam sequences of ../shared/data/spoof the lowest similarity of a frame to the first
// of its session is 0.645; the four different women of sample6.jpg reach at most 0.30).
constexpr double kSameFaceMinSimilarity = 0.5;

struct ChallengeResult {
    bool assessed = false;          // the blink / head-turn challenge ran (attributes were supplied)
    bool blink = false;             // eye state changed open -> closed -> open (or closed -> open)
    double yaw_range_deg = 0;       // max - min yaw over the frames
    bool head_turn = false;         // yaw_range_deg >= the required turn
    double min_same_face_similarity = 1;  // lowest template similarity between the first and other frames
    bool same_face = true;
};

struct LivenessReport {
    double score = 0;                // fused passive score (median of frames)
    double threshold = 0;
    bool passive_live = false;       // score >= threshold
    std::vector<double> frame_scores;
    bool burst = false;              // more than one frame
    ChallengeResult challenge;       // meaningful when burst
    bool live = false;               // the decision
    std::vector<std::string> reasons;  // stable codes when not live: "SPOOF_SUSPECTED", "NO_CHALLENGE", "FACE_CHANGED"
    // Set when a challenge session decided (liveness_session.hpp): its id and "live" | "not_live" | "retry".
    std::string session_id, session_decision;
};

class LivenessChecker {
public:
    virtual ~LivenessChecker() = default;
    virtual double passive_score(const FaceContext& face) = 0;
    virtual LivenessReport assess(const std::vector<FaceContext>& frames) = 0;
    virtual LivenessReport assess(const std::vector<FaceContext>& frames,
                                  const std::vector<FrameAttributes>& attributes) = 0;
    static std::unique_ptr<LivenessChecker> create(const ModelSet& models, const LivenessCalibration& calibration);
};

}  // namespace faceproof
