#include "store/record_checks.hpp"

#include <optional>
#include <utility>

#include "faceproof/error.hpp"
#include "store/rfc3339.hpp"

namespace faceproof::store_detail {

void require_key(const std::string& tenant, const std::string& reference) {
    if (tenant.empty() || reference.empty())
        throw Error(ErrorCode::invalid_argument, "store: tenant and reference must not be empty");
}

namespace {

[[noreturn]] void refuse(const std::string& why) { throw Error(ErrorCode::consent_invalid, "consent: " + why); }

// Code points of valid UTF-8 (no overlong forms, surrogates or values past U+10FFFF), or why not.
// Control characters are refused too: they have no place in a legal record and could forge log
// lines or terminal output where the record is shown.
std::optional<std::string> text_problem(const std::string& s, std::size_t max_chars) {
    std::size_t chars = 0;
    for (std::size_t i = 0; i < s.size();) {
        const auto b = static_cast<unsigned char>(s[i]);
        std::uint32_t cp = 0;
        std::size_t n = 0;
        if (b < 0x80) cp = b, n = 1;
        else if (b >= 0xC2 && b <= 0xDF) cp = b & 0x1F, n = 2;
        else if (b >= 0xE0 && b <= 0xEF) cp = b & 0x0F, n = 3;
        else if (b >= 0xF0 && b <= 0xF4) cp = b & 0x07, n = 4;
        else return "is not valid UTF-8";
        if (i + n > s.size()) return "is not valid UTF-8";
        for (std::size_t k = 1; k < n; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xC0) != 0x80) return "is not valid UTF-8";
            cp = (cp << 6) | (c & 0x3F);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
            return "is not valid UTF-8";
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return "contains a control character";
        i += n;
        if (++chars > max_chars) return "is longer than " + std::to_string(max_chars) + " characters";
    }
    return std::nullopt;
}

}  // namespace

std::int64_t check_consent(const Consent& c) {
    if (c.purpose.empty() || c.legal_basis.empty() || c.notice_version.empty() || c.given_at.empty() ||
        c.expires_at.empty())
        refuse("purpose, legal_basis, notice_version, given_at and expires_at are all required");
    const std::pair<const char*, const std::string*> texts[] = {
        {"purpose", &c.purpose}, {"legal_basis", &c.legal_basis}, {"notice_version", &c.notice_version}};
    for (const auto& [name, value] : texts)
        if (const auto problem = text_problem(*value, kMaxConsentTextChars))
            refuse(std::string("\"") + name + "\" " + *problem);
    for (const auto& [name, value] : {std::pair{"given_at", &c.given_at}, std::pair{"expires_at", &c.expires_at}})
        if (value->size() > kMaxConsentTimeChars)
            refuse(std::string("\"") + name + "\" is longer than " + std::to_string(kMaxConsentTimeChars) +
                   " characters");
    const auto given = parse_rfc3339_ms(c.given_at);
    const auto expires = parse_rfc3339_ms(c.expires_at);
    if (!given || !expires) refuse("given_at/expires_at must be RFC 3339");
    const std::int64_t now = now_unix_ms();
    if (*given > now + kMaxConsentClockSkewMs)
        refuse("given_at " + c.given_at + " is in the future (more than 5 minutes ahead of this clock)");
    if (*expires <= *given) refuse("expires_at must be after given_at");
    if (*expires <= now) refuse("already expired");
    return *expires;
}

void check_lockout_rule(const std::string& key, const LockoutRule& rule) {
    if (key.empty() || rule.failures < 1 || rule.window_ms <= 0 || rule.lock_ms <= 0 ||
        rule.window_ms > kLongestLockoutWindowMs)
        throw Error(ErrorCode::invalid_argument,
                    "store: a lockout needs a key, at least one failure, and a window of up to a day");
}

std::string or_now(const std::string& t) { return t.empty() ? now_rfc3339() : t; }

void check_new_session(const LivenessSessionRecord& s) {
    if (s.id.empty() || s.tenant.empty() || s.key_id.empty() || s.mode.empty() || s.challenge.empty() ||
        s.token_hash.empty())
        throw Error(ErrorCode::invalid_argument, "store: a liveness session needs id, tenant, key id, mode, challenge and token hash");
    if (s.expires_unix_ms <= s.created_unix_ms)
        throw Error(ErrorCode::invalid_argument, "store: a liveness session must expire after its creation");
    if (s.state != "open") throw Error(ErrorCode::invalid_argument, "store: a new liveness session is \"open\"");
}

void check_session_outcome(const std::string& state) {
    if (state != "decided" && state != "failed")
        throw Error(ErrorCode::invalid_argument, "store: a liveness session ends \"decided\" or \"failed\", not \"" + state + "\"");
}

}  // namespace faceproof::store_detail
