// Simulated honest captures of a challenge-liveness session, as measured frames (SessionFrame):
// what decide_session reads, without images or models. Used by the rule tests
// (tests/test_liveness_session.cpp), the replay evaluation (`faceproof eval liveness-sessions
// --synthetic N`) and its tests.
//
// What is modelled (one person following the web page's prompts, web/app.js buildPlan):
//   - timing: a 1 s frontal baseline; per step a 1.4 s "move" phase (blink: max(1.4 s, hold_ms)),
//     a hold of hold_ms (at least 300 ms), a 1.1 s "back" phase; frames every
//     max(100 ms, plan / 119) with a few ms of jitter (10 fps, at most 120 frames), as the page takes them;
//   - the person: a rest pose within a few degrees of frontal, a slow sway; each movement starts
//     after a reaction time, ramps up smoothly to a peak drawn per step (turns 18-32 deg of yaw,
//     nods 12-20 deg of pitch, approaches x1.38-1.65 of the inter-eye distance, some cross-talk on
//     the other axes), is held until the back phase, and returns after another reaction time;
//     asked blinks close the eyes 120-300 ms; spontaneous blinks at ~15 a minute (none during an
//     asked blink's own phase, they would be one blink);
//   - the estimators: noise on yaw, pitch, inter-eye distance, the 68 landmarks (a rough 3D head
//     under weak perspective, so turns show parallax) and eye-open probabilities; one person's
//     template with per-frame noise; a camera's frames never identical (random thumbnails, hashes);
//   - motion_light: the screen cycles the colours for their ms each (as the page does); the face's
//     skin takes a share of the screen's colour, lagging 0-2 frames (one lag per capture), on top
//     of a slow mean-reverting colour drift (shading, white balance) and per-frame noise; the
//     background does not take the cast.
// What is NOT modelled: image formation (the detector, landmarker, pose and eye models are
// replaced by their outputs plus noise; their real failures — a missed face, a wrong pose on a
// blurred frame, a landmark track lost during a fast turn — are not here), the passive model
// (a fixed score, default 0.9 ± 0.03), exposure problems, people who misunderstand a prompt,
// overshoot into the opposite direction or are too slow, cameras slower than 10 fps, and any
// attack. Its acceptance rate is therefore an upper bound on a real one; its replay figures
// (a recording decided against other challenges) depend only on the rules and the challenge draw.
// Thread safety: pure functions of their arguments (the rng is the caller's).
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "faceproof/liveness_session.hpp"
#include "faceproof/template.hpp"

