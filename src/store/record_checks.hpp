// Validation shared by every Store backend, so SQLite and PostgreSQL refuse the same records with
// the same messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "faceproof/store.hpp"

namespace faceproof::store_detail {

// Error{invalid_argument} when tenant or reference is empty.
void require_key(const std::string& tenant, const std::string& reference);
// Bounds of a consent record's fields (README "consent file").
inline constexpr std::size_t kMaxConsentTextChars = 256;     // purpose, legal_basis, notice_version
inline constexpr std::size_t kMaxConsentTimeChars = 64;      // given_at, expires_at
inline constexpr std::int64_t kMaxConsentClockSkewMs = 5 * 60 * 1000;  // given_at may be this far ahead

// Error{consent_invalid} naming the field unless every field is set; purpose, legal_basis and
// notice_version are valid UTF-8 of at most 256 characters (code points) without control
// characters (C0, DEL, C1); the times are RFC 3339 of at most 64 characters; given_at is not more
// than 5 minutes in the future (clock skew); expires_at is after given_at and in the future.
// Returns expires_at as Unix milliseconds. One function for every entry point (CLI consent files,
// the HTTP API, both store backends), so all refuse the same records with the same messages.
std::int64_t check_consent(const Consent& consent);
// Failed attempts older than this are forgotten whatever the rule (the table stays small).
constexpr std::int64_t kLongestLockoutWindowMs = 24ll * 3600 * 1000;
// Error{invalid_argument} for an empty key or a rule that is not positive or whose window is
// longer than kLongestLockoutWindowMs.
void check_lockout_rule(const std::string& key, const LockoutRule& rule);
// A new liveness session: id, tenant, key id, mode, challenge, token hash set; expiry after creation;
// state "open". Error{invalid_argument} otherwise.
void check_new_session(const LivenessSessionRecord& session);
// A state finish_session may record: "decided" or "failed".
void check_session_outcome(const std::string& state);
// t, or the current time when t is empty.
std::string or_now(const std::string& t);

}  // namespace faceproof::store_detail
