#include "server/proofing_service.hpp"

#include <cmath>

#include "faceproof/proofing.hpp"
#include "faceproof/quality.hpp"
#include "report/json_report.hpp"
#include "report/liveness_json.hpp"
#include "report/proofing_json.hpp"
#include "report/quality_json.hpp"
#include "server/request_images.hpp"
#include "server/retry_later.hpp"

namespace faceproof::server {
namespace {

void add_timings(StageTimings& total, const StageTimings& t) {
    for (const auto& [stage, ms] : t) total[stage] += ms;
}

}  // namespace

ProofingService::ProofingService(const ServerConfig& config, Workers& workers, Registry& registry,
                                 LivenessLockout& lockout, Metrics& metrics)
    : config_(config), workers_(workers), registry_(registry), lockout_(lockout), metrics_(metrics) {}

void ProofingService::check_lockout(const ApiPrincipal& p, const std::string& subject) {
    if (const int wait = lockout_.locked_for(p.key_id, p.tenant, subject))
        throw RetryLater(ErrorCode::rate_limited,
                         subject.empty() ? "too many failed liveness checks with this API key; locked out"
                                         : "too many failed liveness checks for this subject or API key; locked out",
                         wait);
}

Reply ProofingService::verify(const ApiPrincipal& p, const RequestBody& body) {
    const auto reference = field_images(body, "reference", 1, 1);
    const auto probes = field_images(body, "probe", 1, 16);
    ProofingOptions options;
    options.fmr = body.number("fmr").value_or(kDefaultFmr);
    options.require_liveness = body.flag("require_liveness").value_or(true);
    Calibration::shipped().threshold_for(options.fmr);  // an uncalibrated fmr is a 400, before any work
    const std::string subject = body.text("subject").value_or("");
    if (!subject.empty()) check_reference(subject);
    check_lockout(p, subject);
    std::vector<PendingImage> all = reference;
    all.insert(all.end(), probes.begin(), probes.end());
    check_decoding_budget(all, config_.image_limits, config_.max_request_decoded_bytes);
    ProofingResult r;
    {
        auto worker = workers_.lease();
        const cv::Mat reference_image = decode(reference.front(), config_.image_limits);
        std::vector<cv::Mat> probe_images;
        for (const auto& probe : probes) probe_images.push_back(decode(probe, config_.image_limits));
        r = (*worker)->check(reference_image, probe_images, options);
    }
    StageTimings stages;
    add_timings(stages, r.match.reference.timings());
    add_timings(stages, r.match.probe.timings());
    metrics_.observe_stages(stages);
    lockout_.record(p.key_id, p.tenant, subject, r.probe.liveness.live);
    record_verification(registry_, p.actor(), p.tenant, subject, r);
    return {200, proofing_json(r)};
}

Reply ProofingService::detect(const ApiPrincipal&, const RequestBody& body) {
    const auto images = field_images(body, "image", 1, 1);
    check_decoding_budget(images, config_.image_limits, config_.max_request_decoded_bytes);
    StageTimings timings;
    std::vector<Face> faces;
    cv::Size size;
    {
        auto worker = workers_.lease();
        const cv::Mat image = decode(images.front(), config_.image_limits);
        size = image.size();
        faces = (*worker)->engine().detect(image, &timings);
    }
    metrics_.observe_stages(timings);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& f : faces) list.push_back(face_json(f, false));
    return {200, {{"faces", list}, {"width", size.width}, {"height", size.height}}};
}

Reply ProofingService::quality(const ApiPrincipal&, const RequestBody& body) {
    const QualityProfile profile = quality_profile_from_string(body.text("profile").value_or("selfie"));
    const auto images = field_images(body, "image", 1, 1);
    check_decoding_budget(images, config_.image_limits, config_.max_request_decoded_bytes);
    auto worker = workers_.lease();
    const FaceContext face = (*worker)->engine().context(decode(images.front(), config_.image_limits));
    return {200, quality_json((*worker)->quality().assess(face, profile))};
}

Reply ProofingService::liveness(const ApiPrincipal& p, const RequestBody& body) {
    const auto frames = field_images(body, "image", 1, 16);
    const std::string subject = body.text("subject").value_or("");
    if (!subject.empty()) check_reference(subject);
    check_lockout(p, subject);
    check_decoding_budget(frames, config_.image_limits, config_.max_request_decoded_bytes);
    LivenessReport report;
    {
        auto worker = workers_.lease();
        std::vector<cv::Mat> images;
        for (const auto& frame : frames) images.push_back(decode(frame, config_.image_limits));
        report = (*worker)->assess_probe(images).liveness;
    }
    lockout_.record(p.key_id, p.tenant, subject, report.live);
    registry_.record(p.actor(), p.tenant, "liveness", subject, report.live ? "live" : "not_live",
                     {{"score", round_to(report.score, 4)},
                      {"threshold", report.threshold},
                      {"frames", frames.size()},
                      {"reasons", report.reasons}});
    return {200, liveness_json(report)};
}

}  // namespace faceproof::server
