// Challenge liveness (issue 15): the challenge (draw, JSON), the session rules on measured frames —
// an honest synthetic capture passes, and one capture per rule breaks exactly that rule and is
// refused with its reason — and, with the real models, frames measured from photos (exposure,
// frozen and spliced feeds, a tilted flat photo, the light response) and the calibration figures.
#include <gtest/gtest.h>

#include <algorithm>
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

// ---- a synthetic head ----------------------------------------------------------------------------

// 68 landmark positions of a rough 3D head (x right, y down, z towards the camera), unit = inter-eye
// distance: a curved jaw and brows, a nose that sticks out, eyes and mouth.
std::vector<cv::Point3d> head_model() {
    std::vector<cv::Point3d> p(68);
    for (int i = 0; i <= 16; ++i) {  // jaw: half ellipse from ear to ear, curving back
        const double a = CV_PI * (1.0 - i / 16.0);
        p[i] = {1.1 * std::cos(a), 0.2 + 1.1 * std::sin(a) * 0.95, -0.7 * (1 - std::sin(a))};
    }
    for (int i = 17; i <= 26; ++i) {  // brows
        const double x = -0.9 + (i - 17) * 0.2;
        p[i] = {x, -0.55 + 0.15 * x * x, 0.15 - 0.2 * x * x};
    }
    for (int i = 27; i <= 30; ++i) p[i] = {0, -0.35 + (i - 27) * 0.2, 0.15 + (i - 27) * 0.15};  // bridge to tip
    for (int i = 31; i <= 35; ++i) p[i] = {-0.2 + (i - 31) * 0.1, 0.35, 0.35 - 0.2 * std::fabs(i - 33) / 2};
    const auto eye = [&p](int first, double cx) {
        for (int k = 0; k < 6; ++k) {
            const double a = CV_PI * k / 3;
            p[std::size_t(first + k)] = {cx + 0.2 * std::cos(a), -0.25 + 0.07 * std::sin(a), 0.05};
        }
    };
    eye(36, -0.5);
    eye(42, 0.5);
    for (int k = 0; k < 20; ++k) {  // mouth: outer 12 and inner 8 points on ellipses
        const bool outer = k < 12;
        const double a = 2 * CV_PI * (outer ? k / 12.0 : (k - 12) / 8.0);
        p[std::size_t(48 + k)] = {(outer ? 0.45 : 0.3) * std::cos(a), 0.75 + (outer ? 0.15 : 0.05) * std::sin(a), 0.1};
    }
    return p;
}

// The head seen by a camera: yaw (deg, > 0 towards the image's left edge, as HeadPose), pitch
// (> 0 up), inter-eye distance in px, centre; weak perspective.
std::vector<cv::Point2f> project_head(double yaw_deg, double pitch_deg, double inter_eye_px, cv::Point2f centre) {
    static const std::vector<cv::Point3d> model = head_model();
    const double y = -yaw_deg * CV_PI / 180, p = pitch_deg * CV_PI / 180;
    std::vector<cv::Point2f> out;
    for (const auto& m : model) {
        // yaw about the vertical axis: a positive HeadPose yaw moves the nose to the image's left
        const double x1 = m.x * std::cos(y) + m.z * std::sin(y);
        const double z1 = -m.x * std::sin(y) + m.z * std::cos(y);
        // pitch about the horizontal axis: looking up moves the nose up (y falls)
        const double y2 = m.y * std::cos(p) - z1 * std::sin(p);
        out.emplace_back(float(centre.x + inter_eye_px * x1), float(centre.y + inter_eye_px * y2));
    }
    return out;
}

fp::Template person(int who, int frame) {
    std::mt19937 rng(unsigned(1000 * who + frame));
    std::normal_distribution<float> noise(0, 0.02f);
    fp::Template t;
    t.model_id = "synthetic";
    t.model_sha256 = "00";
    t.values.assign(64, 0);
    t.values[std::size_t(who)] = 1;
    double norm = 0;
    for (auto& v : t.values) {
        v += noise(rng);
        norm += v * v;
    }
    for (auto& v : t.values) v = float(v / std::sqrt(norm));
    return t;
}

