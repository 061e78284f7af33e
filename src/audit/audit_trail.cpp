#include "faceproof/audit_trail.hpp"

#include <pwd.h>
#include <unistd.h>

#include "faceproof/error.hpp"

namespace faceproof {
namespace {
constexpr std::int64_t kVerifyPage = 5000;
}  // namespace

const std::string AuditTrail::kAuditScope = "audit";

AuditEntry AuditTrail::to_entry(const AuditRow& r) {
    AuditEntry e;
    e.sequence = r.sequence;
    e.time = r.time;
    e.tenant = r.tenant;
    e.actor = r.actor;
    e.action = r.action;
    e.subject = r.subject;
    e.outcome = r.outcome;
    // A row whose details are not JSON was written by something other than faceproof: the chain
    // check must report it, so it becomes a value that cannot hash to the stored hash.
    e.details = nlohmann::json::parse(r.details_json, nullptr, /*allow_exceptions=*/false);
    if (e.details.is_discarded()) e.details = nlohmann::json{{"unparseable_details", r.details_json}};
    e.previous_hash = r.previous_hash;
    e.hash = r.hash;
    return e;
}

AuditRow AuditTrail::to_row(const AuditEntry& e) {
    return AuditRow{e.sequence, e.time,    e.tenant,       e.actor, e.action, e.subject, e.outcome,
                    e.details.dump(),       e.previous_hash, e.hash};
}

AuditEntry AuditTrail::append(const std::string& tenant, const std::string& actor, const std::string& action,
                              const std::string& subject, const std::string& outcome,
                              const nlohmann::json& details) {
    // Under the audit lock the last entry cannot change between reading it and appending after
    // it, in this process or any other; inside a caller's transaction the entry commits (or rolls
    // back) with the change it records.
    AuditEntry entry;
    store_.transaction(kAuditScope, [&] {
        const std::optional<AuditRow> last = store_.last_audit();
        const std::optional<AuditEntry> previous = last ? std::optional(to_entry(*last)) : std::nullopt;
        entry = make_audit_entry(previous ? &*previous : nullptr, tenant, actor, action, subject, outcome, details);
        store_.append_audit(to_row(entry));
    });
    return entry;
}

std::vector<AuditEntry> AuditTrail::list(const std::optional<std::string>& tenant, std::int64_t after,
                                         std::int64_t limit) {
    std::vector<AuditEntry> out;
    for (const AuditRow& r : store_.audit(tenant, after, limit)) out.push_back(to_entry(r));
    return out;
}

AuditCheck AuditTrail::verify(std::int64_t* entries) {
    std::vector<AuditEntry> all;
    for (std::int64_t after = 0;;) {
        std::vector<AuditEntry> page = list(std::nullopt, after, kVerifyPage);
        if (page.empty()) break;
        after = page.back().sequence;
        all.insert(all.end(), std::make_move_iterator(page.begin()), std::make_move_iterator(page.end()));
    }
    if (entries) *entries = static_cast<std::int64_t>(all.size());
    return verify_audit_chain(all);
}

std::string cli_actor() {
    const uid_t uid = getuid();
    if (const passwd* pw = getpwuid(uid); pw && pw->pw_name && *pw->pw_name) return std::string("cli:") + pw->pw_name;
    return "cli:uid-" + std::to_string(uid);
}

}  // namespace faceproof
