#include "server/proofing_service.hpp"

#include <cmath>

#include "faceproof/proofing.hpp"
#include "faceproof/quality.hpp"
#include "report/json_report.hpp"
#include "report/liveness_json.hpp"
#include "report/document_json.hpp"
#include "report/proofing_json.hpp"
#include "report/quality_json.hpp"
#include "server/liveness_session_service.hpp"
#include "server/request_images.hpp"
#include "server/retry_later.hpp"

namespace faceproof::server {
namespace {

void add_timings(StageTimings& total, const StageTimings& t) {
    for (const auto& [stage, ms] : t) total[stage] += ms;
}

}  // namespace

ProofingService::ProofingService(const ServerConfig& config, Workers& workers, Registry& registry,
                                 LivenessLockout& lockout, Metrics& metrics, LivenessSessionService& sessions)
    : config_(config),
      workers_(workers),
      registry_(registry),
      lockout_(lockout),
      metrics_(metrics),
      sessions_(sessions),
      trust_store_(config.trust_store ? load_trust_store(*config.trust_store) : nullptr) {}

void ProofingService::require_trust_store() const {
    if (!trust_store_)
        throw Error(ErrorCode::invalid_argument,
                    "this server checks no documents: it was started without a trust store (serve --trust PATH, or "
                    "trust_store in the config)");
}

DocumentCheck ProofingService::document_of(const RequestBody& body) const {
    require_trust_store();
    // Each file counted and bounded before it is read: a chip file is a few KiB (DG2 up to ~100 KiB).
    const auto file = [&](const char* name, bool required) -> std::optional<std::vector<std::uint8_t>> {
        const std::size_t count = body.image_count(name);
        if (count == 0 && !required) return std::nullopt;
        if (count != 1)
            throw Error(ErrorCode::invalid_argument, std::string("document field \"") + name + "\": expected one file, got " +
                                                         std::to_string(count));
        const auto bytes = body.images(name).front();
        if (bytes.size() > kMaxDocumentFileBytes)
            throw Error(ErrorCode::image_too_large, std::string("document field \"") + name + "\": " +
                                                        std::to_string(bytes.size()) + " bytes, more than a chip file");
        return std::vector<std::uint8_t>(bytes.begin(), bytes.end());
    };
    DocumentBundle bundle;
    bundle.sod = *file("sod", true);
    bundle.dg1 = *file("dg1", true);
    bundle.dg2 = *file("dg2", true);
    bundle.dg14 = file("dg14", false);
    bundle.dg15 = file("dg15", false);
    return faceproof::check_document(bundle, *trust_store_, std::chrono::system_clock::now());
}

Reply ProofingService::check_document(const ApiPrincipal& p, const RequestBody& body) {
    // Under admission control like every route that parses and verifies untrusted bytes: a flood of
    // documents queues for the workers (or gets 503) instead of taking the connection threads.
    const DocumentCheck check = [&] {
        auto worker = workers_.lease();
        return document_of(body);
    }();
    record_document_check(registry_, p.actor(), p.tenant, check);
    return {200, document_check_json(check)};
}

void ProofingService::check_lockout(const ApiPrincipal& p, const std::string& subject) {
    if (const int wait = lockout_.locked_for(p.key_id, p.tenant, subject))
        throw RetryLater(ErrorCode::rate_limited,
                         subject.empty() ? "too many failed liveness checks with this API key; locked out"
                                         : "too many failed liveness checks for this subject or API key; locked out",
                         wait);
}

Reply ProofingService::verify(const SessionCaller& caller, const RequestBody& body) {
    const std::optional<std::string> session_id = body.text("liveness_session");
    // Who asks: the API key, or (a client token) the key that created the session, on its behalf.
    ApiPrincipal p;
    std::string actor;
    if (caller.principal) {
        p = *caller.principal;
        actor = p.actor();
    } else {
        if (!session_id)
            throw Error(ErrorCode::unauthorized, "a liveness session's client token verifies only with \"liveness_session\"");
        const LivenessSessionRecord s = sessions_.authorised(caller, *session_id);
        p.key_id = s.key_id;
        p.tenant = s.tenant;
        actor = "liveness-session:" + s.id;
    }
    // A chip document (sod, dg1, dg2) instead of a reference photo: its portrait is the reference.
    const bool with_document = body.image_count("sod") > 0 || body.image_count("dg2") > 0;
    if (with_document && body.image_count("reference") > 0)
        throw Error(ErrorCode::invalid_argument, "give either a reference image or the document's chip files, not both");
    if (with_document) require_trust_store();  // refused at once, before any decoding
    const auto reference = with_document ? std::vector<PendingImage>{} : field_images(body, "reference", 1, 1);
    if (session_id && body.image_count("probe") > 0)
        throw Error(ErrorCode::invalid_argument, "give either \"probe\" frames or a \"liveness_session\", not both");
    const auto probes = session_id ? std::vector<PendingImage>{} : field_images(body, "probe", 1, 16);
    // A photo of the printed card, compared with the chip portrait (documents only).
    const auto card = field_images(body, "card", 0, 1);
    if (!card.empty() && !with_document)
        throw Error(ErrorCode::invalid_argument, "\"card\" is compared with a chip portrait: give sod, dg1, dg2 too");
    ProofingOptions options;
    options.fmr = body.number("fmr").value_or(kDefaultFmr);
    options.require_liveness = body.flag("require_liveness").value_or(true);
    Calibration::shipped().threshold_for(options.fmr);  // an uncalibrated fmr is a 400, before any work
    std::string subject = body.text("subject").value_or("");
    if (!subject.empty()) check_reference(subject);
    check_lockout(p, subject);
    std::vector<PendingImage> all = reference;
    all.insert(all.end(), probes.begin(), probes.end());
    all.insert(all.end(), card.begin(), card.end());
    check_decoding_budget(all, config_.image_limits, config_.max_request_decoded_bytes);
    // The session last: taking its frame uses it up, so every refusal above leaves it usable.
    std::optional<SessionProbe> session;
    if (session_id) {
        const LivenessSessionRecord s = sessions_.authorised(caller, *session_id);
        if (!s.subject.empty() && !subject.empty() && s.subject != subject)
            throw Error(ErrorCode::invalid_argument, "the liveness session was made for another subject");
        if (!caller.principal && subject.empty() == false && s.subject.empty())
            throw Error(ErrorCode::forbidden, "a client token cannot name a subject its session was not made for");
        session = sessions_.take_probe(caller, *session_id);
        if (subject.empty()) subject = session->subject;
        options.liveness_decided = session->liveness;
    }
    ProofingResult r;
    {
        auto worker = workers_.lease();
        // The document first: a bundle that does not parse costs no image decoding.
        std::optional<DocumentCheck> document;
        if (with_document) document = document_of(body);
        std::vector<cv::Mat> probe_images;
        for (const auto& probe : probes) probe_images.push_back(decode(probe, config_.image_limits));
        if (session)
            probe_images.push_back(decode(PendingImage{"liveness session frame", session->image}, config_.image_limits));
        if (document) {
            r = verify_document_holder(**worker, std::move(*document), probe_images, options, config_.image_limits);
            if (!card.empty()) compare_card(**worker, r, decode(card.front(), config_.image_limits));
        } else {
            const cv::Mat reference_image = decode(reference.front(), config_.image_limits);
            r = (*worker)->check(reference_image, probe_images, options);
        }
    }
    StageTimings stages;
    add_timings(stages, r.match.reference.timings());
    add_timings(stages, r.match.probe.timings());
    metrics_.observe_stages(stages);
    // A session's liveness was counted when it was decided.
    if (!session) lockout_.record(p.key_id, p.tenant, subject, r.probe.liveness.live);
    record_verification(registry_, actor, p.tenant, subject, r);
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
