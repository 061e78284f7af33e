// faceproof subjects list|show|delete — the enrolled subjects of a tenant (never their templates);
// faceproof purge — delete every subject whose consent has expired.
#include <iostream>

#include "cli/cli.hpp"
#include "report/registry_json.hpp"

namespace faceproof::cli {

void register_subjects(CLI::App& app, Context& context) {
    struct Args {
        StoreOptions store;
        std::string subject, now;
        std::int64_t limit = 100, offset = 0;
        bool vacuum = true, all = false;
    };
    auto args = std::make_shared<Args>();
    auto* subjects = app.add_subcommand("subjects", "Enrolled subjects of a tenant");
    subjects->require_subcommand(1);

    auto* list = subjects->add_subcommand(
        "list", "References of the tenant's subjects, in order: a page of --limit from --offset (says when more "
                "follow), or --all");
    add_store_options(*list, args->store, false);
    auto* limit = list->add_option("--limit", args->limit, "At most this many")->default_val(100)
                      ->check(CLI::Range(0, 1000000));
    auto* offset = list->add_option("--offset", args->offset, "Skip this many first")->default_val(0)
                       ->check(CLI::NonNegativeNumber);
    list->add_flag("--all", args->all, "Every subject of the tenant")->excludes(limit)->excludes(offset);
    add_json_flag(*list, context);
    list->callback([&context, args] {
        context.action = [&context, args] {
            auto registry = open_registry(args->store, StoreOpening::existing_only, false);
            std::vector<std::string> refs;
            bool more = false;
            if (args->all) {
                constexpr std::int64_t kPage = 1000;
                for (;;) {
                    const auto page = registry->subjects(args->store.tenant, kPage, static_cast<std::int64_t>(refs.size()));
                    refs.insert(refs.end(), page.begin(), page.end());
                    if (static_cast<std::int64_t>(page.size()) < kPage) break;
                }
            } else {
                // One more than asked tells whether the page is the last one.
                refs = registry->subjects(args->store.tenant, args->limit + 1, args->offset);
                more = static_cast<std::int64_t>(refs.size()) > args->limit;
                if (more) refs.resize(static_cast<std::size_t>(args->limit));
            }
            const std::int64_t offset = args->all ? 0 : args->offset;
            const std::int64_t next = offset + static_cast<std::int64_t>(refs.size());
            print(context,
                  {{"tenant", args->store.tenant}, {"subjects", refs}, {"offset", offset}, {"more", more},
                   {"next_offset", more ? nlohmann::json(next) : nlohmann::json()}},
                  [&](std::ostream& out) {
                      for (const auto& r : refs) out << r << '\n';
                  });
            // Said beside the list (stderr), so that stdout stays one reference per line.
            if (more && !context.json)
                note("listed " + std::to_string(refs.size()) + " subjects from offset " + std::to_string(offset) +
                     "; more follow: --offset " + std::to_string(next) + " for the next page, --all for every one");
            return exit_ok;
        };
    });

    auto* show = subjects->add_subcommand("show", "A subject's consent record and templates (metadata only). "
                                                  "Exit 1 = no such subject");
    add_store_options(*show, args->store, false);
    show->add_option("SUBJECT", args->subject, "Subject reference")->required();
    add_json_flag(*show, context);
    show->callback([&context, args] {
        context.action = [&context, args] {
            const auto s = open_registry(args->store, StoreOpening::existing_only, false)->subject(args->store.tenant, args->subject);
            if (!s) throw Error(ErrorCode::not_found, "no subject '" + args->subject + "' in tenant " + args->store.tenant);
            print(context, subject_json(*s), [&](std::ostream& out) { out << subject_json(*s).dump(2) << '\n'; });
            return exit_ok;
        };
    });

    auto* del = subjects->add_subcommand(
        "delete", "Delete a subject: consent, templates, retained images and index entries; then compact the "
                  "database so the bytes leave its files. Exit 1 = no such subject");
    add_store_options(*del, args->store, false);
    del->add_option("SUBJECT", args->subject, "Subject reference")->required();
    del->add_flag("--vacuum,!--no-vacuum", args->vacuum, "Compact the database afterwards (default)");
    add_json_flag(*del, context);
    del->callback([&context, args] {
        context.action = [&context, args] {
            auto registry = open_registry(args->store, StoreOpening::existing_only, false);
            const bool removed = registry->remove(cli_actor(), args->store.tenant, args->subject);
            if (!removed) throw Error(ErrorCode::not_found, "no subject '" + args->subject + "' in tenant " + args->store.tenant);
            if (args->vacuum) registry->vacuum();
            print(context, {{"tenant", args->store.tenant}, {"subject", args->subject}, {"deleted", true}},
                  [&](std::ostream& out) { out << "deleted " << args->subject << '\n'; });
            return exit_ok;
        };
    });

    auto* purge = app.add_subcommand("purge", "Delete every subject (all tenants) whose consent has expired");
    add_store_options(*purge, args->store, false);
    purge->add_option("--now", args->now, "Treat this RFC 3339 instant as now (default: the current time)");
    purge->add_flag("--vacuum,!--no-vacuum", args->vacuum, "Compact the database afterwards (default)");
    add_json_flag(*purge, context);
    purge->callback([&context, args] {
        context.action = [&context, args] {
            auto registry = open_registry(args->store, StoreOpening::existing_only, false);
            const auto purged = registry->purge(cli_actor(), args->now);
            if (args->vacuum && !purged.empty()) registry->vacuum();
            print(context, {{"purged", purged}}, [&](std::ostream& out) {
                out << "purged " << purged.size() << (purged.size() == 1 ? " subject" : " subjects") << '\n';
                for (const auto& p : purged) out << "  " << p << '\n';
            });
            return exit_ok;
        };
    });
}

}  // namespace faceproof::cli
