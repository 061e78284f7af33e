#include "report/quality_json.hpp"

#include <cmath>
#include <string>

#include "report/json_report.hpp"

namespace faceproof {

nlohmann::json measure_json(const MeasureResult& r) {
    nlohmann::json j{{"measure", r.measure}, {"assessed", r.assessed}};
    if (r.assessed) {
        j["native"] = round_to(r.native, 4);
        j["unit"] = r.unit;
        j["score"] = round_to(r.score, 1);
    } else {
        j["native"] = nullptr;
        j["unit"] = r.unit.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.unit);
        j["score"] = nullptr;
    }
    j["pass"] = r.pass;
    j["feedback"] = r.feedback.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.feedback);
    j["failure"] = r.failure.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.failure);
    return j;
}

nlohmann::json quality_json(const QualityReport& report) {
    nlohmann::json j{{"profile", std::string(to_string(report.profile))},
                     {"pass", report.pass},
                     {"feedback", report.feedback},
                     {"measures", nlohmann::json::array()}};
    for (const MeasureResult& r : report.measures) j["measures"].push_back(measure_json(r));
    return j;
}

}  // namespace faceproof
