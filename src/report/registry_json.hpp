// JSON shapes of registry results, shared by the CLI and the HTTP service.
#pragma once

#include <nlohmann/json.hpp>

#include "faceproof/audit.hpp"
#include "faceproof/registry.hpp"

namespace faceproof {

// {"subject", "similarity", "match"}
nlohmann::json candidate_json(const Candidate& candidate);
// {"found", "candidates": [...], "threshold", "comparison_fmr", "search_fmr", "threshold_clamped",
//  "gallery": {"templates", "subjects"}, "method": "exact"|"hnsw"}
nlohmann::json search_json(const SearchResult& result);
// {"enrolled", "reasons", "duplicates", "template_ids", "quality": [{"image", "faces", "pass",
//  "feedback"}]} — the captures give the per-image quality.
nlohmann::json enrolment_json(const EnrolmentResult& result, const std::vector<Capture>& captures);
// {"tenant", "subject", "created_at", "updated_at", "consent": {...}, "templates": [...]}
nlohmann::json subject_json(const SubjectInfo& subject);
nlohmann::json consent_json(const Consent& consent);
// Parses a consent record and checks it as the stores do (store_detail::check_consent: bounded
// UTF-8 text fields, RFC 3339 times, given_at at most 5 minutes ahead, not expired);
// Error{consent_invalid} naming the missing, non-string or refused field.
Consent consent_from_json(const nlohmann::json& json);
nlohmann::json audit_entry_json(const AuditEntry& entry);

}  // namespace faceproof
