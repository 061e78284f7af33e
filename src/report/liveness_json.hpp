// JSON shape of a liveness report, shared by `faceproof liveness` and (later) verify / the service:
// {"live", "decision": "live"|"not_live", "reasons": [...], "score", "threshold", "passive_live",
//  "frame_scores": [...], "burst", "same_face": {"assessed", "same", "min_similarity"},
//  "challenge": {"assessed", "blink", "head_turn", "yaw_range_deg"}}
// same_face.assessed == burst; challenge.assessed is false unless per-frame attributes were given.
#pragma once

#include <nlohmann/json.hpp>

#include "faceproof/liveness.hpp"

namespace faceproof {

nlohmann::json liveness_json(const LivenessReport& report);

}  // namespace faceproof
