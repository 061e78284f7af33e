// Challenge liveness (issue 15): the challenge (draw, JSON), the session rules on measured frames —
// an honest synthetic capture passes, and one capture per rule breaks exactly that rule and is
// refused with its reason — and, with the real models, frames measured from photos (exposure,
// frozen and spliced feeds, a tilted flat photo, the light response) and the calibration figures.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/calib3d.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "eval/session_simulation.hpp"
#include "faceproof/engine.hpp"
#include "faceproof/error.hpp"
#include "faceproof/liveness.hpp"
#include "faceproof/liveness_session.hpp"
#include "liveness/light_response.hpp"
#include "liveness/planar_motion.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
using fp::ChallengeAction;
using fp::ErrorCode;
using fptest::expect_error_code;

namespace {

bool has_reason(const fp::SessionDecision& d, const std::string& code) {
    return std::find(d.reasons.begin(), d.reasons.end(), code) != d.reasons.end();
}

std::string describe(const fp::SessionDecision& d) { return d.to_json().dump(); }

// ---- synthetic captures (src/eval/session_simulation.hpp) -------------------------------------------
//
// Two kinds: scripted ones (below: exact poses, no noise, a fixed rhythm, so a test can break one
// rule at a known frame) and the simulator's honest captures (timing of the web page, estimator
// noise, spontaneous blinks, a lagging light response), which must pass as the scripted ones do.

using Pose = fp::SimulatedPose;

// A measured frame showing the pose exactly.
fp::SessionFrame frame_at(const Pose& pose, int index, double time_ms) { return fp::synthetic_session_frame(pose, index, time_ms); }

// The poses of a person following the steps: 3 frontal frames, each movement built up, held 3
// frames and released, blinks of 2 frames, 2 frontal frames between steps and at the end.
std::vector<Pose> poses_for(const std::vector<ChallengeAction>& actions, double base_yaw = 0) {
    std::vector<Pose> poses(3, Pose{base_yaw, 0, 1, false});
    for (ChallengeAction a : actions) {
        Pose peak{base_yaw, 0, 1, false};
        switch (a) {
            case ChallengeAction::turn_left: peak.yaw_deg = base_yaw - 22; break;  // subject's left: yaw falls
            case ChallengeAction::turn_right: peak.yaw_deg = base_yaw + 22; break;
            case ChallengeAction::look_up: peak.pitch_deg = 14; break;
            case ChallengeAction::look_down: peak.pitch_deg = -14; break;
            case ChallengeAction::move_closer: peak.scale = 1.45; break;
            case ChallengeAction::blink: peak.eyes_closed = true; break;
        }
        if (a == ChallengeAction::blink) {
            poses.push_back(peak);
            poses.push_back(peak);
        } else {
            const Pose half{(peak.yaw_deg + base_yaw) / 2, peak.pitch_deg / 2, (peak.scale + 1) / 2, false};
            poses.push_back(half);
            for (int k = 0; k < 3; ++k) poses.push_back(peak);
            poses.push_back(half);
        }
        poses.push_back(Pose{base_yaw, 0, 1, false});
        poses.push_back(Pose{base_yaw, 0, 1, false});
    }
    return poses;
}

std::vector<ChallengeAction> actions_of(const fp::LivenessChallenge& c) {
    std::vector<ChallengeAction> out;
    for (const auto& s : c.steps) out.push_back(s.action);
    return out;
}

// The screen colour on show at each frame: the sequence spread evenly over the capture.
void add_colors(std::vector<fp::SessionFrame>& frames, const fp::LivenessChallenge& c, int response_lag = 1,
                double strength = 0.25) {
    if (c.colors.empty()) return;
    const std::size_t n = frames.size();
    for (std::size_t i = 0; i < n; ++i) frames[i].color_index = int(i * c.colors.size() / n);
    for (std::size_t i = 0; i < n; ++i) {  // the face reflects the colour shown response_lag frames earlier
        const std::size_t source = i >= std::size_t(response_lag) ? i - std::size_t(response_lag) : 0;
        const auto& rgb = c.colors[std::size_t(frames[source].color_index)].rgb;
        for (int k = 0; k < 3; ++k)
            frames[i].face_rgb[std::size_t(k)] = fp::kSimulatedSkinRgb[std::size_t(k)] * (1 - strength) + strength * rgb[std::size_t(k)] * 0.7;
    }
}

std::vector<fp::SessionFrame> capture(const std::vector<Pose>& poses, double interval_ms = 100) {
    std::vector<fp::SessionFrame> frames;
    for (std::size_t i = 0; i < poses.size(); ++i) frames.push_back(frame_at(poses[i], int(i), double(i) * interval_ms));
    return frames;
}

std::vector<fp::SessionFrame> honest_capture(const fp::LivenessChallenge& c) {
    auto frames = capture(poses_for(actions_of(c)));
    add_colors(frames, c);
    return frames;
}

fp::LivenessChallenge challenge_of(const std::vector<ChallengeAction>& actions,
                                   fp::ChallengeMode mode = fp::ChallengeMode::motion) {
    fp::LivenessChallenge c;
    c.nonce = std::string(32, 'a');
    c.mode = mode;
    for (ChallengeAction a : actions) c.steps.push_back({a, 800});
    if (mode == fp::ChallengeMode::motion_light)
        c.colors = {{{255, 102, 102}, 400}, {{255, 179, 102}, 400}, {{230, 255, 102}, 400},
                    {{153, 255, 102}, 400}, {{102, 255, 179}, 400}, {{102, 230, 255}, 400}};
    return c;
}

// ---- the challenge ---------------------------------------------------------------------------------

TEST(LivenessChallengeDraw, StepsAreValidNeverRepeatedAndCoverEveryAction) {
    std::map<std::string, int> seen_at[fp::kChallengeSteps];
    std::set<std::string> nonces;
    std::set<std::string> sequences;
    for (int n = 0; n < 3000; ++n) {
        const auto c = fp::LivenessChallenge::draw(fp::ChallengeMode::motion);
        ASSERT_EQ(c.steps.size(), std::size_t(fp::kChallengeSteps));
        EXPECT_TRUE(c.colors.empty());
        ASSERT_EQ(c.nonce.size(), 32u);
        EXPECT_EQ(c.nonce.find_first_not_of("0123456789abcdef"), std::string::npos) << c.nonce;
        nonces.insert(c.nonce);
        std::string sequence;
        for (std::size_t k = 0; k < c.steps.size(); ++k) {
            EXPECT_GE(c.steps[k].hold_ms, 600);
            EXPECT_LE(c.steps[k].hold_ms, 1000);
            if (k > 0) {
                EXPECT_NE(c.steps[k].action, c.steps[k - 1].action) << c.to_json().dump();
            }
            ++seen_at[k][fp::to_string(c.steps[k].action)];
            sequence += fp::to_string(c.steps[k].action) + ",";
        }
        sequences.insert(sequence);
    }
    EXPECT_EQ(nonces.size(), 3000u);
    EXPECT_EQ(sequences.size(), 150u) << "6 x 5 x 5 sequences, all reachable";
    for (int k = 0; k < fp::kChallengeSteps; ++k) {
        ASSERT_EQ(seen_at[k].size(), 6u) << "position " << k;
        for (const auto& [action, count] : seen_at[k]) {  // uniform: 500 expected, sigma ~ 20
            EXPECT_GT(count, 380) << action << " at position " << k;
            EXPECT_LT(count, 620) << action << " at position " << k;
        }
    }
}

double hue_of(const std::array<int, 3>& rgb) {
    cv::Mat pixel(1, 1, CV_32FC3, cv::Scalar(rgb[2] / 255.0, rgb[1] / 255.0, rgb[0] / 255.0)), hsv;
    cv::cvtColor(pixel, hsv, cv::COLOR_BGR2HSV);
    return hsv.at<cv::Vec3f>(0, 0)[0];
}

TEST(LivenessChallengeDraw, LightColoursTakeSmallHueStepsOfModerateSaturation) {
    for (int n = 0; n < 500; ++n) {
        const auto c = fp::LivenessChallenge::draw(fp::ChallengeMode::motion_light);
        ASSERT_GE(c.colors.size(), 6u);
        ASSERT_LE(c.colors.size(), 8u);
        for (std::size_t i = 0; i < c.colors.size(); ++i) {
            EXPECT_GE(c.colors[i].ms, 300);
            EXPECT_LE(c.colors[i].ms, 500);
            const auto [lo, hi] = std::minmax({c.colors[i].rgb[0], c.colors[i].rgb[1], c.colors[i].rgb[2]});
            EXPECT_EQ(hi, 255);
            EXPECT_NEAR(1.0 - lo / 255.0, 0.6, 0.01) << "saturation";
            if (i == 0) continue;
            double step = std::fabs(hue_of(c.colors[i].rgb) - hue_of(c.colors[i - 1].rgb));
            step = std::min(step, 360 - step);
            EXPECT_GE(step, 23) << c.to_json().dump();
            EXPECT_LE(step, 42) << c.to_json().dump();
        }
    }
}

TEST(LivenessChallengeJson, RoundTripsAndNamesTheBadField) {
    const auto c = fp::LivenessChallenge::draw(fp::ChallengeMode::motion_light);
    const auto json = c.to_json();
    const auto back = fp::LivenessChallenge::from_json(json);
    EXPECT_EQ(back.to_json(), json);
    EXPECT_EQ(fp::LivenessChallenge::from_json(nlohmann::json::parse(json.dump())).to_json(), json);

    const auto refused = [&json](const std::function<void(nlohmann::json&)>& edit, const std::string& field) {
        nlohmann::json bad = json;
        edit(bad);
        const std::string message = expect_error_code(ErrorCode::invalid_argument, [&bad] { fp::LivenessChallenge::from_json(bad); });
        EXPECT_NE(message.find(field), std::string::npos) << "message '" << message << "' should name " << field;
    };
    refused([](nlohmann::json& j) { j["nonce"] = "ABC"; }, "nonce");
    refused([](nlohmann::json& j) { j["nonce"] = std::string(32, 'G'); }, "nonce");
    refused([](nlohmann::json& j) { j.erase("nonce"); }, "nonce");
    refused([](nlohmann::json& j) { j["mode"] = "video"; }, "mode");
    refused([](nlohmann::json& j) { j["steps"] = nlohmann::json::array(); }, "steps");
    refused([](nlohmann::json& j) { j["steps"][0]["action"] = "smile"; }, "smile");
    refused([](nlohmann::json& j) { j["steps"][1]["action"] = j["steps"][0]["action"]; }, "steps[1]");
    refused([](nlohmann::json& j) { j["steps"][2]["hold_ms"] = 9000; }, "steps[2].hold_ms");
    refused([](nlohmann::json& j) { j["steps"][0]["hold_ms"] = "800"; }, "steps[0].hold_ms");
    refused([](nlohmann::json& j) { j["colors"][0]["rgb"] = {1, 2}; }, "colors[0].rgb");
    refused([](nlohmann::json& j) { j["colors"][1]["rgb"][2] = 256; }, "colors[1].rgb");
    refused([](nlohmann::json& j) { j["colors"][0]["ms"] = 50; }, "colors[0].ms");
    refused([](nlohmann::json& j) { j["colors"] = nlohmann::json::array(); }, "colors");
    refused([](nlohmann::json& j) { j["mode"] = "motion"; }, "colors");
    refused([](nlohmann::json& j) { j["expires_at"] = 1; }, "expires_at");
    expect_error_code(ErrorCode::invalid_argument, [] { fp::LivenessChallenge::from_json(nlohmann::json::array()); });

    auto six = fp::LivenessChallenge::draw(fp::ChallengeMode::motion).to_json();
    six["steps"] = nlohmann::json::array();
    for (const char* a : {"turn_left", "blink", "turn_right", "look_up", "look_down", "move_closer"})
        six["steps"].push_back({{"action", a}, {"hold_ms", 0}});
    EXPECT_EQ(fp::LivenessChallenge::from_json(six).steps.size(), 6u);
    six["steps"].push_back({{"action", "blink"}, {"hold_ms", 0}});
    expect_error_code(ErrorCode::invalid_argument, [&six] { fp::LivenessChallenge::from_json(six); });
}

TEST(LivenessChallengeJson, ParsesNamesAndRefusesOthers) {
    for (const char* a : {"turn_left", "turn_right", "look_up", "look_down", "blink", "move_closer"})
        EXPECT_EQ(fp::to_string(fp::parse_challenge_action(a)), a);
    EXPECT_EQ(fp::parse_challenge_mode("motion_light"), fp::ChallengeMode::motion_light);
    EXPECT_NE(expect_error_code(ErrorCode::invalid_argument, [] { fp::parse_challenge_mode("light"); }).find("motion_light"),
              std::string::npos);
    expect_error_code(ErrorCode::invalid_argument, [] { fp::parse_challenge_action("Turn_Left"); });
}

// ---- the rules on measured values -------------------------------------------------------------------

TEST(SessionRules, HonestCapturesOfFreshChallengesPass) {
    for (int n = 0; n < 60; ++n) {
        const auto mode = n % 2 ? fp::ChallengeMode::motion_light : fp::ChallengeMode::motion;
        const auto c = fp::LivenessChallenge::draw(mode);
        const auto frames = honest_capture(c);
        const auto d = fp::decide_session(c, frames);
        ASSERT_EQ(d.decision, "live") << c.to_json().dump() << "\n" << describe(d);
        EXPECT_TRUE(d.reasons.empty());
        for (const auto& s : d.steps) EXPECT_TRUE(s.passed) << describe(d);
        EXPECT_GE(d.best_frame, 0);
        EXPECT_LT(std::fabs(frames[std::size_t(d.best_frame)].yaw_deg), 1e-9) << "the probe is a frontal frame";
        EXPECT_NEAR(d.frames_per_second, 10, 1e-9);
        if (mode == fp::ChallengeMode::motion_light) EXPECT_GE(d.light_correlation, 0.9);
        else EXPECT_EQ(d.light_correlation, -1);
    }
}

// The simulator's honest captures (the web page's timing, estimator noise, spontaneous blinks, a
// light response lagging 0-2 frames) pass as the scripted ones do, every step measured beyond its
// threshold (in motion_light, but for a few the light rule refuses: see below).
TEST(SessionRules, SimulatedHonestCapturesOfFreshChallengesPass) {
    std::mt19937_64 rng(2024);
    int spontaneous_blinks_seen = 0, light_refused = 0;
    for (int n = 0; n < 60; ++n) {
        const auto mode = n % 2 ? fp::ChallengeMode::motion_light : fp::ChallengeMode::motion;
        const auto c = fp::LivenessChallenge::draw(mode);
        const auto frames = fp::simulate_honest_capture(c, rng);
        const auto d = fp::decide_session(c, frames);
        // The simulated colour drift makes the light rule refuse a few honest motion_light captures
        // (~5 %; `faceproof eval liveness-sessions --synthetic` measures it); no other rule may.
        if (mode == fp::ChallengeMode::motion_light && d.reasons == std::vector<std::string>{"LIGHT_NOT_FOLLOWED"}) {
            ++light_refused;
            continue;
        }
        ASSERT_EQ(d.decision, "live") << c.to_json().dump() << "\n" << describe(d);
        for (const auto& s : d.steps) {
            EXPECT_TRUE(s.passed) << describe(d);
            if (s.action == ChallengeAction::turn_left || s.action == ChallengeAction::turn_right) {
                EXPECT_GE(s.measured, fp::kTurnMinYawDeg);
            }
            if (s.action == ChallengeAction::move_closer) {
                EXPECT_GE(s.measured, fp::kCloserMinScale);
            }
        }
        ASSERT_GE(d.best_frame, 0);
        EXPECT_LT(std::fabs(d.frames[std::size_t(d.best_frame)].yaw_change_deg), 9) << "the probe is a frontal frame";
        EXPECT_NEAR(d.frames_per_second, 10, 0.3);
        if (mode == fp::ChallengeMode::motion_light) {
            EXPECT_GE(d.light_correlation, d.thresholds.light_min_correlation);
            EXPECT_GE(d.light_lag_frames, 0);
            EXPECT_LE(d.light_lag_frames, 2);
        } else {
            EXPECT_EQ(d.light_correlation, -1);
        }
        const bool blink_asked = std::any_of(c.steps.begin(), c.steps.end(), [](const fp::ChallengeStep& s) { return s.action == ChallengeAction::blink; });
        if (!blink_asked)
            spontaneous_blinks_seen += std::any_of(d.frames.begin(), d.frames.end(), [](const fp::FrameEvidence& e) {
                return e.state.find("eyes_closed") != std::string::npos;
            });
    }
    EXPECT_GE(spontaneous_blinks_seen, 10) << "the captures blink on their own, and pass";
    EXPECT_LE(light_refused, 5) << "of 30 motion_light captures";
}

TEST(SessionRules, TheSameCaptureAgainstAnotherChallengeIsRefused) {
    const auto made_for = challenge_of({ChallengeAction::turn_left, ChallengeAction::look_up, ChallengeAction::move_closer});
    const auto frames = honest_capture(made_for);
    ASSERT_EQ(fp::decide_session(made_for, frames).decision, "live");
    int refused = 0, tried = 0;
    for (int n = 0; n < 300; ++n) {
        const auto fresh = fp::LivenessChallenge::draw(fp::ChallengeMode::motion);
        if (actions_of(fresh) == actions_of(made_for)) continue;  // the 1-in-150 chance
        ++tried;
        const auto d = fp::decide_session(fresh, frames);
        if (d.decision == "not_live") ++refused;
        else ADD_FAILURE() << fresh.to_json().dump() << " " << describe(d);
    }
    EXPECT_EQ(refused, tried);

    // The same with simulated recordings of that sequence (noise, timing, spontaneous blinks): three
    // recorded movements pass no fresh challenge but one asking those three in that order.
    std::mt19937_64 rng(99);
    fp::SimulationOptions quick;
    quick.thumbnails = false;  // the frozen-feed rule is not what is tested here; deciding is faster
    for (int recording = 0; recording < 3; ++recording) {
        const auto simulated = fp::simulate_honest_capture(made_for, rng, quick);
        ASSERT_EQ(fp::decide_session(made_for, simulated).decision, "live");
        for (int n = 0; n < 60; ++n) {
            const auto fresh = fp::LivenessChallenge::draw(fp::ChallengeMode::motion);
            const auto d = fp::decide_session(fresh, simulated);
            if (actions_of(fresh) == actions_of(made_for)) {
                EXPECT_EQ(d.decision, "live") << describe(d);
            } else {
                EXPECT_EQ(d.decision, "not_live") << fresh.to_json().dump() << " " << describe(d);
            }
        }
    }
}

TEST(SessionRules, StepsInAnotherOrderAreStepOrder) {
    const auto c = challenge_of({ChallengeAction::turn_left, ChallengeAction::look_up, ChallengeAction::move_closer});
    const auto d = fp::decide_session(c, capture(poses_for({ChallengeAction::look_up, ChallengeAction::turn_left,
                                                             ChallengeAction::move_closer})));
    EXPECT_EQ(d.decision, "not_live");
    EXPECT_TRUE(has_reason(d, "STEP_ORDER")) << describe(d);
    EXPECT_EQ(d.steps[0].reason, "STEP_ORDER");
}

TEST(SessionRules, AMissingStepIsStepMissing) {
    const auto c = challenge_of({ChallengeAction::turn_left, ChallengeAction::look_up, ChallengeAction::move_closer});
    const auto d = fp::decide_session(c, capture(poses_for({ChallengeAction::turn_left, ChallengeAction::look_up,
                                                             ChallengeAction::blink})));
    EXPECT_EQ(d.decision, "not_live");
    EXPECT_TRUE(has_reason(d, "STEP_MISSING")) << describe(d);
    EXPECT_TRUE(d.steps[0].passed);
    EXPECT_TRUE(d.steps[1].passed);
    EXPECT_EQ(d.steps[2].reason, "STEP_MISSING");
}

TEST(SessionRules, AMissingBlinkIsStepMissing) {
    const auto c = challenge_of({ChallengeAction::turn_left, ChallengeAction::blink, ChallengeAction::turn_right});
    ASSERT_EQ(fp::decide_session(c, capture(poses_for(actions_of(c)))).decision, "live");
    const auto d = fp::decide_session(c, capture(poses_for({ChallengeAction::turn_left, ChallengeAction::turn_right})));
    EXPECT_EQ(d.steps[1].reason, "STEP_MISSING") << describe(d);
    EXPECT_EQ(d.decision, "not_live");
}

TEST(SessionRules, AStepTooLateIsStepTooLate) {
    const auto c = challenge_of({ChallengeAction::turn_left, ChallengeAction::look_up, ChallengeAction::move_closer});
    auto poses = poses_for(actions_of(c));
    // 6 s of frontal frames after the first step (index 3 + 5 + 2 = 10 frames in).
    poses.insert(poses.begin() + 10, 60, Pose{});
    const auto d = fp::decide_session(c, capture(poses));
    EXPECT_EQ(d.decision, "not_live");
    EXPECT_EQ(d.steps[1].reason, "STEP_TOO_LATE") << describe(d);
    EXPECT_TRUE(d.steps[0].passed);
    fp::SessionDecisionOptions patient;
    patient.step_timeout_ms = 8000;
    EXPECT_EQ(fp::decide_session(c, capture(poses), patient).decision, "live");
}

TEST(SessionRules, AnUnaskedTurnOrNodIsUnaskedMovementButABlinkIsNot) {
    const auto c = challenge_of({ChallengeAction::turn_left, ChallengeAction::look_up, ChallengeAction::move_closer});
    for (ChallengeAction extra : {ChallengeAction::turn_right, ChallengeAction::look_down}) {
        const auto d = fp::decide_session(c, capture(poses_for({ChallengeAction::turn_left, extra, ChallengeAction::look_up,
                                                                 ChallengeAction::move_closer})));
        EXPECT_EQ(d.decision, "not_live");
        EXPECT_TRUE(has_reason(d, "UNASKED_MOVEMENT")) << describe(d);
    }
    const auto after = fp::decide_session(c, capture(poses_for({ChallengeAction::turn_left, ChallengeAction::look_up,
                                                                 ChallengeAction::move_closer, ChallengeAction::look_down})));
    EXPECT_TRUE(has_reason(after, "UNASKED_MOVEMENT")) << describe(after);
    const auto blinked = fp::decide_session(c, capture(poses_for({ChallengeAction::turn_left, ChallengeAction::blink,
                                                                   ChallengeAction::look_up, ChallengeAction::move_closer})));
    EXPECT_EQ(blinked.decision, "live") << "a spontaneous blink is not a movement: " << describe(blinked);
}

TEST(SessionRules, ABlinkTooLongIsBlinkTooLong) {
    const auto c = challenge_of({ChallengeAction::turn_left, ChallengeAction::blink, ChallengeAction::look_up});
    auto poses = poses_for(actions_of(c));
    const auto closed = std::find_if(poses.begin(), poses.end(), [](const Pose& p) { return p.eyes_closed; });
    ASSERT_NE(closed, poses.end());
    poses.insert(closed, 4, Pose{0, 0, 1, true});  // 6 closed frames
    const auto d = fp::decide_session(c, capture(poses));
    EXPECT_EQ(d.decision, "not_live");
    EXPECT_EQ(d.steps[1].reason, "BLINK_TOO_LONG") << describe(d);
    EXPECT_EQ(d.steps[1].measured, 6);
}

// The sign convention (header): turn_left = the subject's own left = HeadPose yaw falls.
TEST(SessionRules, TurnSignConventionTooSmallAndWrongDirection) {
    const auto left = challenge_of({ChallengeAction::turn_left, ChallengeAction::blink});
    auto frames = capture(poses_for(actions_of(left)));
    double lowest_yaw = 0;
    for (const auto& f : frames) lowest_yaw = std::min(lowest_yaw, f.yaw_deg);
    ASSERT_LE(lowest_yaw, -20) << "the honest turn_left capture has yaw falling";
    EXPECT_EQ(fp::decide_session(left, frames).decision, "live");
    EXPECT_LE(fp::decide_session(left, frames).steps[0].measured, 23);
    EXPECT_GE(fp::decide_session(left, frames).steps[0].measured, 21);

    const auto wrong = fp::decide_session(left, capture(poses_for({ChallengeAction::turn_right, ChallengeAction::blink})));
    EXPECT_EQ(wrong.steps[0].reason, "STEP_WRONG_DIRECTION") << describe(wrong);
    EXPECT_EQ(wrong.decision, "not_live");

    auto small = poses_for(actions_of(left));
    for (auto& p : small) p.yaw_deg = std::max(p.yaw_deg, -12.0);  // 12 degrees: short of 15
    const auto d = fp::decide_session(left, capture(small));
    EXPECT_EQ(d.steps[0].reason, "STEP_TOO_SMALL") << describe(d);
    EXPECT_NEAR(d.steps[0].measured, 12, 1e-9);

    auto closer = poses_for({ChallengeAction::move_closer});
    for (auto& p : closer) p.scale = std::min(p.scale, 1.2);
    const auto d2 = fp::decide_session(challenge_of({ChallengeAction::move_closer}), capture(closer));
    EXPECT_EQ(d2.steps[0].reason, "STEP_TOO_SMALL") << describe(d2);
}

TEST(SessionRules, AStepHeldOneFrameIsNotHeld) {
    const auto c = challenge_of({ChallengeAction::look_down, ChallengeAction::turn_right});
    auto poses = poses_for(actions_of(c));
    int kept = 0;
    poses.erase(std::remove_if(poses.begin(), poses.end(), [&kept](const Pose& p) { return p.pitch_deg == -14 && kept++ > 0; }),
                poses.end());
    const auto d = fp::decide_session(c, capture(poses));
    EXPECT_EQ(d.steps[0].reason, "STEP_NOT_HELD") << describe(d);
    EXPECT_EQ(d.decision, "not_live");
}

TEST(SessionRules, NotBackToFrontalBetweenStepsIsRefused) {
    const auto c = challenge_of({ChallengeAction::turn_left, ChallengeAction::look_up});
    std::vector<Pose> poses(3, Pose{});
    for (double yaw : {-10.0, -22.0, -22.0, -22.0, -12.0, -12.0}) poses.push_back({yaw, 0, 1, false});
    for (double pitch : {7.0, 14.0, 14.0, 14.0, 5.0, 0.0, 0.0, 0.0}) poses.push_back({pitch > 0 ? -6.0 : 0.0, pitch, 1, false});
    const auto d = fp::decide_session(c, capture(poses));
    EXPECT_EQ(d.steps[0].reason, "NOT_BACK_TO_FRONTAL") << describe(d);
    EXPECT_EQ(d.decision, "not_live");
}

TEST(SessionRules, NotFrontalAtTheStartIsRefused) {
    const auto c = challenge_of({ChallengeAction::turn_left, ChallengeAction::look_up});
    const auto d = fp::decide_session(c, capture(poses_for(actions_of(c), 30)));
    EXPECT_TRUE(has_reason(d, "NOT_FRONTAL_AT_START")) << describe(d);
    EXPECT_EQ(d.decision, "not_live");
}

TEST(SessionRules, AnotherPersonIsFaceChanged) {
    const auto c = challenge_of({ChallengeAction::turn_left, ChallengeAction::look_up, ChallengeAction::move_closer});
    auto frames = honest_capture(c);
    for (std::size_t i = 12; i < frames.size(); ++i) frames[i].face_template = fp::synthetic_person_template(1, i);
    const auto d = fp::decide_session(c, frames);
    EXPECT_TRUE(has_reason(d, "FACE_CHANGED")) << describe(d);
    EXPECT_LT(d.min_same_face_similarity, 0.5);
    EXPECT_EQ(d.decision, "not_live");
    EXPECT_GT(fp::decide_session(c, honest_capture(c)).min_same_face_similarity, 0.9);
}

TEST(SessionRules, AJumpOfPlaceScaleOrPoseIsSpliced) {
    const auto c = challenge_of({ChallengeAction::turn_left, ChallengeAction::look_up, ChallengeAction::move_closer});
    auto shifted = honest_capture(c);
    for (std::size_t i = 14; i < shifted.size(); ++i) {  // the rest of the clip from another take, 3 eye distances aside
        for (auto& p : shifted[i].landmarks) p.x += 180;
        shifted[i].box.x += 180;
    }
    auto d = fp::decide_session(c, shifted);
    EXPECT_TRUE(has_reason(d, "SPLICED")) << describe(d);
    EXPECT_EQ(d.decision, "not_live");

    auto scaled = honest_capture(c);
    scaled[9].inter_eye_px *= 1.8;
    EXPECT_TRUE(has_reason(fp::decide_session(c, scaled), "SPLICED"));

    // 20 degrees in 100 ms is a normal head; 40 degrees in 33 ms is not.
    auto fast = capture({Pose{}, Pose{}, Pose{}, Pose{-20}, Pose{-20}, Pose{-20}, Pose{}, Pose{}, Pose{}});
    const auto turn = challenge_of({ChallengeAction::turn_left});
    EXPECT_EQ(fp::decide_session(turn, fast).decision, "live") << describe(fp::decide_session(turn, fast));
    auto jump = capture({Pose{}, Pose{}, Pose{}, Pose{-40}, Pose{-40}, Pose{-40}, Pose{}, Pose{}, Pose{}}, 33);
    EXPECT_TRUE(has_reason(fp::decide_session(turn, jump), "SPLICED"));
}

TEST(SessionRules, IdenticalFramesAreFrozenOrLooped) {
    const auto c = challenge_of({ChallengeAction::turn_left, ChallengeAction::look_up, ChallengeAction::move_closer});
    auto frozen = honest_capture(c);
    frozen[1].pixel_hash = frozen[0].pixel_hash;
    auto d = fp::decide_session(c, frozen);
    EXPECT_TRUE(has_reason(d, "FROZEN_FEED")) << describe(d);
    EXPECT_EQ(d.decision, "not_live");

    auto looped = honest_capture(c);
    looped[20].thumbnail = looped[2].thumbnail + 0.01;  // re-encoded copy: thumbnails all but equal
    d = fp::decide_session(c, looped);
    EXPECT_TRUE(has_reason(d, "LOOPED_FEED")) << describe(d);
    EXPECT_FALSE(has_reason(d, "FROZEN_FEED"));

    auto noisy = honest_capture(c);  // a camera's noise: thumbnails of a still scene differ by ~0.2
    cv::Mat noise(32, 32, CV_32F);
    cv::randn(noise, 0, 0.25);
    noisy[1].thumbnail = noisy[0].thumbnail + noise;
    EXPECT_EQ(fp::decide_session(c, noisy).decision, "live");
}

TEST(SessionRules, LowFrameRateOrTooFewFramesIsRetry) {
    const auto c = challenge_of({ChallengeAction::turn_left, ChallengeAction::look_up, ChallengeAction::move_closer});
    auto d = fp::decide_session(c, capture(poses_for(actions_of(c)), 150));  // 6.7 fps
    EXPECT_EQ(d.decision, "retry");
    EXPECT_TRUE(has_reason(d, "LOW_FRAME_RATE")) << describe(d);
    auto gap = honest_capture(c);
    for (std::size_t i = 10; i < gap.size(); ++i) gap[i].time_ms += 600;  // frames withheld
    EXPECT_TRUE(has_reason(fp::decide_session(c, gap), "LOW_FRAME_RATE"));
    d = fp::decide_session(c, capture({Pose{}, Pose{}, Pose{}}));
    EXPECT_EQ(d.decision, "retry");
    EXPECT_TRUE(has_reason(d, "TOO_FEW_FRAMES"));
    EXPECT_EQ(fp::decide_session(c, {}).decision, "retry");
}

// A flat photo tilted: every landmark moves by one homography of the frontal ones.
TEST(SessionRules, LandmarksMovingByAHomographyAreAFlatSurface) {
    const auto c = challenge_of({ChallengeAction::turn_left, ChallengeAction::look_up, ChallengeAction::move_closer});
    const auto honest = honest_capture(c);
    const auto honest_decision = fp::decide_session(c, honest);
    EXPECT_GT(honest_decision.planar_residual, 0.03) << "a 3D head turning 22 degrees";
    auto flat = honest;
    const auto& frontal = honest[0].landmarks;
    for (auto& f : flat) {
        if (f.yaw_deg == 0 && f.pitch_deg == 0) continue;
        // the photo turned about its vertical (or horizontal) axis: a perspective foreshortening
        const double t = f.yaw_deg != 0 ? f.yaw_deg / 22.0 : f.pitch_deg / 14.0;
        cv::Matx33d h = f.yaw_deg != 0 ? cv::Matx33d(0.92, 0, 26 * t, 0, 1, 0, -0.0004 * t, 0, 1)
                                       : cv::Matx33d(1, 0, 0, 0, 0.94, -15 * t, 0, -0.0004 * t, 1);
        std::vector<cv::Point2f> warped;
        cv::perspectiveTransform(frontal, warped, cv::Mat(h));
        f.landmarks = warped;
    }
    const auto d = fp::decide_session(c, flat);
    EXPECT_TRUE(has_reason(d, "FLAT_SURFACE")) << describe(d);
    EXPECT_LT(d.planar_residual, 1e-3);
    EXPECT_EQ(d.decision, "not_live");
}

TEST(SessionRules, ALowPassiveScoreIsSpoofSuspected) {
    const auto c = challenge_of({ChallengeAction::turn_left, ChallengeAction::look_up, ChallengeAction::move_closer});
    auto frames = honest_capture(c);
    for (std::size_t i = 0; i < frames.size(); ++i) frames[i].passive_score = i % 3 == 0 ? 0.8 : 0.2;
    const auto d = fp::decide_session(c, frames);
    EXPECT_TRUE(has_reason(d, "SPOOF_SUSPECTED")) << describe(d);
    EXPECT_NEAR(d.passive_median, 0.2, 1e-12);
    EXPECT_EQ(d.decision, "not_live");
}

TEST(SessionRules, TheFaceMustFollowTheScreenColoursWithinTwoFrames) {
    const auto c = challenge_of({ChallengeAction::turn_left, ChallengeAction::look_up, ChallengeAction::move_closer},
                                fp::ChallengeMode::motion_light);
    for (int lag : {0, 1, 2}) {
        auto frames = capture(poses_for(actions_of(c)));
        add_colors(frames, c, lag);
        const auto d = fp::decide_session(c, frames);
        EXPECT_EQ(d.decision, "live") << "lag " << lag << ": " << describe(d);
        EXPECT_EQ(d.light_lag_frames, lag);
    }
    auto late = capture(poses_for(actions_of(c)));
    add_colors(late, c, 5);
    auto d = fp::decide_session(c, late);
    EXPECT_TRUE(has_reason(d, "LIGHT_NOT_FOLLOWED")) << describe(d);

    auto unlit = capture(poses_for(actions_of(c)));
    add_colors(unlit, c, 1, 0.0);  // indices sent, the face does not change
    d = fp::decide_session(c, unlit);
    EXPECT_TRUE(has_reason(d, "LIGHT_NOT_FOLLOWED")) << describe(d);
    EXPECT_EQ(d.decision, "not_live");

    // Recorded under another sequence of colours: the reflection follows those, not these.
    auto other = c;
    std::reverse(other.colors.begin(), other.colors.end());
    auto replay = capture(poses_for(actions_of(c)));
    add_colors(replay, other, 1);
    d = fp::decide_session(c, replay);
    EXPECT_TRUE(has_reason(d, "LIGHT_NOT_FOLLOWED")) << describe(d);

    auto missing = capture(poses_for(actions_of(c)));
    add_colors(missing, c);
    missing[5].color_index = -1;
    EXPECT_TRUE(has_reason(fp::decide_session(c, missing), "LIGHT_MISSING"));
    for (auto& f : missing) f.color_index = std::min(f.color_index, 3);  // colours 4 and 5 never captured
    EXPECT_TRUE(has_reason(fp::decide_session(c, missing), "LIGHT_MISSING"));
}

TEST(SessionRules, CaptureConditionsAreRetryAndSeveralFacesIsNot) {
    const auto c = challenge_of({ChallengeAction::turn_left, ChallengeAction::look_up, ChallengeAction::move_closer});
    for (const std::string condition : {"too_dark", "too_bright", "blurred", "no_face"}) {
        auto frames = honest_capture(c);
        frames[7].unusable_reason = condition;
        if (condition == "no_face") frames[7].face_count = 0;
        const auto d = fp::decide_session(c, frames);
        EXPECT_EQ(d.decision, "retry") << describe(d);
        std::string code = condition;
        std::transform(code.begin(), code.end(), code.begin(), ::toupper);
        EXPECT_TRUE(has_reason(d, code)) << describe(d);
    }
    auto crowd = honest_capture(c);
    crowd[7].unusable_reason = "several_faces";
    crowd[7].face_count = 2;
    EXPECT_EQ(fp::decide_session(c, crowd).decision, "not_live");
    auto unmeasured = honest_capture(c);
    unmeasured[3].pose_measured = false;
    EXPECT_EQ(fp::decide_session(c, unmeasured).decision, "retry");
}

TEST(SessionRules, RefusesMalformedInputAndReportsJson) {
    const auto c = challenge_of({ChallengeAction::turn_left});
    auto frames = honest_capture(c);
    std::swap(frames[2].time_ms, frames[3].time_ms);
    expect_error_code(ErrorCode::invalid_argument, [&] { fp::decide_session(c, frames); });
    fp::SessionDecisionOptions few;
    few.max_frames = 5;
    expect_error_code(ErrorCode::invalid_argument, [&] { fp::decide_session(c, honest_capture(c), few); });

    const auto d = fp::decide_session(c, honest_capture(c));
    const auto j = d.to_json();
    EXPECT_EQ(j.at("decision"), "live");
    EXPECT_EQ(j.at("steps").at(0).at("action"), "turn_left");
    EXPECT_TRUE(j.at("steps").at(0).at("passed").get<bool>());
    for (const char* key : {"passive_median", "min_same_face_similarity", "planar_residual", "light_correlation", "frames_per_second"})
        EXPECT_TRUE(j.at("scores").contains(key)) << key;
    EXPECT_EQ(j.at("thresholds").at("turn_min_yaw_deg"), fp::kTurnMinYawDeg);
    EXPECT_EQ(j.at("frames").size(), honest_capture(c).size());
    EXPECT_EQ(j.at("frames").at(5).at("state"), "turn_left");
}

// Calibration of light_min_correlation on measured values (the figures are printed): the face's
// chromaticity minus the background's = cast x (emitted - mean) + a slow drift (head movement,
// shading, auto white balance residue: a random walk) + per-frame noise. The cast magnitude and the
// noise come from the image-level measurement (SessionImages.LightCastOnTheFaceIsFollowed prints
// them: a 10 % screen share of the face's light moves its chromaticity by ~0.01, sensor noise of
// sigma 3 grey levels by ~0.0005); the drift is taken as large as the cast's own spread (a
// pessimistic room). A capture that does not follow — drift and noise only, or the response to
// another draw of colours — must pass rarely; a following one must nearly always pass.
TEST(SessionCalibration, LightThresholdSeparatesFollowingFromNotFollowing) {
    std::mt19937 rng(12345);
    std::normal_distribution<double> unit(0, 1);
    std::vector<double> following, drift_only, other_colours;
    for (int trial = 0; trial < 2000; ++trial) {
        const auto c = fp::LivenessChallenge::draw(fp::ChallengeMode::motion_light);
        const auto other = fp::LivenessChallenge::draw(fp::ChallengeMode::motion_light);
        const std::size_t n = 30;  // ~3 s at 10 fps
        std::vector<fp::Chromaticity> emitted, emitted_other;
        for (std::size_t i = 0; i < n; ++i) {
            const auto& a = c.colors[i * c.colors.size() / n].rgb;
            const auto& b = other.colors[i * other.colors.size() / n].rgb;
            emitted.push_back(fp::chromaticity({double(a[0]), double(a[1]), double(a[2])}));
            emitted_other.push_back(fp::chromaticity({double(b[0]), double(b[1]), double(b[2])}));
        }
        const double cast = 0.25;  // chromaticity response per unit of emitted chromaticity
        const double drift_step = 0.0015, noise = 0.0005;
        fp::Chromaticity drift{0, 0};
        std::vector<fp::Chromaticity> follow, still, replay;
        for (std::size_t i = 0; i < n; ++i) {
            for (int k = 0; k < 2; ++k) drift[std::size_t(k)] += drift_step * unit(rng);
            const std::size_t source = i > 0 ? i - 1 : 0;  // one frame of camera lag
            fp::Chromaticity base{}, f{}, r{};
            for (std::size_t k = 0; k < 2; ++k) {
                base[k] = drift[k] + noise * unit(rng);
                f[k] = base[k] + cast * (emitted[source][k] - 1.0 / 3);
                r[k] = base[k] + cast * (emitted_other[source][k] - 1.0 / 3);
            }
            follow.push_back(f);
            still.push_back(base);
            replay.push_back(r);
        }
        following.push_back(fp::light_correlation(follow, emitted, 2));
        drift_only.push_back(fp::light_correlation(still, emitted, 2));
        other_colours.push_back(fp::light_correlation(replay, emitted, 2));
    }
    const double threshold = fp::SessionDecisionOptions{}.light_min_correlation;
    const auto share_at_or_above = [threshold](const std::vector<double>& v) {
        return double(std::count_if(v.begin(), v.end(), [threshold](double x) { return x >= threshold; })) / double(v.size());
    };
    const auto percentile = [](std::vector<double> v, double q) {
        std::sort(v.begin(), v.end());
        return v[std::size_t(q * double(v.size() - 1))];
    };
    std::cout << "light correlation, 2000 draws: following p01 " << percentile(following, 0.01) << " min "
              << percentile(following, 0) << "; drift only p95 " << percentile(drift_only, 0.95) << " p99 "
              << percentile(drift_only, 0.99) << "; other colours p95 " << percentile(other_colours, 0.95) << " p99 "
              << percentile(other_colours, 0.99) << "; at threshold " << threshold << ": following accepted "
              << share_at_or_above(following) << ", drift only " << share_at_or_above(drift_only) << ", other colours "
              << share_at_or_above(other_colours) << "\n";
    EXPECT_GE(share_at_or_above(following), 0.99);
    EXPECT_LE(share_at_or_above(drift_only), 0.05);
    EXPECT_LE(share_at_or_above(other_colours), 0.05);
}

TEST(PlanarMotion, ResidualOfAHomographyIsZeroAndOfAHeadIsNot) {
    const auto frontal = fp::project_synthetic_head(0, 0, 60, {300, 200});
    std::vector<cv::Point2f> warped;
    cv::perspectiveTransform(frontal, warped, cv::Mat(cv::Matx33d(0.9, 0.05, 10, -0.03, 1.1, 4, 0.0005, -0.0002, 1)));
    EXPECT_LT(fp::planar_residual(frontal, warped), 1e-4);
    EXPECT_GT(fp::planar_residual(frontal, fp::project_synthetic_head(-20, 0, 60, {300, 200})), 0.02);
    expect_error_code(ErrorCode::invalid_argument, [&] { fp::planar_residual(frontal, {frontal[0]}); });
}

TEST(LightResponse, CorrelationAtTheBestLag) {
    std::vector<fp::Chromaticity> emitted, response;
    for (int i = 0; i < 30; ++i) emitted.push_back({0.3 + 0.05 * std::sin(i * 0.7), 0.3 + 0.05 * std::cos(i * 0.4)});
    for (int i = 0; i < 30; ++i) response.push_back(emitted[std::size_t(std::max(0, i - 2))]);
    int lag = -1;
    EXPECT_GT(fp::light_correlation(response, emitted, 2, &lag), 0.99);
    EXPECT_EQ(lag, 2);
    EXPECT_LT(fp::light_correlation(response, emitted, 0), 0.9);
    EXPECT_EQ(fp::light_correlation(std::vector<fp::Chromaticity>(30, {0.3, 0.3}), emitted, 2), 0) << "a constant response";
}

// ---- frames measured from photos (the real models) ---------------------------------------------------

class SessionImages : public fptest::ModelTest<SessionImages> {
public:
    static void set_up_suite() {
        engine_ = &fptest::shared_engine();
        checker_ = fp::LivenessChecker::create(
            *fptest::shared_models(),
            fp::LivenessCalibration::from_json(R"({"format": "faceproof-liveness-calibration/1", "threshold": 0.5})"));
        // One face of a sample photo, cropped with a margin so it is the only face of the frame.
        for (int n : {3, 2}) {
            const cv::Mat photo = fptest::load_sample(n);
            for (const auto& face : engine_->detect(photo)) {
                const cv::Mat frame = framed(photo, face.box, 0.9);
                const fp::FaceContext context = engine_->context(frame);
                if (measure(frame, 0).unusable_reason.empty() && context.has_face()) {
                    (n == 3 ? person_a_ : person_b_) = {photo, face.box};
                    break;
                }
            }
        }
        if (person_a_.photo.empty() || person_b_.photo.empty())
            throw std::runtime_error("no single usable face found in sample3.jpg / sample2.jpg");
    }
    static void TearDownTestSuite() { checker_.reset(); }

protected:
    struct Source {
        cv::Mat photo;
        cv::Rect2f box;
    };
    // The face with `margin` x its size on each side, scaled to 400 px wide: one camera frame.
    static cv::Mat framed(const cv::Mat& photo, const cv::Rect2f& box, double margin) {
        cv::Mat frame = fptest::crop(photo, fptest::grow_box(box, margin, photo.size()));
        cv::resize(frame, frame, cv::Size(400, int(std::lround(400.0 * frame.rows / frame.cols))), 0, 0, cv::INTER_AREA);
        return frame;
    }
    // Sensor-like noise (sigma 3 grey levels) and a JPEG round trip, different for every seed.
    static cv::Mat camera(const cv::Mat& frame, int seed) {
        cv::Mat noise(frame.size(), CV_32FC3), noisy;
        cv::RNG rng(std::uint64_t(seed) * 7919 + 17);
        rng.fill(noise, cv::RNG::NORMAL, 0, 3);
        frame.convertTo(noisy, CV_32FC3);
        noisy += noise;
        noisy.convertTo(noisy, CV_8UC3);
        return fptest::jpeg_round_trip(noisy, 90);
    }
    static fp::SessionFrame measure(const cv::Mat& frame, double time_ms, int color_index = -1) {
        return fp::measure_session_frame(engine_->context(frame), time_ms, color_index, *checker_);
    }

