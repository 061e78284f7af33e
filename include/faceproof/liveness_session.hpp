// faceproof — challenge liveness: a random, single-use challenge (head movements, optionally a
// sequence of screen colours) and the rules that decide whether a recorded capture followed it.
//
// A capture made for one challenge passes another only by chance: 3 steps drawn from 6 actions, no
// action twice in a row, give 6 * 5 * 5 = 150 sequences (1 in 150), before timing and light.
//
// Data flow: frames (bytes) -> FaceContext per frame (Engine) -> SessionFrame (measure_session_frame:
// pose, eyes, box, landmarks, template, passive score, face and background colour, exposure)
// -> decide_session(challenge, frames) -> SessionDecision. decide_session is pure, so the rules are
// tested on measured values as well as on images.
//
// Conventions (defined once, here):
//   - Frames are unmirrored camera images (what the camera sees, not the mirrored preview).
//   - turn_left / turn_right are the subject's own left / right. The subject's left is the image's
//     right, and HeadPose::yaw_deg > 0 means turned towards the image's left edge, so turn_left
//     needs yaw to fall by kTurnMinYawDeg from the frontal baseline, turn_right to rise by it. In a
//     mirrored preview the head then moves towards the side the prompt names.
//   - look_up: pitch rises by kLookMinPitchDeg from the baseline (chin raised); look_down: falls.
//   - blink: both eyes' open-probability < kEyeClosedBelow for 1-4 consecutive frames, open before
//     and after. A spontaneous blink outside a blink step is not a movement and is allowed.
//   - move_closer: inter-eye distance >= kCloserMinScale x the baseline's.
// Thread safety: everything here is pure and reentrant except measure_session_frame, which uses
// the caller's (non-reentrant) LivenessChecker.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "faceproof/face_context.hpp"
#include "faceproof/liveness.hpp"
#include "faceproof/template.hpp"

namespace faceproof {

enum class ChallengeMode { motion, motion_light };
enum class ChallengeAction { turn_left, turn_right, look_up, look_down, blink, move_closer };

std::string to_string(ChallengeMode mode);      // "motion", "motion_light"
std::string to_string(ChallengeAction action);  // "turn_left", ...
// throws Error{invalid_argument} naming the accepted values
ChallengeMode parse_challenge_mode(const std::string& text);
ChallengeAction parse_challenge_action(const std::string& text);

constexpr int kChallengeSteps = 3;        // drawn per session
constexpr int kChallengeMaxSteps = 6;     // accepted in a challenge file
constexpr double kTurnMinYawDeg = 15;
constexpr double kLookMinPitchDeg = 10;
constexpr double kCloserMinScale = 1.3;
constexpr double kMinFramesPerSecond = 8;

struct ChallengeStep {
    ChallengeAction action = ChallengeAction::turn_left;
    int hold_ms = 0;  // how long the prompt asks to hold the pose (ms)
};
struct ChallengeColor {
    std::array<int, 3> rgb{};  // 0-255, shown full-screen behind the preview
    int ms = 0;                // how long it is shown
};

struct LivenessChallenge {
    std::string nonce;  // 32 lowercase hex characters from the CSPRNG
    ChallengeMode mode = ChallengeMode::motion;
    std::vector<ChallengeStep> steps;
    std::vector<ChallengeColor> colors;  // motion_light only: 6-8 colours of 300-500 ms

