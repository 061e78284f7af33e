#include <algorithm>
#include <numeric>

#include "faceproof/error.hpp"
#include "faceproof/proofing.hpp"

namespace faceproof {
namespace {

// Errors name the image they concern, so a user knows which photo to retake.
template <class F>
auto naming(const std::string& role, F&& f) {
    try {
        return f();
    } catch (const Error& e) {
        throw Error(e.code(), role + ": " + e.what());
    }
}

double mean_score(const QualityReport& report) {
    double sum = 0;
    int n = 0;
    for (const auto& m : report.measures)
        if (m.assessed) {
            sum += m.score;
            ++n;
        }
    return n ? sum / n : 0;
}

void add_reason(std::vector<std::string>& reasons, const std::string& code) {
    if (std::find(reasons.begin(), reasons.end(), code) == reasons.end()) reasons.push_back(code);
}

class PipelineIdentityVerifier final : public IdentityVerifier {
public:
    PipelineIdentityVerifier(std::shared_ptr<const ModelSet> models, const Calibration& calibration,
                             const LivenessCalibration& liveness_calibration)
        : engine_(Engine::create(models)), quality_(QualityAssessor::create(*models)),
          liveness_(LivenessChecker::create(*models, liveness_calibration)), calibration_(calibration) {
        if (calibration_.model_id() != engine_->template_model_id())
            throw Error(ErrorCode::calibration_invalid, "calibration is for template model '" +
                                                            calibration_.model_id() + "', the engine makes '" +
                                                            engine_->template_model_id() + "'");
    }

    ProbeAssessment assess_probe(const std::vector<cv::Mat>& frames) override {
        if (frames.empty()) throw Error(ErrorCode::invalid_argument, "no probe image");
        ProbeAssessment probe;
        std::vector<Face> faces;
        std::vector<Template> templates;
        std::vector<FrameAttributes> attributes;
        for (std::size_t i = 0; i < frames.size(); ++i) {
            const std::string role = frames.size() == 1 ? "probe image" : "probe frame " + std::to_string(i + 1);
            probe.frames.push_back(naming(role, [&] { return engine_->analyze(frames[i]); }));
            faces.push_back(probe.frames.back().primary());
            templates.push_back(probe.frames.back().face_template);
            probe.quality.push_back(quality_->assess(frames[i], probe.frames.back().faces, QualityProfile::selfie));
            const QualityReport& q = probe.quality.back();
            if (q.yaw_deg && q.left_eye_open && q.right_eye_open)
                attributes.push_back({*q.left_eye_open, *q.right_eye_open, *q.yaw_deg});
        }
        // Without every frame's eye state and yaw the challenge cannot be judged: the 3-argument
        // form reports it as not assessed, and check() refuses such a burst (NO_CHALLENGE).
        probe.liveness = frames.size() > 1 && attributes.size() == frames.size()
                             ? liveness_->assess_burst(frames, faces, templates, attributes)
                             : liveness_->assess_burst(frames, faces, templates);
        std::vector<double> quality(frames.size());
        for (std::size_t i = 0; i < frames.size(); ++i) quality[i] = mean_score(probe.quality[i]);
        probe.best_frame = static_cast<int>(std::max_element(quality.begin(), quality.end()) - quality.begin());
        return probe;
    }

    ProofingResult check(const cv::Mat& reference, const std::vector<cv::Mat>& frames,
                         const ProofingOptions& options) override {
        ProofingResult result;
        result.checks_required = options.require_liveness;
        result.match.fmr = options.fmr;
        result.match.threshold = calibration_.threshold_for(options.fmr);
        result.match.reference = naming("reference image", [&] { return engine_->analyze(reference); });
        result.reference_quality =
            quality_->assess(reference, result.match.reference.faces, QualityProfile::document);
        result.probe = assess_probe(frames);
        result.match.probe = result.probe.frames[result.probe.best_frame];
        result.match.similarity = similarity(result.match.reference.face_template, result.match.probe.face_template);
        result.match.match = result.match.similarity >= result.match.threshold;

        const LivenessReport& liveness = result.probe.liveness;
        if (!result.match.match) add_reason(result.reasons, "NO_MATCH");
        if (options.require_liveness) {
            if (!result.probe.quality[result.probe.best_frame].pass) add_reason(result.reasons, "PROBE_QUALITY");
            for (const auto& reason : liveness.reasons) add_reason(result.reasons, reason);
            if (!liveness.live && liveness.reasons.empty()) add_reason(result.reasons, "SPOOF_SUSPECTED");
            if (liveness.burst && !liveness.challenge.assessed) add_reason(result.reasons, "NO_CHALLENGE");
        }
        result.accepted = result.reasons.empty();
        return result;
    }

private:
    std::unique_ptr<Engine> engine_;
    std::unique_ptr<QualityAssessor> quality_;
    std::unique_ptr<LivenessChecker> liveness_;
    const Calibration& calibration_;
};

}  // namespace

std::unique_ptr<IdentityVerifier> IdentityVerifier::create(std::shared_ptr<const ModelSet> models,
                                                           const Calibration& calibration,
                                                           const LivenessCalibration& liveness_calibration) {
    if (!models) throw Error(ErrorCode::invalid_argument, "IdentityVerifier::create: no models");
    return std::make_unique<PipelineIdentityVerifier>(std::move(models), calibration, liveness_calibration);
}

}  // namespace faceproof