    static inline fp::Engine* engine_ = nullptr;
    static inline std::unique_ptr<fp::LivenessChecker> checker_;
    static inline Source person_a_, person_b_;
};

TEST_F(SessionImages, MeasuresEveryFieldOfAUsableFace) {
    const cv::Mat frame = camera(framed(person_a_.photo, person_a_.box, 0.9), 1);
    const auto f = measure(frame, 40, 2);
    EXPECT_EQ(f.time_ms, 40);
    EXPECT_EQ(f.color_index, 2);
    EXPECT_EQ(f.face_count, 1);
    EXPECT_EQ(f.unusable_reason, "");
    EXPECT_TRUE(f.pose_measured);
    EXPECT_TRUE(f.eyes_measured);
    ASSERT_EQ(f.landmarks.size(), 68u);
    EXPECT_GT(f.inter_eye_px, 20);
    EXPECT_TRUE(f.face_template.has_value());
    EXPECT_GE(f.passive_score, 0.0);
    EXPECT_LE(f.passive_score, 1.0);
    EXPECT_GT(f.face_luma, 40);
    EXPECT_GT(f.sharpness, 8);
    EXPECT_GT(f.box.area(), 0);
    EXPECT_EQ(f.thumbnail.size(), cv::Size(32, 32));
    EXPECT_EQ(f.thumbnail.type(), CV_32F);
    EXPECT_EQ(measure(frame, 0).pixel_hash, f.pixel_hash) << "same pixels, same hash";
    EXPECT_NE(measure(camera(framed(person_a_.photo, person_a_.box, 0.9), 2), 0).pixel_hash, f.pixel_hash);
}

TEST_F(SessionImages, DarkBrightAndBlurredFramesSayWhy) {
    const cv::Mat frame = framed(person_a_.photo, person_a_.box, 0.9);
    cv::Mat dark, bright, blurred;
    frame.convertTo(dark, -1, 0.12, 0);
    frame.convertTo(bright, -1, 4.0, 60);
    cv::GaussianBlur(frame, blurred, cv::Size(), 6);
    EXPECT_EQ(measure(dark, 0).unusable_reason, "too_dark");
    EXPECT_EQ(measure(bright, 0).unusable_reason, "too_bright");
    EXPECT_EQ(measure(blurred, 0).unusable_reason, "blurred");
    EXPECT_EQ(measure(fptest::gradient_image(400, 300, true), 0).unusable_reason, "no_face");
    cv::Mat black(300, 400, CV_8UC3, cv::Scalar(8, 8, 8));
    EXPECT_EQ(measure(black, 0).unusable_reason, "too_dark");
    cv::Mat white(300, 400, CV_8UC3, cv::Scalar(252, 252, 252));
    EXPECT_EQ(measure(white, 0).unusable_reason, "too_bright");

    // In a capture: retry, not spoof.
    std::vector<fp::SessionFrame> frames;
    for (int i = 0; i < 12; ++i) frames.push_back(measure(camera(i == 5 ? dark : frame, i), 100.0 * i));
    const auto d = fp::decide_session(challenge_of({ChallengeAction::move_closer}), frames);
    EXPECT_EQ(d.decision, "retry") << describe(d);
    EXPECT_TRUE(has_reason(d, "TOO_DARK"));
}

TEST_F(SessionImages, MovingCloserIsSeenAndAFrozenFeedIsNot) {
    // Crops with less margin at the same frame size: the face grows as a person moving closer.
    const auto c = challenge_of({ChallengeAction::move_closer});
    std::vector<fp::SessionFrame> frames;
    int i = 0;
    for (double margin : {0.9, 0.9, 0.9, 0.7, 0.45, 0.45, 0.45, 0.7, 0.9, 0.9, 0.9}) {
        frames.push_back(measure(camera(framed(person_a_.photo, person_a_.box, margin), i), 100.0 * i));
        ++i;
    }
    fp::SessionDecisionOptions rules;
    rules.passive_threshold = 0;     // the passive model is tested on its own; these are photos
    rules.frontal_max_yaw_deg = 25;  // the photographed face is turned ~19 degrees (measured)
    auto d = fp::decide_session(c, frames, rules);
    EXPECT_EQ(d.decision, "live") << describe(d);
    EXPECT_GE(d.steps[0].measured, 1.3) << describe(d);

    std::vector<fp::SessionFrame> frozen;
    const cv::Mat still = camera(framed(person_a_.photo, person_a_.box, 0.9), 0);
    for (int k = 0; k < 11; ++k) frozen.push_back(measure(still, 100.0 * k));
    d = fp::decide_session(c, frozen, rules);
    EXPECT_TRUE(has_reason(d, "FROZEN_FEED")) << describe(d);
    EXPECT_TRUE(has_reason(d, "STEP_MISSING")) << describe(d);
    EXPECT_EQ(d.decision, "not_live");
}

TEST_F(SessionImages, AClipSplicedFromTwoPeopleIsRefused) {
    std::vector<fp::SessionFrame> frames;
    for (int i = 0; i < 12; ++i) {
        const Source& who = i < 6 ? person_a_ : person_b_;
        frames.push_back(measure(camera(framed(who.photo, who.box, 0.9), i), 100.0 * i));
    }
    const auto d = fp::decide_session(challenge_of({ChallengeAction::blink}), frames);
    EXPECT_TRUE(has_reason(d, "FACE_CHANGED")) << describe(d);
    EXPECT_TRUE(has_reason(d, "SPLICED")) << describe(d);
    EXPECT_LT(d.min_same_face_similarity, 0.5);
    EXPECT_EQ(d.decision, "not_live");
}

// The screen's colour lights the face (a 10 % share of its light, multiplicative per channel, on the
// face only), the camera adds noise: the light rule accepts it; the same frames without the cast,
// or with the cast of another sequence, are refused.
TEST_F(SessionImages, LightCastOnTheFaceIsFollowed) {
    const auto c = fp::LivenessChallenge::draw(fp::ChallengeMode::motion_light);
    auto other = fp::LivenessChallenge::draw(fp::ChallengeMode::motion_light);
    const cv::Mat frame = framed(person_a_.photo, person_a_.box, 0.9);
    const fp::FaceContext context = engine_->context(frame);
    ASSERT_TRUE(context.has_face());
    cv::Mat face_mask = cv::Mat::zeros(frame.size(), CV_32F);
    const cv::Rect2f b = context.face().box;
    cv::ellipse(face_mask, cv::Point2f(b.x + b.width / 2, b.y + b.height / 2), cv::Size2f(b.width * 0.6f, b.height * 0.7f), 0, 0,
                360, cv::Scalar(1), -1);
    cv::GaussianBlur(face_mask, face_mask, cv::Size(), b.width * 0.08);
    const auto lit = [&](const std::array<int, 3>& rgb) {
        const double mean = (rgb[0] + rgb[1] + rgb[2]) / 3.0;
        cv::Mat out;
        frame.convertTo(out, CV_32FC3);
        std::vector<cv::Mat> channels;
        cv::split(out, channels);
        for (int k = 0; k < 3; ++k) {  // BGR planes; rgb[2 - k] is this plane's screen value
            const double gain = 0.10 * (rgb[std::size_t(2 - k)] / mean - 1);
            channels[std::size_t(k)] = channels[std::size_t(k)].mul(1 + gain * face_mask);
        }
        cv::merge(channels, out);
        out.convertTo(out, CV_8UC3);
        return out;
    };
    const int n = 24;
    std::vector<fp::SessionFrame> following, unlit, replayed;
    for (int i = 0; i < n; ++i) {
        const int shown = i * int(c.colors.size()) / n;
        const int reflected = std::max(0, i - 1) * int(c.colors.size()) / n;  // one frame of camera lag
        const int reflected_other = std::max(0, i - 1) * int(other.colors.size()) / n;
        following.push_back(measure(camera(lit(c.colors[std::size_t(reflected)].rgb), i), 100.0 * i, shown));
        unlit.push_back(measure(camera(frame, i), 100.0 * i, shown));
        replayed.push_back(measure(camera(lit(other.colors[std::size_t(reflected_other)].rgb), i), 100.0 * i, shown));
    }
    double spread = 0;
    for (const auto& f : following) spread = std::max(spread, std::fabs(fp::chromaticity(f.face_rgb)[0] - fp::chromaticity(following[0].face_rgb)[0]));
    const auto d_follow = fp::decide_session(c, following);
    const auto d_unlit = fp::decide_session(c, unlit);
    const auto d_replay = fp::decide_session(c, replayed);
    std::cout << "light: face chromaticity r range under the cast " << spread << "; correlation following "
              << d_follow.light_correlation << " (lag " << d_follow.light_lag_frames << "), no cast " << d_unlit.light_correlation
              << ", another sequence " << d_replay.light_correlation << "\n";
    EXPECT_FALSE(has_reason(d_follow, "LIGHT_NOT_FOLLOWED")) << describe(d_follow);
    EXPECT_FALSE(has_reason(d_follow, "LIGHT_MISSING"));
    EXPECT_GE(d_follow.light_correlation, d_follow.thresholds.light_min_correlation);
    EXPECT_TRUE(has_reason(d_unlit, "LIGHT_NOT_FOLLOWED")) << describe(d_unlit);
    // A response to another random sequence: refused, unless that sequence happens to run alike.
    EXPECT_TRUE(has_reason(d_replay, "LIGHT_NOT_FOLLOWED") || d_replay.light_correlation < d_follow.light_correlation);
}

// Calibration of planar_max_residual on real head turns (LFW photos of one person in different
// poses): the threshold must not refuse real turns. Measured (200 people, 262 frontal/turned pairs
// with |delta yaw| >= 15 or |delta pitch| >= 10): residual min 0.028, 5th percentile 0.057, median
// 0.112. Photos tilted by a homography (samples, plane turned 20-35 deg) gave a median of 0.104 and
// only 4 of 86 below 0.02: the 64x64 landmarker's own error under perspective is as large as a
// head's parallax, so this rule refuses landmark tracks that move exactly as a plane (an injected
// or re-rendered flat face), not a hand-held print in general.
TEST_F(SessionImages, RealHeadTurnsInLfwAreNotFlat) {
    const auto dir = fptest::lfw_dev_dir();
    if (!fptest::fs::is_directory(dir)) GTEST_SKIP() << "../shared/data/lfw-dev absent";
    std::vector<fptest::fs::path> people;
    for (const auto& p : fptest::fs::directory_iterator(dir))
        if (p.is_directory()) people.push_back(p.path());
    std::sort(people.begin(), people.end());
    std::vector<double> residuals;
    for (const auto& person : people) {
        if (residuals.size() >= 40) break;
        std::vector<fptest::fs::path> files;
        for (const auto& f : fptest::fs::directory_iterator(person)) files.push_back(f.path());
        if (files.size() < 4) continue;
        std::sort(files.begin(), files.end());
        files.resize(std::min<std::size_t>(files.size(), 8));
        std::vector<fp::SessionFrame> frames;
        for (const auto& f : files) {
            const auto s = measure(cv::imread(f.string()), 0);
            if (s.landmarks.size() == 68 && s.pose_measured) frames.push_back(s);
        }
        const fp::SessionFrame* frontal = nullptr;
        for (const auto& f : frames)
            if (std::fabs(f.yaw_deg) < 6 && (!frontal || std::fabs(f.yaw_deg) < std::fabs(frontal->yaw_deg))) frontal = &f;
        if (!frontal) continue;
        for (const auto& f : frames)
            if (std::fabs(f.yaw_deg - frontal->yaw_deg) >= fp::kTurnMinYawDeg ||
                std::fabs(f.pitch_deg - frontal->pitch_deg) >= fp::kLookMinPitchDeg)
                residuals.push_back(fp::planar_residual(frontal->landmarks, f.landmarks));
    }
    ASSERT_GE(residuals.size(), 20u);
    const double threshold = fp::SessionDecisionOptions{}.planar_max_residual;
    const auto flat = std::count_if(residuals.begin(), residuals.end(), [threshold](double r) { return r < threshold; });
    std::sort(residuals.begin(), residuals.end());
    std::cout << "planar residual of " << residuals.size() << " real turns: min " << residuals.front() << ", median "
              << residuals[residuals.size() / 2] << "; below " << threshold << ": " << flat << "\n";
    EXPECT_LE(double(flat) / double(residuals.size()), 0.02);
}

}  // namespace
