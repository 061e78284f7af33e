// faceproof — face image quality (in the spirit of ISO/IEC 29794-5 and OFIQ).
//
// Each measure is one class with one method, reading the face's context (made once by the Engine:
// faces, the aligned crop, pose and eye state) through one per-assessment session; it returns a
// native value and a 0-100 quality score. A measure that cannot run records "failure to assess"
// and the others still run. The profile decides the pass thresholds: `selfie` (live capture) or
// `document` (ID portrait: accepts small, grey, printed-looking faces).
//
// QualityAssessor::assess(face, profile)
//   requires: face made by the Engine (Engine::context: it may have no face); its Engine alive
//             (pose and eye state are computed on first use).
//   ensures:  one result per measure of the profile, in a fixed order; pass == every assessed
//             measure passed and no measure required by the profile failed to assess;
//             feedback holds the stable codes of the failed measures, without duplicates.
// Thread safety: an assessor holds no networks and no state; assess() is reentrant, but a face
// context is used by one thread at a time.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "faceproof/face_context.hpp"

namespace faceproof {

enum class QualityProfile { selfie, document };
std::string_view to_string(QualityProfile profile) noexcept;
QualityProfile quality_profile_from_string(std::string_view name);  // invalid_argument if unknown

struct MeasureResult {
    std::string measure;            // stable name, e.g. "inter_eye_distance"
    bool assessed = false;          // false = failure to assess (see failure)
    double native = 0;              // the measured value, in the unit named by unit
    std::string unit;               // "px", "deg", "ratio", "probability", ...
    double score = 0;               // 0 (worst) .. 100 (best)
    bool pass = false;              // against the profile's threshold
    std::string feedback;           // stable code when it does not pass, e.g. "TOO_DARK"
    std::string failure;            // why it could not be assessed
};

struct QualityReport {
    QualityProfile profile = QualityProfile::selfie;
    std::vector<MeasureResult> measures;
    bool pass = false;
    std::vector<std::string> feedback;  // codes of the failed measures
};

// The mean 0-100 score of the measures that could be assessed (0 when none could): one number
// per capture, to choose a burst's best frame and to rank stored templates.
double mean_quality_score(const QualityReport& report);

class QualityAssessor {
public:
    virtual ~QualityAssessor() = default;
    virtual QualityReport assess(const FaceContext& face, QualityProfile profile) const = 0;
    static std::unique_ptr<QualityAssessor> create();
};

}  // namespace faceproof
