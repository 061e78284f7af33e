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
    QualityReport assess(const FaceContext& face, QualityProfile profile) const override {
        if (face.image().empty() || face.image().type() != CV_8UC3)
            throw Error(ErrorCode::invalid_argument, "quality: expected a non-empty 8-bit BGR image");
        const ProfileSpec& spec = profile_spec(profile);
        const QualitySession context(face);
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
        return report;
    }

private:
    // One measure's exception is its own failure to assess; the other measures still run.
    static MeasureResult run(const Measure& measure, const QualitySession& context, const Thresholds& thresholds) {
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
};

}  // namespace

std::unique_ptr<QualityAssessor> QualityAssessor::create() { return std::make_unique<StandardQualityAssessor>(); }

double mean_quality_score(const QualityReport& report) {
    double sum = 0;
    int n = 0;
    for (const auto& m : report.measures)
        if (m.assessed) sum += m.score, ++n;
    return n ? sum / n : 0.0;
}

}  // namespace faceproof
