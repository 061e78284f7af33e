// JSON shapes of results and errors, shared by the CLI and (later) the HTTP service so both speak
// the same language.
#pragma once

#include <nlohmann/json.hpp>

#include "faceproof/engine.hpp"
#include "faceproof/error.hpp"

namespace faceproof {

// value rounded to digits decimals: JSON carries what is meaningful, not float noise.
double round_to(double value, int digits);

nlohmann::json face_json(const Face& face, bool with_landmarks);
// {"faces", "box", "detection_score", "rotation"} of an analysed image.
nlohmann::json context_json(const FaceContext& face);
nlohmann::json verify_json(const VerifyResult& result);
nlohmann::json timings_json(const StageTimings& timings);
// {"code": "...", "message": "..."}
nlohmann::json error_json(const Error& error);

}  // namespace faceproof