    // ensures: a fresh challenge from libsodium's CSPRNG: kChallengeSteps steps, no action twice in
    //          a row; in motion_light, 6-8 colours of 300-500 ms with small hue steps between
    //          neighbours (so automatic white balance does not cancel them), each distinct from the
    //          one before.
    static LivenessChallenge draw(ChallengeMode mode);
    // {"nonce", "mode", "steps": [{"action", "hold_ms"}...], "colors": [{"rgb": [r,g,b], "ms"}...]}
    nlohmann::json to_json() const;
    // requires: the shape above; 1..kChallengeMaxSteps steps, no action twice in a row, hold_ms in
    //           [0, 5000]; colours (motion_light: 2..16, motion: none) with rgb in 0..255 and ms in
    //           [100, 2000]. throws Error{invalid_argument} naming the offending field otherwise.
    static LivenessChallenge from_json(const nlohmann::json& json);
};

// One captured frame, measured. Values are meaningful only when face_count == 1.
struct SessionFrame {
    double time_ms = 0;    // capture time since the first frame
    int color_index = -1;  // index into challenge.colors on screen when captured; -1 = none
    int face_count = 0;
    // Why no face could be used, when the image shows it: "too_dark", "too_bright", "blurred",
    // else "no_face" (face_count == 0) or "several_faces".
    std::string unusable_reason;
    double yaw_deg = 0, pitch_deg = 0;
    bool pose_measured = false;
    double left_eye_open = 1, right_eye_open = 1;
    bool eyes_measured = false;
    cv::Rect2f box;
    std::vector<cv::Point2f> landmarks;  // 68 points in image coordinates (empty if none)
    double inter_eye_px = 0;             // distance between the eye centres
    double passive_score = 0;
    std::optional<Template> face_template;
    std::array<double, 3> face_rgb{};        // mean colour of the face's skin region (R, G, B)
    std::array<double, 3> background_rgb{};  // mean colour outside the face box
    double face_luma = 0;                    // mean luma of the face region, 0-255
    std::uint64_t pixel_hash = 0;            // of the decoded pixels: identical frames compare equal
    cv::Mat thumbnail;                       // 32x32 grey image of the frame (CV_32F, 0-255), for near-identity
    double sharpness = 0;  // variance of the Laplacian of the face region scaled to 128 px wide (grey)
};

// requires: face made by the Engine from image (time_ms and color_index as sent); checker loaded.
// ensures:  every field above filled from the face's context (attributes on first use), the image,
//           and checker.passive_score for a single face; unusable_reason set when there is not
//           exactly one usable face.
SessionFrame measure_session_frame(const FaceContext& face, double time_ms, int color_index,
                                   LivenessChecker& checker);

struct SessionDecisionOptions {
    double passive_threshold = 0.5;     // from the liveness calibration
    double same_face_min_similarity = kSameFaceMinSimilarity;
    double light_min_correlation = 0.7;  // calibrated (see the .cpp and SessionCalibration)
    int light_max_lag_frames = 2;
    // LIGHT_NOT_FOLLOWED also when a lag of up to 8 frames beyond light_max_lag_frames correlates
    // better than the best allowed lag by more than this (a response that arrives too late).
    double light_late_margin = 0.05;
    double planar_max_residual = 0.02;   // homography RMS residual / inter-eye distance: below = flat
    double step_timeout_ms = 5000;       // from the previous step's end to this step's start
    int max_frames = 120;
    // Frontal at the start: |yaw| and |pitch| of the baseline (median of the first two frames).
    double frontal_max_yaw_deg = 15;
    double frontal_max_pitch_deg = 20;
    // Back to frontal: every movement within this fraction of its step threshold of the baseline.
    double neutral_fraction = 0.6;
    // A blink: both eyes closed for 1..max_blink_frames consecutive frames.
    int max_blink_frames = 4;
    // Consecutive frames: change allowed = slack + rate x interval (a head turns at up to a few
    // hundred degrees a second; the slack covers the estimators' frame-to-frame noise).
    double splice_pose_slack_deg = 10, splice_pose_deg_per_ms = 0.5;
    double splice_shift_slack = 0.75, splice_shift_per_ms = 0.01;  // box centre, in inter-eye distances
    double splice_scale_slack = 0.15, splice_scale_per_ms = 0.004;  // |log| of the inter-eye ratio
    // Two frames whose thumbnails differ by less than this mean absolute grey difference are one
    // frame repeated (a camera's noise alone keeps real frames well above it).
    double frozen_max_thumbnail_difference = 0.05;
    double max_frame_gap_ms = 400;  // a longer gap between frames is a low frame rate
};

// Per-frame evidence of a decision: what the rules read, relative to the frontal baseline.
struct FrameEvidence {
    double time_ms = 0;
    std::string state;  // "frontal", "between", an action name, "move_away", or "unusable:<reason>"
    double yaw_deg = 0, pitch_deg = 0;          // as measured
    double yaw_change_deg = 0, pitch_change_deg = 0, scale = 1;  // relative to the baseline
    double left_eye_open = 1, right_eye_open = 1;
};

struct StepEvidence {
    ChallengeAction action = ChallengeAction::turn_left;
    bool passed = false;
    int first_frame = -1, last_frame = -1;  // frames showing the action (-1 = not seen)
    double measured = 0;  // yaw/pitch change (deg), scale ratio, or closed-eye frame count
    std::string reason;   // empty when passed
};

struct SessionDecision {
    std::string decision;              // "live", "not_live" or "retry"
    std::vector<std::string> reasons;  // stable codes, e.g. STEP_MISSING, STEP_ORDER, UNASKED_MOVEMENT
    std::vector<StepEvidence> steps;
    int best_frame = -1;               // the most frontal sharp frame (the probe for verification)
    double passive_median = 0;
    double min_same_face_similarity = 1;
    double planar_residual = -1;       // -1 = not measured
    double light_correlation = -1;     // -1 = not measured (motion mode)
    double frames_per_second = 0;
    int light_lag_frames = -1;         // lag of the best light correlation (-1 = not measured)
    std::vector<FrameEvidence> frames;  // one per frame given (empty when none)
    SessionDecisionOptions thresholds;
    nlohmann::json to_json() const;    // {"decision", "reasons", "steps", "best_frame", "scores", "thresholds", "frames"}
};

// requires: frames in capture order (time_ms non-decreasing), at most options.max_frames.
// ensures:  every rule of the challenge is applied (see the .cpp for each) and each failure adds a
//           reason; "retry" when the only failures are capture conditions (too dark / bright /
//           blurred, too few frames per second, no face), "not_live" otherwise.
SessionDecision decide_session(const LivenessChallenge& challenge, const std::vector<SessionFrame>& frames,
                               const SessionDecisionOptions& options = {});

}  // namespace faceproof
