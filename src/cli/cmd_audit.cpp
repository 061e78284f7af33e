// faceproof audit list|verify — read the audit trail; check its hash chain.
#include <iostream>

#include "cli/cli.hpp"
#include "faceproof/audit_trail.hpp"
#include "report/registry_json.hpp"

namespace faceproof::cli {

void register_audit(CLI::App& app, Context& context) {
    struct Args {
        StoreOptions store;
        bool all_tenants = false;
        std::int64_t after = 0, limit = 100;
    };
    auto args = std::make_shared<Args>();
    auto* audit = app.add_subcommand("audit", "The audit trail: every decision, without biometric data");
    audit->require_subcommand(1);

    auto* list = audit->add_subcommand("list", "Entries in order (of --tenant, or --all-tenants)");
    add_store_options(*list, args->store, false);
    list->add_flag("--all-tenants", args->all_tenants, "Entries of every tenant, including global ones");
    list->add_option("--after", args->after, "Entries after this sequence number")->default_val(0)
        ->check(CLI::NonNegativeNumber);
    list->add_option("--limit", args->limit, "At most this many")->default_val(100)->check(CLI::Range(0, 1000000));
    add_json_flag(*list, context);
    list->callback([&context, args] {
        context.action = [&context, args] {
            auto store = open_store(args->store, StoreOpening::existing_only);
            const auto entries = AuditTrail(*store).list(
                args->all_tenants ? std::nullopt : std::optional(args->store.tenant), args->after, args->limit);
            nlohmann::json json = nlohmann::json::array();
            for (const auto& e : entries) json.push_back(audit_entry_json(e));
            print(context, {{"entries", json}}, [&](std::ostream& out) {
                for (const auto& e : entries)
                    out << e.sequence << '\t' << e.time << '\t' << (e.tenant.empty() ? "-" : e.tenant) << '\t'
                        << e.actor << '\t' << e.action << '\t' << (e.subject.empty() ? "-" : e.subject) << '\t'
                        << e.outcome << '\t' << e.details.dump() << '\n';
            });
            return exit_ok;
        };
    });

    auto* verify = audit->add_subcommand(
        "verify", "Check the hash chain: exit 0 = intact, 1 = an entry was edited, removed or reordered "
                  "(cutting entries off the end is only visible against a saved last hash)");
    add_store_options(*verify, args->store, false);
    add_json_flag(*verify, context);
    verify->callback([&context, args] {
        context.action = [&context, args] {
            auto store = open_store(args->store, StoreOpening::existing_only);
            AuditTrail trail(*store);
            std::int64_t entries = 0;
            const AuditCheck check = trail.verify(&entries);
            const auto last = store->last_audit();
            nlohmann::json json{{"ok", check.ok}, {"entries", entries}};
            if (!check.ok) json["first_bad_sequence"] = check.first_bad_sequence, json["problem"] = check.problem;
            if (last) json["last_sequence"] = last->sequence, json["last_hash"] = last->hash;
            print(context, json, [&](std::ostream& out) {
                if (check.ok)
                    out << "audit chain intact: " << entries << " entries"
                        << (last ? ", last " + std::to_string(last->sequence) + " " + last->hash : std::string()) << '\n';
                else
                    out << "AUDIT CHAIN BROKEN at entry " << check.first_bad_sequence << ": " << check.problem << '\n';
            });
            return check.ok ? exit_ok : exit_no_match;
        };
    });
}

}  // namespace faceproof::cli
