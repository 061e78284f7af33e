// faceproof — face image quality (in the spirit of ISO/IEC 29794-5 and OFIQ).
//
// Each measure is one class with one method, reading a per-image context computed once
// (detection, landmarks, alignment, pose, eye state); it returns a native value and a 0-100
// quality score. A measure that cannot run records "failure to assess" and the others still run.
// The profile decides the pass thresholds: `selfie` (live capture) or `document` (ID portrait:
// accepts small, grey, printed-looking faces).
//
// QualityAssessor::assess(image, faces)
//   requires: image 8-bit BGR; faces as returned by Engine::detect (most prominent first,
//             landmarks filled); faces may be empty.
//   ensures:  one result per measure of the profile, in a fixed order; pass == every assessed
//             measure passed and no measure required by the profile failed to assess;
//             feedback holds the stable codes of the failed measures, without duplicates.
// Thread safety: an assessor is NOT reentrant (it owns DNN networks); one per thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "faceproof/models.hpp"
#include "faceproof/types.hpp"

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
    // The primary face's attributes behind the pose and eye measures, empty when they could not
    // be computed (no face, no landmarks, a network failure): head yaw in degrees and the
    // probability that each eye is open (left/right as seen in the upright face). For callers that
    // need the raw values, e.g. the liveness challenge over a burst of frames.
    std::optional<double> yaw_deg;
    std::optional<double> left_eye_open;
    std::optional<double> right_eye_open;
};

class QualityAssessor {
public:
    virtual ~QualityAssessor() = default;
    virtual QualityReport assess(const cv::Mat& bgr, const std::vector<Face>& faces, QualityProfile profile) = 0;
    static std::unique_ptr<QualityAssessor> create(const ModelSet& models);
};

}  // namespace faceproof
