#include <algorithm>
#include <numeric>

#include "document/portrait.hpp"
#include "faceproof/error.hpp"
#include "faceproof/proofing.hpp"
#include "report/document_json.hpp"
#include "report/proofing_json.hpp"
#include "util/naming.hpp"

namespace faceproof {
namespace {

void add_reason(std::vector<std::string>& reasons, const std::string& code) {
    if (std::find(reasons.begin(), reasons.end(), code) == reasons.end()) reasons.push_back(code);
}

class PipelineIdentityVerifier final : public IdentityVerifier {
public:
    PipelineIdentityVerifier(std::shared_ptr<const ModelSet> models, const Calibration& calibration,
                             const LivenessCalibration& liveness_calibration)
        : engine_(Engine::create(models)), quality_(QualityAssessor::create()),
          liveness_(LivenessChecker::create(*models, liveness_calibration)), calibration_(calibration) {
        if (calibration_.model_id() != engine_->template_model_id())
            throw Error(ErrorCode::calibration_invalid, "calibration is for template model '" +
                                                            calibration_.model_id() + "', the engine makes '" +
                                                            engine_->template_model_id() + "'");
    }

    Engine& engine() override { return *engine_; }
    const QualityAssessor& quality() const override { return *quality_; }
    LivenessChecker& liveness() override { return *liveness_; }

    ProbeAssessment assess_probe(const std::vector<cv::Mat>& frames) override { return assess(frames, std::nullopt); }

    // The probe's frames, quality and liveness; a liveness decided elsewhere (a challenge session)
    // is taken as it is instead of running the passive model again.
    ProbeAssessment assess(const std::vector<cv::Mat>& frames, const std::optional<LivenessReport>& decided) {
        if (frames.empty()) throw Error(ErrorCode::invalid_argument, "no probe image");
        ProbeAssessment probe;
        for (std::size_t i = 0; i < frames.size(); ++i) {
            const std::string role = frames.size() == 1 ? "probe image" : "probe frame " + std::to_string(i + 1);
            probe.frames.push_back(naming(role, [&] { return engine_->analyze(frames[i]); }));
            probe.quality.push_back(quality_->assess(probe.frames.back(), QualityProfile::selfie));
        }
        probe.liveness = decided ? *decided : liveness_->assess(probe.frames);
        std::vector<double> quality(frames.size());
        for (std::size_t i = 0; i < frames.size(); ++i) quality[i] = mean_quality_score(probe.quality[i]);
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
        result.reference_quality = quality_->assess(result.match.reference, QualityProfile::document);
        result.probe = assess(frames, options.liveness_decided);
        result.match.probe = result.probe.frames[result.probe.best_frame];
        result.match.similarity =
            similarity(result.match.reference.face_template(), result.match.probe.face_template());
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

Capture analyse_capture(Engine& engine, const QualityAssessor& quality, std::span<const std::uint8_t> image_bytes,
                        QualityProfile profile, const ImageLimits& limits) {
    Capture c;
    const FaceContext face = engine.context(decode_image(image_bytes, limits));
    if (face.has_template()) c.face_template = face.face_template();
    c.faces = face.faces().size();
    c.quality = quality.assess(face, profile);
    c.encoded.assign(image_bytes.begin(), image_bytes.end());
    return c;
}

ProofingResult verify_document_holder(IdentityVerifier& verifier, DocumentCheck document,
                                      const std::vector<cv::Mat>& probe_frames, const ProofingOptions& options,
                                      const ImageLimits& portrait_limits) {
    const cv::Mat portrait = decode_portrait(document.portrait, portrait_limits);
    ProofingResult result = verifier.check(portrait, probe_frames, options);
    for (const auto& reason : document.reasons) add_reason(result.reasons, reason);
    if (document.status != DocumentStatus::valid && document.reasons.empty())
        add_reason(result.reasons, "DOCUMENT_" + std::string(to_string(document.status)));  // never expected
    result.accepted = result.reasons.empty();
    result.document = std::move(document);
    return result;
}

void compare_card(IdentityVerifier& verifier, ProofingResult& result, const cv::Mat& card_image) {
    CardComparison card{0, result.match.threshold, false,
                        naming("card image", [&] { return verifier.engine().analyze(card_image); })};
    card.similarity = similarity(card.card.face_template(), result.match.reference.face_template());
    card.match = card.similarity >= card.threshold;
    if (!card.match) add_reason(result.reasons, "CARD_PORTRAIT_MISMATCH");
    result.accepted = result.reasons.empty();
    result.card = std::move(card);
}

namespace {

// The document number as the registry's keyed pseudonym (null without a data key), never in clear.
nlohmann::json document_number_pseudonym(const Registry& registry, const std::string& tenant, const Mrz& mrz) {
    const auto pseudonym = registry.pseudonym(tenant, "document-number", mrz.issuing_state + ":" + mrz.document_number);
    return pseudonym ? nlohmann::json(*pseudonym) : nlohmann::json(nullptr);
}

}  // namespace

AuditEntry record_verification(Registry& registry, const std::string& actor, const std::string& tenant,
                               const std::string& subject, const ProofingResult& result) {
    nlohmann::json details = proofing_audit_details(result);
    if (result.document)
        details["document"]["document_number_pseudonym"] = document_number_pseudonym(registry, tenant, result.document->mrz);
    return registry.record(actor, tenant, "verify", subject, result.accepted ? "match" : "no_match", details);
}

AuditEntry record_document_check(Registry& registry, const std::string& actor, const std::string& tenant,
                                 const DocumentCheck& check) {
    nlohmann::json details = document_audit_details(check);
    details["document_number_pseudonym"] = document_number_pseudonym(registry, tenant, check.mrz);
    return registry.record(actor, tenant, "document_check", "", std::string(to_string(check.status)), details);
}

}  // namespace faceproof
