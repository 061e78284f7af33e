// faceproof — the tamper-evident audit log: every decision is one entry of a hash chain.
//
// Each entry's hash is the hex SHA-256 of a canonical serialisation of all its other fields,
// including previous_hash, so editing, removing or reordering entries breaks the chain.
// Canonical serialisation: nlohmann::json::dump() (compact, ensure_ascii) of an object
//   {"format":"faceproof-audit/1","sequence","time","tenant","actor","action","subject","outcome",
//    "details","previous_hash"}
// nlohmann::json keeps object keys sorted (std::map), recursively, and prints numbers in a fixed
// shortest-round-trip form, so the bytes depend only on the values — canonical enough as long as
// entries are rebuilt from the same JSON values (an integer 1 and a float 1.0 are different values;
// non-finite numbers are rejected by make_audit_entry because JSON cannot hold them).
//
// Limits: the chain alone cannot show that entries were cut off at the end (tail truncation); keep
// the latest sequence and hash somewhere else (another system, a signed checkpoint) and compare.
// A chain that starts after entry 1 (pruned head) verifies only when the caller passes the hash
// the first remaining entry must point back to.
//
// Thread safety: all functions are reentrant. Appending is not synchronised here: the store must
// serialise appends (one writer, or a transaction that reads the last entry and inserts the next).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace faceproof {

struct AuditEntry {
    std::int64_t sequence = 0;  // 1, 2, 3, ... without gaps
    std::string time;           // RFC 3339 UTC, e.g. "2024-05-01T12:00:00Z" or with ".123Z"
    std::string tenant, actor, action, subject, outcome;
    nlohmann::json details;     // scores, thresholds, model id — never templates or images
    std::string previous_hash;  // hash of the previous entry; 64 '0' for the first
    std::string hash;           // audit_hash(*this)
};

// 64 zeros: previous_hash of entry 1.
extern const std::string kAuditGenesisHash;

// Hex SHA-256 of the canonical serialisation of every field except hash (see above).
// Throws Error{invalid_argument} when details cannot be serialised (e.g. invalid UTF-8).
std::string audit_hash(const AuditEntry& entry);

// The current time as RFC 3339 UTC with milliseconds ("2024-05-01T12:00:00.123Z").
std::string audit_time_now();

// requires: previous is the last entry of the chain (nullptr for the first) with a correct hash;
//           details pass check_no_biometrics and hold only finite numbers; time is RFC 3339 UTC
//           ending in 'Z' (empty means audit_time_now()).
// ensures:  sequence = previous->sequence + 1 (or 1), previous_hash = previous->hash (or 64 zeros),
//           hash = audit_hash(result). Violations throw Error{invalid_argument}.
AuditEntry make_audit_entry(const AuditEntry* previous, std::string tenant, std::string actor,
                            std::string action, std::string subject, std::string outcome,
                            nlohmann::json details, std::string time = {});

struct AuditCheck {
    bool ok = true;
    std::int64_t first_bad_sequence = 0;  // the stored sequence of the first entry that fails; 0 if ok
    std::string problem;                  // what failed, for people; empty if ok
};

// Checks, in order: every entry's hash matches its content (an edited entry is reported itself),
// sequences increase by exactly 1 and previous_hash is the preceding entry's hash (a removed or
// moved entry is reported at the first entry after the break). The first entry must be sequence 1
// with previous_hash 64 zeros, unless expected_first_previous_hash is given: then the first
// entry's previous_hash must equal it (a pruned head). An empty list is ok.
AuditCheck verify_audit_chain(const std::vector<AuditEntry>& entries,
                              const std::optional<std::string>& expected_first_previous_hash = std::nullopt);

// Throws Error{invalid_argument} when details (at any depth) hold a key containing, case-
// insensitively, "template", "embedding", "image", "photo" or "selfie", an array of more than 16
// numbers, or binary data — so biometric data can never slip into the log.
void check_no_biometrics(const nlohmann::json& details);

}  // namespace faceproof
