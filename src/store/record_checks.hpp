// Validation shared by every Store backend, so SQLite and PostgreSQL refuse the same records with
// the same messages.
#pragma once

#include <cstdint>
#include <string>

#include "faceproof/store.hpp"

namespace faceproof::store_detail {

// Error{invalid_argument} when tenant or reference is empty.
void require_key(const std::string& tenant, const std::string& reference);
// Error{consent_invalid} unless every field is set, the times are RFC 3339, expires_at is after
// given_at and in the future. Returns expires_at as Unix milliseconds.
std::int64_t check_consent(const Consent& consent);
// Failed attempts older than this are forgotten whatever the rule (the table stays small).
constexpr std::int64_t kLongestLockoutWindowMs = 24ll * 3600 * 1000;
// Error{invalid_argument} for an empty key or a rule that is not positive or whose window is
// longer than kLongestLockoutWindowMs.
void check_lockout_rule(const std::string& key, const LockoutRule& rule);
// t, or the current time when t is empty.
std::string or_now(const std::string& t);

}  // namespace faceproof::store_detail
