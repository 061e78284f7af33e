// faceproof — the audit hash chain: building, hashing, verifying, and the no-biometrics guard.
#include "faceproof/audit.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cctype>
#include <cmath>
#include <ctime>
#include <span>

#include "faceproof/error.hpp"
#include "faceproof/crypto.hpp"

namespace faceproof {

const std::string kAuditGenesisHash(64, '0');

namespace {

constexpr std::size_t kMaxNumbersInArray = 16;
constexpr std::array<std::string_view, 5> kBiometricWords = {"template", "embedding", "image", "photo", "selfie"};

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

void check_biometrics_at(const nlohmann::json& j, const std::string& where) {
    if (j.is_binary()) throw Error(ErrorCode::invalid_argument, "audit details hold binary data at " + where);
    if (j.is_object()) {
        for (const auto& [key, value] : j.items()) {
            const std::string k = lower(key);
            for (const auto word : kBiometricWords)
                if (k.find(word) != std::string::npos)
                    throw Error(ErrorCode::invalid_argument,
                                "audit details must not hold biometric data: key \"" + key + "\" at " + where +
                                    " looks like " + std::string(word) +
                                    " data (log scores, thresholds and ids; put a template id in the subject)");
            check_biometrics_at(value, where + "/" + key);
        }
    } else if (j.is_array()) {
        const auto numbers = std::count_if(j.begin(), j.end(), [](const nlohmann::json& e) { return e.is_number(); });
        if (static_cast<std::size_t>(numbers) > kMaxNumbersInArray)
            throw Error(ErrorCode::invalid_argument,
                        "audit details must not hold biometric data: array at " + where + " has " +
                            std::to_string(numbers) + " numbers (more than " + std::to_string(kMaxNumbersInArray) +
                            " looks like an embedding)");
        std::size_t i = 0;
        for (const auto& e : j) check_biometrics_at(e, where + "/" + std::to_string(i++));
    }
}

void check_finite(const nlohmann::json& j, const std::string& where) {
    if (j.is_number_float() && !std::isfinite(j.get<double>()))
        throw Error(ErrorCode::invalid_argument, "audit details hold a non-finite number at " + where);
    if (j.is_object())
        for (const auto& [key, value] : j.items()) check_finite(value, where + "/" + key);
    else if (j.is_array()) {
        std::size_t i = 0;
        for (const auto& e : j) check_finite(e, where + "/" + std::to_string(i++));
    }
}

bool is_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// YYYY-MM-DDTHH:MM:SS[.fraction]Z — the UTC subset of RFC 3339 the log uses.
bool is_rfc3339_utc(std::string_view t) {
    if (t.size() < 20 || t.back() != 'Z') return false;
    if (!is_digits(t.substr(0, 4)) || t[4] != '-' || !is_digits(t.substr(5, 2)) || t[7] != '-' ||
        !is_digits(t.substr(8, 2)) || t[10] != 'T' || !is_digits(t.substr(11, 2)) || t[13] != ':' ||
        !is_digits(t.substr(14, 2)) || t[16] != ':' || !is_digits(t.substr(17, 2)))
        return false;
    const auto rest = t.substr(19, t.size() - 20);
    return rest.empty() || (rest[0] == '.' && is_digits(rest.substr(1)));
}

AuditCheck bad(std::int64_t sequence, std::string problem) { return {false, sequence, std::move(problem)}; }

}  // namespace

std::string audit_hash(const AuditEntry& e) {
    const nlohmann::json canonical = {
        {"format", "faceproof-audit/1"}, {"sequence", e.sequence}, {"time", e.time},
        {"tenant", e.tenant},            {"actor", e.actor},       {"action", e.action},
        {"subject", e.subject},          {"outcome", e.outcome},   {"details", e.details},
        {"previous_hash", e.previous_hash},
    };
    std::string text;
    try {
        text = canonical.dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::strict);
    } catch (const nlohmann::json::exception& ex) {
        throw Error(ErrorCode::invalid_argument, std::string("audit entry cannot be serialised: ") + ex.what());
    }
    return sha256_hex(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

std::string audit_time_now() {
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[48];
    std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms));
    return out;
}

AuditEntry make_audit_entry(const AuditEntry* previous, std::string tenant, std::string actor, std::string action,
                            std::string subject, std::string outcome, nlohmann::json details, std::string time) {
    check_no_biometrics(details);
    check_finite(details, "details");
    if (time.empty()) time = audit_time_now();
    if (!is_rfc3339_utc(time))
        throw Error(ErrorCode::invalid_argument,
                    "audit time \"" + time + "\" is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SS[.fff]Z)");
    AuditEntry e;
    if (previous) {
        if (previous->hash != audit_hash(*previous))
            throw Error(ErrorCode::invalid_argument, "previous audit entry " + std::to_string(previous->sequence) +
                                                         " does not match its hash; the chain is broken");
        e.sequence = previous->sequence + 1;
        e.previous_hash = previous->hash;
    } else {
        e.sequence = 1;
        e.previous_hash = kAuditGenesisHash;
    }
    e.time = std::move(time);
    e.tenant = std::move(tenant);
    e.actor = std::move(actor);
    e.action = std::move(action);
    e.subject = std::move(subject);
    e.outcome = std::move(outcome);
    e.details = std::move(details);
    e.hash = audit_hash(e);
    return e;
}

AuditCheck verify_audit_chain(const std::vector<AuditEntry>& entries,
                              const std::optional<std::string>& expected_first_previous_hash) {
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const AuditEntry& e = entries[i];
        const std::string seq = std::to_string(e.sequence);
        std::string actual;
        try {
            actual = audit_hash(e);
        } catch (const Error& ex) {
            return bad(e.sequence, "entry " + seq + " cannot be hashed: " + ex.what());
        }
        if (actual != e.hash)
            return bad(e.sequence, "entry " + seq + " was altered: its content hashes to " + actual +
                                       ", the stored hash is " + e.hash);
        if (i == 0) {
            if (expected_first_previous_hash) {
                if (e.previous_hash != *expected_first_previous_hash)
                    return bad(e.sequence, "first entry " + seq + " points back to " + e.previous_hash +
                                               ", expected " + *expected_first_previous_hash);
                if (e.previous_hash == kAuditGenesisHash && e.sequence != 1)
                    return bad(e.sequence, "first entry has sequence " + seq + " but the genesis previous hash");
                if (e.sequence < 1) return bad(e.sequence, "first entry has sequence " + seq + " (must be >= 1)");
            } else {
                if (e.sequence != 1)
                    return bad(e.sequence, "the chain starts at sequence " + seq +
                                               ", not 1: entries before it are missing (pass the expected "
                                               "previous hash to verify a pruned chain)");
                if (e.previous_hash != kAuditGenesisHash)
                    return bad(e.sequence, "entry 1 does not point back to the genesis hash (64 zeros)");
            }
            continue;
        }
        const AuditEntry& p = entries[i - 1];
        if (e.sequence != p.sequence + 1)
            return bad(e.sequence, "entry " + seq + " follows entry " + std::to_string(p.sequence) +
                                       ": entries are missing or out of order");
        if (e.previous_hash != p.hash)
            return bad(e.sequence, "entry " + seq + " does not point back to entry " + std::to_string(p.sequence) +
                                       "'s hash: an entry was replaced, removed or reordered");
    }
    return {};
}

void check_no_biometrics(const nlohmann::json& details) { check_biometrics_at(details, "details"); }

}  // namespace faceproof
