#include "server/registry_service.hpp"

#include <cmath>

#include "faceproof/proofing.hpp"
#include "faceproof/quality.hpp"
#include "report/registry_json.hpp"
#include "server/auth.hpp"
#include "server/request_images.hpp"

namespace faceproof::server {
namespace {

EnrolmentPolicy enrolment_policy(const RequestBody& body) {
    EnrolmentPolicy policy;
    policy.refuse_duplicates = !body.flag("allow_duplicate").value_or(false);
    return policy;
}

}  // namespace

RegistryService::RegistryService(const ServerConfig& config, Workers& workers, Registry& registry, Metrics& metrics,
                                 bool compacts_later)
    : config_(config), workers_(workers), registry_(registry), metrics_(metrics), compacts_later_(compacts_later) {}

// The `image` fields of an enrolment (1 to 10), analysed under the `profile` field on one worker.
std::vector<Capture> RegistryService::captures(const RequestBody& body) {
    const QualityProfile profile = quality_profile_from_string(body.text("profile").value_or("selfie"));
    const auto images = field_images(body, "image", 1, 10);
    check_decoding_budget(images, config_.image_limits, config_.max_request_decoded_bytes);
    std::vector<Capture> out;
    auto worker = workers_.lease();
    for (const auto& image : images)
        out.push_back(naming(image.label, [&] {
            return analyse_capture((*worker)->engine(), (*worker)->quality(), image.bytes, profile, config_.image_limits);
        }));
    return out;
}

Reply RegistryService::enrol(const ApiPrincipal& p, const RequestBody& body) {
    const std::string reference = body.required_text("subject");
    check_reference(reference);
    const auto consent_value = body.json("consent");
    if (!consent_value) throw Error(ErrorCode::consent_invalid, "missing field \"consent\" (the consent record)");
    const Consent consent = consent_from_json(*consent_value);
    const std::vector<Capture> analysed = captures(body);
    const EnrolmentResult r = registry_.enrol(p.actor(), p.tenant, reference, consent, analysed, enrolment_policy(body));
    nlohmann::json json = enrolment_json(r, analysed);
    json["subject"] = reference;
    return {r.enrolled ? 201 : 200, json};
}

Reply RegistryService::add_templates(const ApiPrincipal& p, const std::string& reference, const RequestBody& body) {
    check_reference(reference);
    EnrolmentPolicy policy = enrolment_policy(body);
    if (body.flag("allow_face_mismatch").value_or(false)) {
        Authenticator::require_admin(p);  // adding another person's face to a subject is an administrator's decision
        policy.require_same_face = false;
    }
    const std::vector<Capture> analysed = captures(body);
    const EnrolmentResult r = registry_.add_templates(p.actor(), p.tenant, reference, analysed, policy);
    for (const auto& reason : r.reasons)
        if (reason.rfind("FACE_MISMATCH", 0) == 0)
            throw Error(ErrorCode::face_mismatch,
                        reason + ": the face is not the subject's (below the verification threshold); nothing stored");
    nlohmann::json json = enrolment_json(r, analysed);
    json["subject"] = reference;
    return {r.enrolled ? 201 : 200, json};
}

Reply RegistryService::subject(const ApiPrincipal& p, const std::string& reference) {
    check_reference(reference);
    const auto s = registry_.subject(p.tenant, reference);
    if (!s) throw Error(ErrorCode::not_found, "no subject '" + reference + "'");
    return {200, subject_json(*s)};
}

Reply RegistryService::remove(const ApiPrincipal& p, const std::string& reference) {
    check_reference(reference);
    if (!registry_.remove(p.actor(), p.tenant, reference))
        throw Error(ErrorCode::not_found, "no subject '" + reference + "'");
    if (compacts_later_) {
        std::lock_guard lock(compaction_mutex_);
        if (!first_pending_deletion_) first_pending_deletion_ = std::chrono::steady_clock::now();
    }
    return {200, {{"subject", reference}, {"deleted", true}}};
}

Reply RegistryService::search(const ApiPrincipal& p, const RequestBody& body) {
    const auto images = field_images(body, "image", 1, 1);
    SearchOptions options;
    if (const auto top = body.number("top")) {
        if (*top < 1 || *top > 100 || *top != std::floor(*top))
            throw Error(ErrorCode::invalid_argument, "\"top\" must be an integer from 1 to 100");
        options.top = static_cast<std::size_t>(*top);
    }
    options.search_fmr = body.number("fmr").value_or(options.search_fmr);
    check_decoding_budget(images, config_.image_limits, config_.max_request_decoded_bytes);
    Capture probe;
    {
        auto worker = workers_.lease();
        probe = naming(images.front().label, [&] {
            return analyse_capture((*worker)->engine(), (*worker)->quality(), images.front().bytes,
                                   QualityProfile::selfie, config_.image_limits);
        });
    }
    probe.encoded.clear();  // a probe is never kept
    return {200, search_json(registry_.search(p.actor(), p.tenant, probe, options))};
}

Reply RegistryService::audit(const ApiPrincipal& p, std::int64_t after, std::int64_t limit) {
    Authenticator::require_admin(p);
    if (after < 0 || limit < 0 || limit > 1000)
        throw Error(ErrorCode::invalid_argument, "after must be >= 0 and limit from 0 to 1000");
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& e : registry_.audit(p.tenant, after, limit)) entries.push_back(audit_entry_json(e));
    return {200, {{"entries", entries}}};
}

void RegistryService::maintain() {
    metrics_.count_sync(registry_.sync());
    if (!compacts_later_) return;
    {
        std::lock_guard lock(compaction_mutex_);
        const auto due = std::chrono::duration<double>(config_.compaction_delay_s);
        if (!first_pending_deletion_ || std::chrono::steady_clock::now() - *first_pending_deletion_ < due) return;
        first_pending_deletion_.reset();  // deletions from now on wait for the next round
    }
    registry_.vacuum();
    metrics_.count_compaction();
}

}  // namespace faceproof::server
