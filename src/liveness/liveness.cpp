// LivenessCalibration (calibration/liveness.json) and the checker: passive score per frame, median
// fusion, same-face check and — when per-frame attributes are given — the blink / head-turn challenge.
#include "faceproof/liveness.hpp"

#include <cmath>
#include <sstream>
#include <string_view>

#include <nlohmann/json.hpp>

#include "faceproof/error.hpp"
#include "util/input_file.hpp"
#include "util/text_file.hpp"
#include "liveness/challenge.hpp"
#include "liveness/passive_model.hpp"
#include "liveness_calibration_data.hpp"

namespace faceproof {
namespace {

[[noreturn]] void invalid(const std::string& why) {
    throw Error(ErrorCode::calibration_invalid, "liveness calibration: " + why);
}

class BurstChecker final : public LivenessChecker {
public:
    BurstChecker(const ModelSet& models, const LivenessCalibration& calibration)
        : model_(models), threshold_(calibration.threshold) {}

    double passive_score(const FaceContext& face) override { return model_.live_probability(face); }

    LivenessReport assess(const std::vector<FaceContext>& frames) override {
        // The challenge needs every frame's eye state and yaw; without them it is not assessed.
        std::vector<FrameAttributes> attributes;
        for (const auto& frame : frames) {
            const auto& pose = frame.head_pose();
            const auto& eyes = frame.eye_state();
            if (!pose.value || !eyes.value) break;
            attributes.push_back({eyes.value->left_open, eyes.value->right_open, pose.value->yaw_deg});
        }
        return judge(frames, frames.size() > 1 && attributes.size() == frames.size() ? &attributes : nullptr);
    }

    LivenessReport assess(const std::vector<FaceContext>& frames,
                          const std::vector<FrameAttributes>& attributes) override {
        if (attributes.size() != frames.size())
            throw Error(ErrorCode::invalid_argument, "liveness: one FrameAttributes per frame needed");
        return judge(frames, &attributes);
    }

private:
    LivenessReport judge(const std::vector<FaceContext>& frames, const std::vector<FrameAttributes>* attributes) {
        if (frames.empty()) throw Error(ErrorCode::invalid_argument, "liveness: no frames");
        std::vector<Template> templates;
        for (const auto& frame : frames) {
            if (!frame.has_face() || !frame.has_template())
                throw Error(ErrorCode::invalid_argument, "liveness: every frame needs a face and its template");
            templates.push_back(frame.face_template());
        }
        LivenessReport r;
        r.threshold = threshold_;
        for (const auto& frame : frames) r.frame_scores.push_back(passive_score(frame));
        // The median ignores a single lucky (or unlucky) frame of a burst.
        r.score = median_of(r.frame_scores);
        r.passive_live = r.score >= r.threshold;
        r.burst = frames.size() > 1;
        if (!r.passive_live) r.reasons.push_back("SPOOF_SUSPECTED");
        bool challenge_ok = true;
        if (r.burst) {
            if (attributes) {
                std::vector<double> left, right, yaw;
                for (const auto& a : *attributes) {
                    left.push_back(a.left_eye_open);
                    right.push_back(a.right_eye_open);
                    yaw.push_back(a.yaw_deg);
                }
                r.challenge = evaluate_challenge(left, right, yaw);
                challenge_ok = r.challenge.blink || r.challenge.head_turn;
                if (!challenge_ok) r.reasons.push_back("NO_CHALLENGE");
            }
            const auto [lowest, same] = same_face_check(templates);
            r.challenge.min_same_face_similarity = lowest;
            r.challenge.same_face = same;
            if (!same) r.reasons.push_back("FACE_CHANGED");
        }
        r.live = r.passive_live && challenge_ok && r.challenge.same_face;
        return r;
    }

    PassiveModel model_;
    double threshold_;
};

}  // namespace

LivenessCalibration LivenessCalibration::from_json(const std::string& text) {
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        invalid(std::string("not valid JSON: ") + e.what());
    }
    if (!doc.is_object() || !doc.contains("format") || doc["format"] != "faceproof-liveness-calibration/1")
        invalid("missing or unknown \"format\" (expected faceproof-liveness-calibration/1)");
    LivenessCalibration c;
    c.json = text;
    if (!doc.contains("threshold") || !doc["threshold"].is_number()) invalid("missing numeric \"threshold\"");
    c.threshold = doc["threshold"].get<double>();
    if (!(c.threshold >= 0.0 && c.threshold <= 1.0)) invalid("threshold outside [0, 1]");
    return c;
}

LivenessCalibration LivenessCalibration::load(const std::filesystem::path& file) {
    return from_json(read_text_file(file, "liveness calibration file", input_limit::calibration));
}

const LivenessCalibration& LivenessCalibration::shipped() {
    static const LivenessCalibration calibration = [] {
        if (std::string_view(detail::kShippedLivenessCalibrationJson).empty())
            invalid("this build ships no liveness calibration (calibration/liveness.json was absent); "
                    "pass --calibration FILE or run `faceproof eval pad --calibrate-out`");
        return from_json(detail::kShippedLivenessCalibrationJson);
    }();
    return calibration;
}

std::unique_ptr<LivenessChecker> LivenessChecker::create(const ModelSet& models, const LivenessCalibration& calibration) {
    return std::make_unique<BurstChecker>(models, calibration);
}

}  // namespace faceproof
