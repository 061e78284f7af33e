#include "report/proofing_json.hpp"

#include "report/document_json.hpp"
#include "report/liveness_json.hpp"
#include "report/quality_json.hpp"
#include "report/json_report.hpp"

namespace faceproof {

nlohmann::json probe_json(const ProbeAssessment& probe) {
    nlohmann::json frames = nlohmann::json::array();
    for (std::size_t i = 0; i < probe.frames.size(); ++i) {
        nlohmann::json f = context_json(probe.frames[i]);
        f["quality"] = quality_json(probe.quality[i]);
        frames.push_back(f);
    }
    return {{"frames", frames}, {"best_frame", probe.best_frame}, {"liveness", liveness_json(probe.liveness)}};
}

nlohmann::json proofing_json(const ProofingResult& r) {
    nlohmann::json j = verify_json(r.match);
    j["face_match"] = r.match.match;
    j["match"] = r.accepted;
    j["accepted"] = r.accepted;
    j["reasons"] = r.reasons;
    j["checks_required"] = r.checks_required;
    j["probe_frame"] = r.probe.best_frame;
    nlohmann::json frames = nlohmann::json::array();
    for (const auto& q : r.probe.quality) frames.push_back(quality_json(q));
    j["quality"] = {{"reference", quality_json(r.reference_quality)},
                    {"probe", quality_json(r.probe.quality[r.probe.best_frame])},
                    {"probe_frames", frames}};
    j["liveness"] = liveness_json(r.probe.liveness);
    if (r.document) j["document"] = document_check_json(*r.document);
    if (r.card)
        j["card"] = {{"similarity", r.card->similarity}, {"threshold", r.card->threshold}, {"match", r.card->match},
                     {"face", face_json(r.card->card.face(), false)}};
    return j;
}

nlohmann::json proofing_audit_details(const ProofingResult& r) {
    return {{"face_match", r.match.match},
            {"similarity", round_to(r.match.similarity, 4)},
            {"threshold", r.match.threshold},
            {"fmr", r.match.fmr},
            {"model_id", r.match.probe.face_template().model_id},
            {"liveness_score", round_to(r.probe.liveness.score, 4)},
            {"liveness_threshold", r.probe.liveness.threshold},
            {"probe_frames", r.probe.liveness.frame_scores.size()},
            {"checks_required", r.checks_required},
            {"reasons", r.reasons},
            // No document number, name or portrait: the audit log holds no personal data in clear.
            {"document", r.document ? document_audit_details(*r.document) : nlohmann::json(nullptr)},
            {"card_similarity", r.card ? nlohmann::json(round_to(r.card->similarity, 4)) : nlohmann::json(nullptr)}};
}

}  // namespace faceproof
