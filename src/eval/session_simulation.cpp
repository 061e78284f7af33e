#include "eval/session_simulation.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "faceproof/error.hpp"
#include "liveness/planar_motion.hpp"

namespace faceproof {

namespace {

// 68 landmark positions of a rough 3D head (x right, y down, z towards the camera), unit = inter-eye
// distance: a curved jaw and brows, a nose that sticks out, eyes and mouth.
std::vector<cv::Point3d> head_model() {
    std::vector<cv::Point3d> p(68);
    for (int i = 0; i <= 16; ++i) {  // jaw: half ellipse from ear to ear, curving back
        const double a = CV_PI * (1.0 - i / 16.0);
        p[std::size_t(i)] = {1.1 * std::cos(a), 0.2 + 1.1 * std::sin(a) * 0.95, -0.7 * (1 - std::sin(a))};
    }
    for (int i = 17; i <= 26; ++i) {  // brows
        const double x = -0.9 + (i - 17) * 0.2;
        p[std::size_t(i)] = {x, -0.55 + 0.15 * x * x, 0.15 - 0.2 * x * x};
    }
    for (int i = 27; i <= 30; ++i) p[std::size_t(i)] = {0, -0.35 + (i - 27) * 0.2, 0.15 + (i - 27) * 0.15};  // bridge to tip
    for (int i = 31; i <= 35; ++i) p[std::size_t(i)] = {-0.2 + (i - 31) * 0.1, 0.35, 0.35 - 0.2 * std::fabs(i - 33) / 2};
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

// The web page's capture plan (web/app.js buildPlan, FRAME_MS, MAX_FRAMES): a person follows it.
constexpr double kBaselineMs = 1000, kMoveMs = 1400, kBlinkMs = 1400, kBackMs = 1100, kMinHoldMs = 300;
constexpr double kFrameMs = 100;
constexpr int kPageMaxFrames = 120;

double uniform(std::mt19937_64& rng, double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }
double gauss(std::mt19937_64& rng, double sigma) { return sigma > 0 ? std::normal_distribution<double>(0, sigma)(rng) : 0.0; }

double smoothstep(double x) {
    x = std::clamp(x, 0.0, 1.0);
    return x * x * (3 - 2 * x);
}

// One asked head movement: rises from `start` to full at `reached`, falls from `released` to none at `rested`.
struct PlannedMovement {
    double start = 0, reached = 0, released = 0, rested = 0;
    double yaw = 0, pitch = 0, scale = 1;  // at full
    double weight_at(double t) const {
        if (t <= start || t >= rested) return 0;
        if (t < reached) return smoothstep((t - start) / (reached - start));
        if (t <= released) return 1;
        return 1 - smoothstep((t - released) / (rested - released));
    }
};

struct Interval {
    double from = 0, to = 0;
    bool contains(double t) const { return t >= from && t < to; }
};

std::array<double, 3> lit_face(const std::array<int, 3>& screen, double share) {
    // The screen adds `share` of the face's light in its own colour: per channel, a gain around 1
    // (as SessionImages.LightCastOnTheFaceIsFollowed lights a photo).
    const double mean = (screen[0] + screen[1] + screen[2]) / 3.0;
    std::array<double, 3> rgb{};
    for (std::size_t k = 0; k < 3; ++k)
        rgb[k] = kSimulatedSkinRgb[k] * (1 + share * (mean > 0 ? screen[k] / mean - 1 : 0.0));
    return rgb;
}


}  // namespace

std::vector<cv::Point2f> project_synthetic_head(double yaw_deg, double pitch_deg, double inter_eye_px, cv::Point2f centre) {
    if (!std::isfinite(yaw_deg) || !std::isfinite(pitch_deg) || !(inter_eye_px > 0))
        throw Error(ErrorCode::invalid_argument, "project_synthetic_head: angles must be finite, inter_eye_px > 0");
    static const std::vector<cv::Point3d> model = head_model();
    const double y = -yaw_deg * CV_PI / 180, p = pitch_deg * CV_PI / 180;
    std::vector<cv::Point2f> out;
    out.reserve(model.size());
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

Template synthetic_person_template(int who, std::uint64_t frame, double noise) {
    if (who < 0 || who >= 64) throw Error(ErrorCode::invalid_argument, "synthetic_person_template: who must be in 0..63");
    std::mt19937_64 rng(std::uint64_t(who) * 1000003u + frame);
    std::normal_distribution<double> jitter(0, noise);
    Template t;
    t.model_id = "synthetic";
    t.model_sha256 = "00";
    t.values.assign(64, 0);
    t.values[std::size_t(who)] = 1;
    double norm = 0;
    for (auto& v : t.values) {
        v = float(v + jitter(rng));
        norm += double(v) * v;
    }
    for (auto& v : t.values) v = float(v / std::sqrt(norm));
    return t;
}

SessionFrame synthetic_session_frame(const SimulatedPose& pose, int frame_index, double time_ms, int who, std::uint64_t seed) {
    SessionFrame f;
    f.time_ms = time_ms;
    f.face_count = 1;
    f.yaw_deg = pose.yaw_deg;
    f.pitch_deg = pose.pitch_deg;
    f.pose_measured = true;
    f.left_eye_open = f.right_eye_open = pose.eyes_closed ? 0.05 : 0.95;
    f.eyes_measured = true;
    f.landmarks = project_synthetic_head(pose.yaw_deg, pose.pitch_deg, kSimulatedInterEyePx * pose.scale, {320, 240});
    f.box = cv::boundingRect(f.landmarks);
    f.inter_eye_px = eye_centre_distance(f.landmarks);
    f.passive_score = 0.9;
    f.face_template = synthetic_person_template(who, std::uint64_t(frame_index));
    f.face_rgb = kSimulatedSkinRgb;
    f.background_rgb = kSimulatedBackgroundRgb;
    f.face_luma = 140;
    f.pixel_hash = 0x9e3779b97f4a7c15ull * (seed * 1000003u + std::uint64_t(frame_index) + 1);
    f.thumbnail = cv::Mat(32, 32, CV_32F);
    cv::RNG thumbnail_rng(0x5eed0000ull + seed * 1000003u + std::uint64_t(frame_index));
    thumbnail_rng.fill(f.thumbnail, cv::RNG::UNIFORM, 0, 255);  // a different image each frame
    f.sharpness = 100;
    return f;
}

std::vector<SessionFrame> simulate_honest_capture(const LivenessChallenge& challenge, std::mt19937_64& rng,
                                                  const SimulationOptions& o) {
    if (challenge.steps.empty()) throw Error(ErrorCode::invalid_argument, "simulate_honest_capture: a challenge without steps");
    if (challenge.mode == ChallengeMode::motion_light && challenge.colors.empty())
        throw Error(ErrorCode::invalid_argument, "simulate_honest_capture: motion_light without colours");

    // The plan and what the person does in each phase.
    std::vector<PlannedMovement> movements;
    std::vector<Interval> asked_blinks, blink_phases;
    double at = kBaselineMs;
    for (const ChallengeStep& step : challenge.steps) {
        const double hold = std::max(kMinHoldMs, double(std::min(step.hold_ms, 5000)));
        if (step.action == ChallengeAction::blink) {
            const double phase = std::max(kBlinkMs, hold);
            const double start = at + uniform(rng, 250, 700);
            asked_blinks.push_back({start, start + uniform(rng, 120, 300)});
            blink_phases.push_back({at, at + phase + kBackMs});
            at += phase + kBackMs;
            continue;
        }
        PlannedMovement m;
        m.start = at + uniform(rng, 250, 700);         // reaction to the prompt
        m.reached = m.start + uniform(rng, 300, 600);  // within the 1.4 s move phase
        const double back = at + kMoveMs + hold;
        m.released = back + uniform(rng, 150, 400);    // reaction to "back to frontal"
        m.rested = m.released + uniform(rng, 300, 550);
        switch (step.action) {  // the asked axis, and some cross-talk on the others
            case ChallengeAction::turn_left: m.yaw = -uniform(rng, 18, 32); break;  // the subject's left: yaw falls
            case ChallengeAction::turn_right: m.yaw = uniform(rng, 18, 32); break;
            case ChallengeAction::look_up: m.pitch = uniform(rng, 12, 20); break;
            case ChallengeAction::look_down: m.pitch = -uniform(rng, 12, 20); break;
            case ChallengeAction::move_closer: m.scale = uniform(rng, 1.38, 1.65); break;
            case ChallengeAction::blink: break;
        }
        const bool turn = step.action == ChallengeAction::turn_left || step.action == ChallengeAction::turn_right;
        const bool nod = step.action == ChallengeAction::look_up || step.action == ChallengeAction::look_down;
        if (!turn) m.yaw = gauss(rng, 2);
        if (!nod) m.pitch = gauss(rng, 2);
        movements.push_back(m);
        at = back + kBackMs;
    }
    const double total_ms = at;

    // Spontaneous blinks: a Poisson process, kept out of asked blinks' phases (there they would
    // merge with the asked blink into one, which is what a person does anyway).
    std::vector<Interval> spontaneous;
    if (o.spontaneous_blinks_per_minute > 0) {
        std::exponential_distribution<double> gap(o.spontaneous_blinks_per_minute / 60000.0);
        for (double t = gap(rng); t < total_ms; t += gap(rng)) {
            const Interval b{t, t + uniform(rng, 100, 250)};
            const bool in_asked_phase = std::any_of(blink_phases.begin(), blink_phases.end(), [&b](const Interval& p) {
                return b.to > p.from && b.from < p.to;
            });
            if (!in_asked_phase) spontaneous.push_back(b);
        }
    }

    // The person at rest: near frontal, swaying slowly.
    const double rest_yaw = uniform(rng, -6, 6), rest_pitch = uniform(rng, -6, 6);
    const double sway_yaw = uniform(rng, 0.5, 1.5), sway_pitch = uniform(rng, 0.3, 1.0);
    const double sway_period_ms = uniform(rng, 3000, 6000), sway_phase = uniform(rng, 0, 2 * CV_PI);
    const double centre_x = 320 + uniform(rng, -40, 40), centre_y = 240 + uniform(rng, -30, 30);

    // Frame times: every max(100 ms, plan / 119), with jitter (web/app.js).
    const double interval = std::max(kFrameMs, std::ceil(total_ms / (kPageMaxFrames - 1)));
    std::vector<double> times;
    for (double t = 0; t < total_ms && int(times.size()) < kPageMaxFrames; t += interval)
        times.push_back(times.empty() ? 0.0 : std::max(times.back() + 1, t + gauss(rng, o.frame_jitter_ms)));

    const bool light = challenge.mode == ChallengeMode::motion_light;
    const int light_lag = std::uniform_int_distribution<int>(0, 2)(rng);
    const double drift_step = o.light_drift_rgb * std::sqrt(1 - (1 - o.light_drift_pull) * (1 - o.light_drift_pull));
    std::array<double, 3> drift{};
    for (auto& d : drift) d = gauss(rng, o.light_drift_rgb);
    const std::uint64_t capture_seed = rng();

    std::vector<SessionFrame> frames;
    std::vector<int> shown;  // colour index on screen per frame
    for (std::size_t i = 0; i < times.size(); ++i) {
        const double t = times[i];
        SimulatedPose pose;
        pose.yaw_deg = rest_yaw + sway_yaw * std::sin(2 * CV_PI * t / sway_period_ms + sway_phase);
        pose.pitch_deg = rest_pitch + sway_pitch * std::sin(2 * CV_PI * t / (1.3 * sway_period_ms) + 2 * sway_phase);
        for (const PlannedMovement& m : movements) {
            const double w = m.weight_at(t);
            pose.yaw_deg += w * m.yaw;
            pose.pitch_deg += w * m.pitch;
            pose.scale *= 1 + w * (m.scale - 1);
        }
        const auto closed_at = [t](const Interval& b) { return b.contains(t); };
        pose.eyes_closed = std::any_of(asked_blinks.begin(), asked_blinks.end(), closed_at) ||
                           std::any_of(spontaneous.begin(), spontaneous.end(), closed_at);

        // The true head, then what the estimators read of it.
        SessionFrame f = synthetic_session_frame(pose, int(i), t, o.person, capture_seed);
        f.landmarks = project_synthetic_head(pose.yaw_deg, pose.pitch_deg,
                                             kSimulatedInterEyePx * pose.scale * (1 + gauss(rng, o.scale_noise)),
                                             {float(centre_x), float(centre_y)});
        for (auto& p : f.landmarks) p += cv::Point2f(float(gauss(rng, o.landmark_noise_px)), float(gauss(rng, o.landmark_noise_px)));
        f.box = cv::boundingRect(f.landmarks);
        f.inter_eye_px = eye_centre_distance(f.landmarks);
        f.yaw_deg = pose.yaw_deg + gauss(rng, o.yaw_noise_deg);
        f.pitch_deg = pose.pitch_deg + gauss(rng, o.pitch_noise_deg);
        const double eyes = pose.eyes_closed ? 0.08 : 0.92;
        f.left_eye_open = std::clamp(eyes + gauss(rng, o.eye_open_noise), 0.0, 1.0);
        f.right_eye_open = std::clamp(eyes + gauss(rng, o.eye_open_noise), 0.0, 1.0);
        f.passive_score = std::clamp(o.passive_score + gauss(rng, o.passive_noise), 0.0, 1.0);
        if (!o.thumbnails) f.thumbnail.release();

        if (light) {
            shown.push_back(colour_on_screen_at(challenge.colors, t));
            f.color_index = shown.back();
            // The face reflects the colour captured light_lag frames earlier (camera and screen latency).
            const int source = shown[i >= std::size_t(light_lag) ? i - std::size_t(light_lag) : 0];
            const auto lit = lit_face(challenge.colors[std::size_t(source)].rgb, o.light_share);
            for (std::size_t k = 0; k < 3; ++k) {
                drift[k] = (1 - o.light_drift_pull) * drift[k] + gauss(rng, drift_step);
                f.face_rgb[k] = lit[k] + drift[k] + gauss(rng, o.light_noise_rgb);
                f.background_rgb[k] = kSimulatedBackgroundRgb[k] + gauss(rng, o.light_noise_rgb);
            }
        }
        f.face_luma = 0.299 * f.face_rgb[0] + 0.587 * f.face_rgb[1] + 0.114 * f.face_rgb[2];
        frames.push_back(std::move(f));
    }
    return frames;
}

// ---- the replay evaluation ------------------------------------------------------------------------

void ReplayTally::add(const ReplayTally& other) {
    captures += other.captures;
    own_live += other.own_live;
    for (const auto& item : other.own_reasons) own_reasons[item.first] += item.second;
    trials += other.trials;
    passed += other.passed;
    same_sequence += other.same_sequence;
    same_sequence_passed += other.same_sequence_passed;
    for (const auto& item : other.replay_reasons) replay_reasons[item.first] += item.second;
    decisions += other.decisions;
    decide_ms += other.decide_ms;
}

namespace {

bool same_actions(const LivenessChallenge& a, const LivenessChallenge& b) {
    return std::equal(a.steps.begin(), a.steps.end(), b.steps.begin(), b.steps.end(),
                      [](const ChallengeStep& x, const ChallengeStep& y) { return x.action == y.action; });
}

}  // namespace

CaptureReplay replay_capture(const LivenessChallenge& own, const std::vector<SessionFrame>& frames, int fresh_challenges,
                             const SessionDecisionOptions& options, ReplayTally& tally) {
    if (fresh_challenges < 0) throw Error(ErrorCode::invalid_argument, "replay_capture: fresh_challenges < 0");
    using Clock = std::chrono::steady_clock;
    CaptureReplay result;
    auto start = Clock::now();
    result.own = decide_session(own, frames, options);
    tally.decide_ms += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    ++tally.decisions;
    ++tally.captures;
    if (result.own.decision == "live") ++tally.own_live;
    for (const auto& reason : result.own.reasons) ++tally.own_reasons[reason];
    for (int i = 0; i < fresh_challenges; ++i) {
        const LivenessChallenge fresh = LivenessChallenge::draw(own.mode);
        start = Clock::now();
        const SessionDecision d = decide_session(fresh, frames, options);
        tally.decide_ms += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        ++tally.decisions;
        ++tally.trials;
        const bool live = d.decision == "live";
        result.passed += live;
        tally.passed += live;
        if (same_actions(fresh, own)) {
            ++tally.same_sequence;
            tally.same_sequence_passed += live;
        }
        for (const auto& reason : d.reasons) ++tally.replay_reasons[reason];
    }
    return result;
}

double motion_sequence_chance(int steps) {
    if (steps < 1) throw Error(ErrorCode::invalid_argument, "motion_sequence_chance: steps < 1");
    return 1.0 / (6.0 * std::pow(5.0, double(steps - 1)));
}

double binomial_upper_bound(std::size_t successes, std::size_t trials, double confidence) {
    if (trials == 0 || successes > trials || !(confidence > 0 && confidence < 1))
        throw Error(ErrorCode::invalid_argument, "binomial_upper_bound: needs trials > 0, successes <= trials, 0 < confidence < 1");
    if (successes == trials) return 1;
    const double alpha = 1 - confidence;
    const double n = double(trials);
    // P(X <= k | n, p), summed in log space (n may be in the hundreds of thousands).
    const auto cdf = [successes, n](double p) {
        double sum = 0;
        for (std::size_t i = 0; i <= successes; ++i) {
            const double k = double(i);
            sum += std::exp(std::lgamma(n + 1) - std::lgamma(k + 1) - std::lgamma(n - k + 1) + k * std::log(p) +
                            (n - k) * std::log1p(-p));
        }
        return sum;
    };
    double lo = double(successes) / n, hi = 1;  // the cdf falls as p rises
    for (int iteration = 0; iteration < 100; ++iteration) {
        const double mid = (lo + hi) / 2;
        if (cdf(mid) > alpha) lo = mid;
        else hi = mid;
    }
    return hi;
}

int colour_on_screen_at(const std::vector<ChallengeColor>& colors, double elapsed) {
    double cycle = 0;
    for (const auto& c : colors) cycle += std::max(1, c.ms);
    double t = std::fmod(elapsed, cycle);
    for (std::size_t i = 0; i < colors.size(); ++i) {
        t -= std::max(1, colors[i].ms);
        if (t < 0) return int(i);
    }
    return int(colors.size()) - 1;
}

}  // namespace faceproof
