// faceproof — the identity check as a whole: is the live probe (one image or a burst of frames)
// the owner of the ID portrait, and is it a live person of usable quality? And the one place a
// capture's bytes become an analysed face (decode, context, quality) for the registry.
//
// One IdentityVerifier holds one set of networks (an Engine, which also runs head pose and eye
// state on first use, and the passive liveness model); a server worker holds one verifier.
//
// IdentityVerifier::assess_probe(probe_frames)
//   requires: probe_frames non-empty, in capture order.
//   ensures:  per frame: the face's context (Engine::analyze) and selfie-profile quality; liveness
//             of the capture (passive per frame; for a burst also the challenge and the same-face
//             check, on the contexts' eye state and yaw); best_frame = the frame of highest mean
//             quality score. Throws as Engine::analyze, naming the frame.
// IdentityVerifier::check(reference, probe_frames, options)
//   requires: probe_frames non-empty (several frames = a burst of one capture session).
//   ensures:  face match of the reference with the best-quality probe frame at options.fmr;
//             quality of the reference (document profile) and of every probe frame (selfie
//             profile); liveness of the probe (passive per frame; for a burst also the blink /
//             head-turn challenge and the same-face check). accepted == match && (checks not
//             required || (probe quality passes && live)); reasons lists the stable codes of what
//             failed ("NO_MATCH", "PROBE_QUALITY", "SPOOF_SUSPECTED", "NO_CHALLENGE",
//             "FACE_CHANGED"). Reference quality is reported, never decisive (ID portraits vary).
//             Throws as Engine::analyze (naming "reference" or "probe frame N").
// Thread safety: NOT reentrant (owns networks); one per thread. Calibrations are shared.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "faceproof/document.hpp"
#include "faceproof/engine.hpp"
#include "faceproof/liveness.hpp"
#include "faceproof/quality.hpp"
#include "faceproof/registry.hpp"

namespace faceproof {

struct ProofingOptions {
    double fmr = kDefaultFmr;
    // Quality and liveness decide (a spoof or an unusable probe is a non-match). Default on: a
    // photo of a photo must be refused by default. Off only for offline photo comparison.
    bool require_liveness = true;
    // The liveness was decided elsewhere (a challenge session, liveness_session.hpp): the probe's
    // own passive/burst assessment is replaced by this report.
    std::optional<LivenessReport> liveness_decided;
};

struct ProbeAssessment {
    std::vector<FaceContext> frames;
    std::vector<QualityReport> quality;  // selfie profile, one per frame
    LivenessReport liveness;
    int best_frame = 0;                  // the frame used for matching
};

// The printed card's portrait (a photo of the card) against the chip portrait: a card whose printed
// portrait was substituted shows here even when the chip is genuine.
struct CardComparison {
    double similarity = 0;
    double threshold = 0;  // the verification's threshold (same FMR)
    bool match = false;
    FaceContext card;      // the card photo's most prominent face
};

struct ProofingResult {
    VerifyResult match;               // reference vs the probe's best frame
    QualityReport reference_quality;  // document profile
    ProbeAssessment probe;
    bool checks_required = true;
    bool accepted = false;
    std::vector<std::string> reasons;
    // Set when the reference is a chip document's portrait (verify_document_holder).
    std::optional<DocumentCheck> document;
    // Set when a photo of the printed card was compared with the chip portrait (compare_card).
    std::optional<CardComparison> card;
};

class IdentityVerifier {
public:
    virtual ~IdentityVerifier() = default;
    virtual ProbeAssessment assess_probe(const std::vector<cv::Mat>& probe_frames) = 0;
    virtual ProofingResult check(const cv::Mat& reference, const std::vector<cv::Mat>& probe_frames,
                                 const ProofingOptions& options) = 0;
    // The verifier's own engine and quality assessor, for work that needs one of them only
    // (detection, a quality report, a capture to enrol): no second set of networks.
    virtual Engine& engine() = 0;
    virtual const QualityAssessor& quality() const = 0;
    virtual LivenessChecker& liveness() = 0;
    static std::unique_ptr<IdentityVerifier> create(std::shared_ptr<const ModelSet> models,
                                                    const Calibration& calibration,
                                                    const LivenessCalibration& liveness_calibration);
};

// Is the live probe the holder of this chip document? The DG2 portrait (decoded within limits) is
// the reference; the result carries the document check, its reasons join the result's, and the
// decision is accepted only when the document is valid AND the face matches AND (when required)
// quality and liveness pass.
// throws: as IdentityVerifier::check; image_unreadable / image_too_large naming "chip portrait".
ProofingResult verify_document_holder(IdentityVerifier& verifier, DocumentCheck document,
                                      const std::vector<cv::Mat>& probe_frames, const ProofingOptions& options,
                                      const ImageLimits& portrait_limits = {});

// Compares the most prominent face of card_image (a photo of the printed card) with the reference
// of result (the chip portrait) at the verification's threshold; a mismatch adds the reason
// CARD_PORTRAIT_MISMATCH and refuses the decision.
// requires: result came from verify_document_holder with this verifier.
// throws:   no_face / image errors naming "card image".
void compare_card(IdentityVerifier& verifier, ProofingResult& result, const cv::Mat& card_image);

// Decodes (within limits), analyses and assesses one image file's bytes: an analysed face for the
// registry (Capture). throws: Error{image_unreadable | image_too_large} for bad bytes; no face is not
// an error here (the capture has no template).
Capture analyse_capture(Engine& engine, const QualityAssessor& quality, std::span<const std::uint8_t> image_bytes,
                        QualityProfile profile, const ImageLimits& limits = {});

// The one way a verification decision is audited (CLI and HTTP alike): "verify", outcome match or
// no_match, the scores, thresholds and reasons (proofing_audit_details), never biometric data. With a
// document: its status, reasons, issuing state and code, and the document number only as the
// registry's keyed pseudonym (null when the registry has no data key), never in clear.
AuditEntry record_verification(Registry& registry, const std::string& actor, const std::string& tenant,
                               const std::string& subject, const ProofingResult& result);
// The one way a document check alone is audited: "document_check", outcome = the status, details
// as the "document" of a verification (no number, name or portrait in clear).
AuditEntry record_document_check(Registry& registry, const std::string& actor, const std::string& tenant,
                                 const DocumentCheck& check);

}  // namespace faceproof
