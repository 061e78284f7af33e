// JSON shape of a quality report, shared by `faceproof quality` and `faceproof verify`:
// {"profile", "pass", "feedback": [...], "measures": [{"measure", "assessed", "native", "unit",
//  "score", "pass", "feedback", "failure"}]}. Callers add "faces" (and whatever else) themselves.
#pragma once

#include <nlohmann/json.hpp>

#include "faceproof/quality.hpp"

namespace faceproof {

nlohmann::json measure_json(const MeasureResult& result);
nlohmann::json quality_json(const QualityReport& report);

}  // namespace faceproof
