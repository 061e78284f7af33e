#include "store/record_checks.hpp"

#include "faceproof/error.hpp"
#include "store/rfc3339.hpp"

namespace faceproof::store_detail {

void require_key(const std::string& tenant, const std::string& reference) {
    if (tenant.empty() || reference.empty())
        throw Error(ErrorCode::invalid_argument, "store: tenant and reference must not be empty");
}

std::int64_t check_consent(const Consent& c) {
    if (c.purpose.empty() || c.legal_basis.empty() || c.notice_version.empty() || c.given_at.empty() ||
        c.expires_at.empty())
        throw Error(ErrorCode::consent_invalid,
                    "consent: purpose, legal_basis, notice_version, given_at and expires_at are all required");
    const auto given = parse_rfc3339_ms(c.given_at);
    const auto expires = parse_rfc3339_ms(c.expires_at);
    if (!given || !expires) throw Error(ErrorCode::consent_invalid, "consent: given_at/expires_at must be RFC 3339");
    if (*expires <= *given) throw Error(ErrorCode::consent_invalid, "consent: expires_at must be after given_at");
    if (*expires <= now_unix_ms()) throw Error(ErrorCode::consent_invalid, "consent: already expired");
    return *expires;
}

void check_lockout_rule(const std::string& key, const LockoutRule& rule) {
    if (key.empty() || rule.failures < 1 || rule.window_ms <= 0 || rule.lock_ms <= 0 ||
        rule.window_ms > kLongestLockoutWindowMs)
        throw Error(ErrorCode::invalid_argument,
                    "store: a lockout needs a key, at least one failure, and a window of up to a day");
}

std::string or_now(const std::string& t) { return t.empty() ? now_rfc3339() : t; }

}  // namespace faceproof::store_detail