// One frame's pose as the estimators would read it.
struct Pose {
    double yaw = 0, pitch = 0, scale = 1;
    bool eyes_closed = false;
};

constexpr double kInterEye = 60;
const std::array<double, 3> kSkin = {180, 130, 110};
const std::array<double, 3> kWall = {120, 120, 125};

// A measured frame of an honest synthetic capture.
fp::SessionFrame frame_at(const Pose& pose, int index, double time_ms) {
    fp::SessionFrame f;
    f.time_ms = time_ms;
    f.face_count = 1;
    f.yaw_deg = pose.yaw;
    f.pitch_deg = pose.pitch;
    f.pose_measured = true;
    f.left_eye_open = f.right_eye_open = pose.eyes_closed ? 0.05 : 0.95;
    f.eyes_measured = true;
    f.landmarks = project_head(pose.yaw, pose.pitch, kInterEye * pose.scale, {320, 240});
    f.box = cv::boundingRect(f.landmarks);
    f.inter_eye_px = fp::eye_centre_distance(f.landmarks);
    f.passive_score = 0.9;
    f.face_template = person(0, index);
    f.face_rgb = kSkin;
    f.background_rgb = kWall;
    f.face_luma = 140;
    f.pixel_hash = 0x9e3779b97f4a7c15ull * std::uint64_t(index + 1);
    f.thumbnail = cv::Mat(32, 32, CV_32F);
    cv::randu(f.thumbnail, 0, 255);  // OpenCV's global RNG: a different image each frame
    f.sharpness = 100;
    return f;
}

// The poses of a person following the steps: 3 frontal frames, each movement built up, held 3
// frames and released, blinks of 2 frames, 2 frontal frames between steps and at the end.
std::vector<Pose> poses_for(const std::vector<ChallengeAction>& actions, double base_yaw = 0) {
    std::vector<Pose> poses(3, Pose{base_yaw, 0, 1, false});
    for (ChallengeAction a : actions) {
        Pose peak{base_yaw, 0, 1, false};
        switch (a) {
            case ChallengeAction::turn_left: peak.yaw = base_yaw - 22; break;  // subject's left: yaw falls
            case ChallengeAction::turn_right: peak.yaw = base_yaw + 22; break;
            case ChallengeAction::look_up: peak.pitch = 14; break;
            case ChallengeAction::look_down: peak.pitch = -14; break;
            case ChallengeAction::move_closer: peak.scale = 1.45; break;
            case ChallengeAction::blink: peak.eyes_closed = true; break;
        }
        if (a == ChallengeAction::blink) {
            poses.push_back(peak);
            poses.push_back(peak);
        } else {
            const Pose half{(peak.yaw + base_yaw) / 2, peak.pitch / 2, (peak.scale + 1) / 2, false};
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
        for (int k = 0; k < 3; ++k) frames[i].face_rgb[std::size_t(k)] = kSkin[std::size_t(k)] * (1 - strength) + strength * rgb[std::size_t(k)] * 0.7;
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
    for (auto& p : small) p.yaw = std::max(p.yaw, -12.0);  // 12 degrees: short of 15
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
    poses.erase(std::remove_if(poses.begin(), poses.end(), [&kept](const Pose& p) { return p.pitch == -14 && kept++ > 0; }),
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
    for (std::size_t i = 12; i < frames.size(); ++i) frames[i].face_template = person(1, int(i));
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

TEST(PlanarMotion, ResidualOfAHomographyIsZeroAndOfAHeadIsNot) {
    const auto frontal = project_head(0, 0, 60, {300, 200});
    std::vector<cv::Point2f> warped;
    cv::perspectiveTransform(frontal, warped, cv::Mat(cv::Matx33d(0.9, 0.05, 10, -0.03, 1.1, 4, 0.0005, -0.0002, 1)));
    EXPECT_LT(fp::planar_residual(frontal, warped), 1e-4);
    EXPECT_GT(fp::planar_residual(frontal, project_head(-20, 0, 60, {300, 200})), 0.02);
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

}  // namespace
