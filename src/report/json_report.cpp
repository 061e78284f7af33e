#include "report/json_report.hpp"

#include <cmath>

namespace faceproof {
double round_to(double value, int digits) {
    const double scale = std::pow(10.0, digits);
    return std::round(value * scale) / scale;
}

namespace {

nlohmann::json box_json(const cv::Rect2f& b) {
    return {round_to(b.x, 1), round_to(b.y, 1), round_to(b.width, 1), round_to(b.height, 1)};
}

nlohmann::json points_json(const cv::Point2f* points, int count) {
    nlohmann::json out = nlohmann::json::array();
    for (int i = 0; i < count; ++i) out.push_back({round_to(points[i].x, 1), round_to(points[i].y, 1)});
    return out;
}

}  // namespace

nlohmann::json face_json(const Face& face, bool with_landmarks) {
    nlohmann::json j{{"box", box_json(face.box)},
                     {"detection_score", round_to(face.detection_score, 4)},
                     {"rotation", face.rotation}};
    if (face.has_landmarks) {
        j["landmarks5"] = points_json(face.landmarks5.data(), 5);
        if (with_landmarks) j["landmarks68"] = points_json(face.landmarks68.data(), 68);
    }
    return j;
}

nlohmann::json context_json(const FaceContext& face) {
    nlohmann::json j = face_json(face.face(), false);
    j["faces"] = face.faces().size();
    return j;
}

nlohmann::json timings_json(const StageTimings& timings) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [stage, ms] : timings) j[stage] = round_to(ms, 2);
    return j;
}

nlohmann::json verify_json(const VerifyResult& r) {
    StageTimings total;
    for (const auto* t : {&r.reference.timings(), &r.probe.timings()})
        for (const auto& [stage, ms] : *t) total[stage] += ms;
    return {{"match", r.match},
            {"similarity", round_to(r.similarity, 6)},
            {"threshold", round_to(r.threshold, 6)},
            {"fmr", r.fmr},
            {"template_model", r.probe.face_template().model_id},
            {"reference", context_json(r.reference)},
            {"probe", context_json(r.probe)},
            {"timing_ms", timings_json(total)}};
}

nlohmann::json error_json(const Error& e) {
    return {{"code", std::string(to_string(e.code()))}, {"message", e.what()}};
}

}  // namespace faceproof
