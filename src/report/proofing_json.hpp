// JSON shape of an identity check, shared by `faceproof verify` and (next) the HTTP service:
// the verify_json keys ("match" is the final decision) plus "face_match", "accepted", "reasons",
// "checks_required", "probe_frame", "quality" {"reference", "probe", "probe_frames"}, "liveness" and,
// against a chip document, "document" (document_check_json).
#pragma once

#include <nlohmann/json.hpp>

#include "faceproof/proofing.hpp"

namespace faceproof {

nlohmann::json probe_json(const ProbeAssessment& probe);
nlohmann::json proofing_json(const ProofingResult& result);
// What the audit trail keeps of a decision: scores, thresholds, reasons, model id — no faces, no
// boxes, no templates.
nlohmann::json proofing_audit_details(const ProofingResult& result);

}  // namespace faceproof
