// faceproof — the audit trail kept in a Store: appends hash-chained entries (audit.hpp) and checks
// the stored chain.
//
// Atomicity: append() runs in Store::transaction(kAuditScope), so it joins a transaction the caller
// has open: an entry recording a change commits with that change or not at all (a crash between
// the two is impossible). Several processes and nodes may append to one database: the audit lock
// orders them. Take the audit scope last in a transaction (after tenant and change-feed locks).
//
// Thread safety: an AuditTrail uses its Store, which is not thread-safe; callers serialise (the
// Registry holds its store lock while appending).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceproof/audit.hpp"
#include "faceproof/store.hpp"

namespace faceproof {

class AuditTrail {
public:
    explicit AuditTrail(Store& store) : store_(store) {}

    static const std::string kAuditScope;  // the Store::transaction scope of every append

    // Appends the next entry of the chain and returns it.
    // requires: details pass check_no_biometrics (else Error{invalid_argument}, nothing written).
    // throws:   Error{store_error} when the database fails or the audit lock is not granted.
    AuditEntry append(const std::string& tenant, const std::string& actor, const std::string& action,
                      const std::string& subject, const std::string& outcome, const nlohmann::json& details);

    // Entries with sequence > after in ascending order, of one tenant or all (nullopt); limit >= 0.
    std::vector<AuditEntry> list(const std::optional<std::string>& tenant, std::int64_t after, std::int64_t limit);

    // Reads the whole chain in pages and checks it (verify_audit_chain). entries = count read.
    AuditCheck verify(std::int64_t* entries = nullptr);

    static AuditEntry to_entry(const AuditRow& row);  // details_json parsed; Error{store_error} if corrupt
    static AuditRow to_row(const AuditEntry& entry);

private:
    Store& store_;
};

// Who acts, as the audit trail names them: "cli:<login name>" for the command line (the user id
// when there is no name), "api-key:<id>" for the HTTP service.
std::string cli_actor();

}  // namespace faceproof
