#include <algorithm>
#include <exception>

#include "faceproof/error.hpp"
#include "faceproof/quality.hpp"
#include "quality/measures.hpp"

namespace faceproof {

std::string_view to_string(QualityProfile profile) noexcept {
    return profile == QualityProfile::document ? "document" : "selfie";
}

QualityProfile quality_profile_from_string(std::string_view name) {
    if (name == "selfie") return QualityProfile::selfie;
    if (name == "document") return QualityProfile::document;
    throw Error(ErrorCode::invalid_argument,
                "unknown quality profile '" + std::string(name) + "' (expected selfie or document)");
}

namespace {

class StandardQualityAssessor final : public QualityAssessor {
public:
    explicit StandardQualityAssessor(const ModelSet& models)
        : pose_(HeadPoseEstimator::create(models)), eyes_(EyeStateClassifier::create(models)) {}

    QualityReport assess(const cv::Mat& bgr, const std::vector<Face>& faces, QualityProfile profile) override {
        if (bgr.empty() || bgr.type() != CV_8UC3)
            throw Error(ErrorCode::invalid_argument, "quality: expected a non-empty 8-bit BGR image");
        const ProfileSpec& spec = profile_spec(profile);
        const QualityContext context(bgr, faces, *pose_, *eyes_);
        QualityReport report;
        report.profile = profile;
        report.pass = true;
        for (const auto& measure : all_measures()) {
            const auto use = std::find_if(spec.measures.begin(), spec.measures.end(),
                                          [&](const MeasureUse& u) { return u.measure == measure->name(); });
            if (use == spec.measures.end()) continue;
            MeasureResult r = run(*measure, context, spec.thresholds);
            if (r.assessed) {
                if (!r.pass) {
                    report.pass = false;
                    if (!r.feedback.empty() &&
                        std::find(report.feedback.begin(), report.feedback.end(), r.feedback) == report.feedback.end())
                        report.feedback.push_back(r.feedback);
                }
            } else if (use->required) {
                report.pass = false;
            }
            report.measures.push_back(std::move(r));
        }
        if (const auto& pose = context.head_pose(); pose.value) report.yaw_deg = pose.value->yaw_deg;
        if (const auto& eyes = context.eye_state(); eyes.value) {
            report.left_eye_open = eyes.value->left_open;
            report.right_eye_open = eyes.value->right_open;
        }
        return report;
    }

private:
    // One measure's exception is its own failure to assess; the other measures still run.
    static MeasureResult run(const Measure& measure, const QualityContext& context, const Thresholds& thresholds) {
        MeasureResult r;
        try {
            r = measure.assess(context, thresholds);
        } catch (const std::exception& e) {
            r = MeasureResult{};
            r.failure = e.what();
        }
        r.measure = measure.name();
        if (!r.assessed) {
            r.pass = false;
            r.feedback.clear();
            if (r.failure.empty()) r.failure = "could not be assessed";
        }
        return r;
    }

    std::unique_ptr<HeadPoseEstimator> pose_;
    std::unique_ptr<EyeStateClassifier> eyes_;
};

}  // namespace

std::unique_ptr<QualityAssessor> QualityAssessor::create(const ModelSet& models) {
    return std::make_unique<StandardQualityAssessor>(models);
}

}  // namespace faceproof
