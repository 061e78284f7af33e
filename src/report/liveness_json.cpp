#include "report/liveness_json.hpp"

#include <cmath>

#include "report/json_report.hpp"

namespace faceproof {

nlohmann::json liveness_json(const LivenessReport& r) {
    nlohmann::json scores = nlohmann::json::array();
    for (double s : r.frame_scores) scores.push_back(round_to(s, 6));
    const ChallengeResult& c = r.challenge;
    nlohmann::json out = {{"live", r.live},
            {"decision", r.session_decision.empty() ? (r.live ? "live" : "not_live") : r.session_decision},
            {"reasons", r.reasons},
            {"score", round_to(r.score, 6)},
            {"threshold", round_to(r.threshold, 6)},
            {"passive_live", r.passive_live},
            {"frame_scores", scores},
            {"burst", r.burst},
            {"same_face",
             {{"assessed", r.burst}, {"same", c.same_face}, {"min_similarity", round_to(c.min_same_face_similarity, 6)}}},
            {"challenge",
             {{"assessed", c.assessed},
              {"blink", c.blink},
              {"head_turn", c.head_turn},
              {"yaw_range_deg", round_to(c.yaw_range_deg, 2)}}}};
    if (!r.session_id.empty()) out["session_id"] = r.session_id;
    return out;
}

}  // namespace faceproof
