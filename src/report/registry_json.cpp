#include "report/registry_json.hpp"

#include "faceproof/error.hpp"
#include "report/json_report.hpp"
#include "store/record_checks.hpp"

namespace faceproof {

nlohmann::json candidate_json(const Candidate& c) {
    return {{"subject", c.subject}, {"similarity", round_to(c.similarity, 4)}, {"match", c.match}};
}

nlohmann::json search_json(const SearchResult& r) {
    nlohmann::json candidates = nlohmann::json::array();
    for (const auto& c : r.candidates) candidates.push_back(candidate_json(c));
    return {{"found", r.found()},
            {"candidates", candidates},
            {"threshold", round_to(r.threshold, 4)},
            {"comparison_fmr", r.comparison_fmr},
            {"search_fmr", r.search_fmr},
            {"threshold_clamped", r.threshold_clamped},
            {"gallery", {{"templates", r.gallery_templates}, {"subjects", r.gallery_subjects}}},
            {"method", r.method.empty() ? (r.approximate ? "hnsw" : "exact") : r.method}};
}

nlohmann::json enrolment_json(const EnrolmentResult& r, const std::vector<Capture>& captures) {
    nlohmann::json duplicates = nlohmann::json::array();
    for (const auto& d : r.duplicates) duplicates.push_back(candidate_json(d));
    nlohmann::json quality = nlohmann::json::array();
    for (std::size_t i = 0; i < captures.size(); ++i)
        quality.push_back({{"image", i + 1},
                           {"faces", captures[i].faces},
                           {"pass", captures[i].quality.pass},
                           {"feedback", captures[i].quality.feedback}});
    return {{"enrolled", r.enrolled}, {"reasons", r.reasons},          {"duplicates", duplicates},
            {"template_ids", r.template_ids}, {"quality", quality}};
}

nlohmann::json consent_json(const Consent& c) {
    return {{"purpose", c.purpose},
            {"legal_basis", c.legal_basis},
            {"notice_version", c.notice_version},
            {"given_at", c.given_at},
            {"expires_at", c.expires_at}};
}

Consent consent_from_json(const nlohmann::json& json) {
    if (!json.is_object()) throw Error(ErrorCode::consent_invalid, "consent: expected a JSON object");
    auto field = [&](const char* name) {
        const auto it = json.find(name);
        if (it == json.end() || !it->is_string() || it->get<std::string>().empty())
            throw Error(ErrorCode::consent_invalid, std::string("consent: \"") + name + "\" is missing or not a string");
        return it->get<std::string>();
    };
    Consent consent{field("purpose"), field("legal_basis"), field("notice_version"), field("given_at"),
                    field("expires_at")};
    // The stores check again on enrolment; checking here refuses a bad record before any image work,
    // with the very same messages for the CLI and the HTTP API.
    store_detail::check_consent(consent);
    return consent;
}

nlohmann::json subject_json(const SubjectInfo& s) {
    nlohmann::json templates = nlohmann::json::array();
    for (const auto& t : s.templates)
        templates.push_back({{"id", t.id},
                             {"model_id", t.model_id},
                             {"created_at", t.created_at},
                             {"key_id", t.key_id},
                             {"quality_score", round_to(t.quality_score, 1)},
                             {"image_retained", t.image_retained}});
    return {{"tenant", s.tenant},         {"subject", s.reference},
            {"created_at", s.created_at}, {"updated_at", s.updated_at},
            {"consent", consent_json(s.consent)}, {"templates", templates}};
}

nlohmann::json audit_entry_json(const AuditEntry& e) {
    return {{"sequence", e.sequence}, {"time", e.time},       {"tenant", e.tenant},
            {"actor", e.actor},       {"action", e.action},   {"subject", e.subject},
            {"outcome", e.outcome},   {"details", e.details}, {"previous_hash", e.previous_hash},
            {"hash", e.hash}};
}

}  // namespace faceproof