namespace faceproof {

// The head as the estimators read it at one frame.
struct SimulatedPose {
    double yaw_deg = 0;    // HeadPose convention: > 0 turned towards the image's left edge
    double pitch_deg = 0;  // > 0 chin raised
    double scale = 1;      // inter-eye distance relative to the rest pose
    bool eyes_closed = false;
};

constexpr double kSimulatedInterEyePx = 60;                           // at scale 1
const std::array<double, 3> kSimulatedSkinRgb = {180, 130, 110};      // the face's mean colour, unlit
const std::array<double, 3> kSimulatedBackgroundRgb = {120, 120, 125};

// The 68 landmarks of a rough 3D head (curved jaw and brows, a nose that sticks out) seen under
// weak perspective at that pose: yaw > 0 moves the nose to the image's left, pitch > 0 up.
// requires: finite angles, inter_eye_px > 0.
std::vector<cv::Point2f> project_synthetic_head(double yaw_deg, double pitch_deg, double inter_eye_px, cv::Point2f centre);

// A person's face template as one frame's embedding would give it: person `who` (0..63) has its own
// direction; each frame adds noise of `noise` per component (seeded by frame), then normalises.
// Two frames of one person compare at ~0.97, two people at ~0.
// requires: 0 <= who < 64.
Template synthetic_person_template(int who, std::uint64_t frame, double noise = 0.02);

// A measured frame showing `pose` exactly (no estimator noise): one face, pose and eyes measured
// (open 0.95, closed 0.05), the projected landmarks, person `who`'s template, passive score 0.9,
// the unlit skin and background colours, a unique pixel hash and a random thumbnail (from `seed`,
// so two frames of different seeds are never "identical").
SessionFrame synthetic_session_frame(const SimulatedPose& pose, int frame_index, double time_ms, int who = 0,
                                     std::uint64_t seed = 0);

struct SimulationOptions {
    int person = 0;  // whose template
    // Estimator noise (standard deviations per frame).
    double yaw_noise_deg = 1.2, pitch_noise_deg = 1.0, scale_noise = 0.01, landmark_noise_px = 0.4;
    double eye_open_noise = 0.04;
    double frame_jitter_ms = 4;
    double spontaneous_blinks_per_minute = 15;
    double passive_score = 0.9, passive_noise = 0.03;
    // Random 32x32 thumbnails, as a camera's noise gives (decide_session compares every pair of them
    // for a frozen or looped feed). false leaves them empty: the pixel hashes alone tell the frames
    // apart, and deciding is several times faster (for many-trial replay runs; that rule does not
    // depend on the challenge).
    bool thumbnails = true;
    // motion_light: the share of the screen's colour in the face's light (0.08: the face's r
    // chromaticity moves by ~0.01-0.02, as SessionImages measures for a 10 % share), the drift's
    // stationary standard deviation and its per-frame pull back (RGB units), the per-frame noise
    // (RGB units). The light rule's honest acceptance depends on the drift, which is assumed, not
    // measured: 200 captures, drift 0 -> all live, 0.75 -> 99.5 %, 1.5 (default) -> ~91-96 %.
    double light_share = 0.08, light_drift_rgb = 1.5, light_drift_pull = 0.1, light_noise_rgb = 0.3;
};

// An honest capture of `challenge` (what the person does, the frame times, the colours on screen).
// ensures: frames in time order starting at 0, at ~10 fps, at most SessionDecisionOptions{}.max_frames;
//          in motion_light every frame has the colour index on screen when it was taken.
// Deterministic for a given rng state.
std::vector<SessionFrame> simulate_honest_capture(const LivenessChallenge& challenge, std::mt19937_64& rng,
                                                  const SimulationOptions& options = {});

// ---- the replay evaluation (faceproof eval liveness-sessions) ------------------------------------

// Counts over captures, each decided against its own challenge and against fresh ones.
struct ReplayTally {
    std::size_t captures = 0, own_live = 0;
    std::map<std::string, std::size_t> own_reasons;     // reasons of own-challenge refusals
    std::size_t trials = 0, passed = 0;                 // fresh challenges decided, and passed ("live")
    std::size_t same_sequence = 0, same_sequence_passed = 0;  // fresh challenges with the own actions in order
    std::map<std::string, std::size_t> replay_reasons;  // per reason, the fresh decisions giving it
    std::size_t decisions = 0;
    double decide_ms = 0;                               // wall time of all decisions
    void add(const ReplayTally& other);
};

struct CaptureReplay {
    SessionDecision own;
    std::size_t passed = 0;  // fresh challenges passed
};

// Decides `frames` against `own` and against `fresh_challenges` challenges drawn fresh
// (LivenessChallenge::draw, the server's CSPRNG) in own.mode, and adds the counts to tally.
// requires: fresh_challenges >= 0; frames as decide_session requires.
CaptureReplay replay_capture(const LivenessChallenge& own, const std::vector<SessionFrame>& frames, int fresh_challenges,
                             const SessionDecisionOptions& options, ReplayTally& tally);

// The chance that a fresh draw of `steps` steps from 6 actions, no action twice in a row, equals a
// given sequence: 1 / (6 x 5^(steps-1)) (1/150 for 3 steps).
double motion_sequence_chance(int steps);

// The index of the colour on screen `elapsed_ms` after the capture started: the challenge's colours
// in order for their ms each, cycled as the capture page shows them (web/app.js colourAt).
int colour_on_screen_at(const std::vector<ChallengeColor>& colors, double elapsed_ms);

// One-sided exact (Clopper-Pearson) upper confidence bound on a binomial rate after `successes`
// in `trials`: the p with P(X <= successes | trials, p) = 1 - confidence. For 0 successes it is
// 1 - (1 - confidence)^(1/trials), ~3/trials at 95 %.
// requires: trials > 0, successes <= trials, 0 < confidence < 1.
double binomial_upper_bound(std::size_t successes, std::size_t trials, double confidence = 0.95);

}  // namespace faceproof
