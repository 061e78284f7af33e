// faceproof enroll --subject REF --consent FILE IMAGE... — enrol a consenting person: one sealed
// template per image, refused (exit 2, nothing stored) for no face, poor quality or a face that
// already belongs to another subject.
// faceproof search IMAGE — the 1:N duplicate check against the tenant's enrolled subjects.
#include <iomanip>
#include <iostream>

#include "cli/cli.hpp"
#include "faceproof/proofing.hpp"
#include "faceproof/quality.hpp"
#include "report/registry_json.hpp"
#include "util/input_file.hpp"
#include "util/text_file.hpp"

namespace faceproof::cli {
namespace {

// Analyses image files for the registry; a file that cannot be read names itself in the error.
std::vector<Capture> captures_of(const Context& context, const std::vector<std::filesystem::path>& images,
                                 QualityProfile profile) {
    auto models = context.open_models();
    auto engine = Engine::create(models);
    const auto quality = QualityAssessor::create();
    std::vector<Capture> out;
    for (const auto& path : images) {
        try {
            const auto bytes = read_file_limited(path, ImageLimits{}.max_bytes);
            out.push_back(analyse_capture(*engine, *quality, bytes, profile));
        } catch (const Error& e) {
            throw Error(e.code(), path.string() + ": " + e.what());
        }
    }
    return out;
}

Consent read_consent(const std::filesystem::path& file) {
    const std::string text = read_text_file(file, "consent file", input_limit::consent);
    const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) throw Error(ErrorCode::consent_invalid, file.string() + ": not valid JSON");
    try {
        return consent_from_json(json);
    } catch (const Error& e) {
        throw Error(e.code(), file.string() + ": " + e.what());
    }
}

void print_candidates(std::ostream& out, const std::vector<Candidate>& candidates) {
    for (const auto& c : candidates)
        out << "  " << (c.match ? "MATCH   " : "near    ") << std::fixed << std::setprecision(4) << c.similarity
            << "  " << c.subject << '\n';
}

}  // namespace

void register_enroll(CLI::App& app, Context& context) {
    struct Args {
        StoreOptions store;
        std::string subject, profile = "selfie";
        std::filesystem::path consent;
        std::vector<std::filesystem::path> images;
        bool add = false, allow_duplicate = false, retain_images = false;
        double search_fmr = 1e-2;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = app.add_subcommand(
        "enroll", "Enrol a consenting person: one encrypted template per image. Refused (exit 2, nothing "
                  "stored) when an image has no face or poor quality, or the face already belongs to another "
                  "enrolled subject. Exit 0 = enrolled");
    add_store_options(*cmd, args->store, true);
    cmd->add_option("--subject", args->subject, "The operator's reference for the person (unique per tenant)")
        ->required();
    cmd->add_option("--consent", args->consent,
                    "Consent record, JSON: purpose, legal_basis, notice_version, given_at, expires_at (RFC 3339)");
    cmd->add_option("IMAGE", args->images, "Face image(s) of the person")->required();
    cmd->add_flag("--add", args->add, "Add templates to an already enrolled subject (no --consent needed)");
    cmd->add_option("--profile", args->profile, "Quality profile of the images: selfie or document")
        ->default_val("selfie");
    cmd->add_flag("--allow-duplicate", args->allow_duplicate,
                  "Enrol even when the face matches another subject (e.g. identical twins, after review)");
    cmd->add_flag("--retain-images", args->retain_images,
                  "Also keep each image, encrypted like the templates (off by default)");
    cmd->add_option("--search-fmr", args->search_fmr, "Whole-search false-match rate of the duplicate check")
        ->default_val(1e-2)->check(CLI::Range(1e-12, 0.5));
    add_json_flag(*cmd, context);
    cmd->callback([&context, args] {
        context.action = [&context, args] {
            if (args->add == !args->consent.empty())
                throw Error(ErrorCode::invalid_argument, "enroll: give --consent FILE for a new subject, or --add");
            const QualityProfile profile = quality_profile_from_string(args->profile);
            std::optional<Consent> consent;
            if (!args->add) consent = read_consent(args->consent);  // a bad consent fails before any work
            RegistryOptions options;
            options.retain_images = args->retain_images;
            auto registry = open_registry(args->store, StoreOpening::create_if_missing, true, options);
            const std::vector<Capture> captures = captures_of(context, args->images, profile);
            EnrolmentPolicy policy;
            policy.refuse_duplicates = !args->allow_duplicate;
            policy.duplicate_search.search_fmr = args->search_fmr;
            const EnrolmentResult r =
                consent ? registry->enrol(cli_actor(), args->store.tenant, args->subject, *consent, captures, policy)
                        : registry->add_templates(cli_actor(), args->store.tenant, args->subject, captures, policy);
            nlohmann::json json = enrolment_json(r, captures);
            json["tenant"] = args->store.tenant;
            json["subject"] = args->subject;
            print(context, json, [&](std::ostream& out) {
                if (r.enrolled) {
                    out << "ENROLLED " << args->subject << " (tenant " << args->store.tenant << "): "
                        << r.template_ids.size() << (r.template_ids.size() == 1 ? " template" : " templates") << '\n';
                } else {
                    out << "REFUSED " << args->subject << ":";
                    for (const auto& reason : r.reasons) out << "\n  " << reason;
                    out << '\n';
                }
                if (!r.duplicates.empty()) {
                    out << "matches other subjects:\n";
                    print_candidates(out, r.duplicates);
                }
            });
            return r.enrolled ? exit_ok : exit_cannot_decide;
        };
    });
}

void register_search(CLI::App& app, Context& context) {
    struct Args {
        StoreOptions store;
        std::filesystem::path image;
        std::size_t top = 5;
        double search_fmr = 1e-2;
        std::string profile = "selfie";
    };
    auto args = std::make_shared<Args>();
    auto* cmd = app.add_subcommand(
        "search", "1:N duplicate check: which enrolled subjects of the tenant is this face? Exit 0 = found, "
                  "1 = no enrolled subject matches");
    add_store_options(*cmd, args->store, true);
    cmd->add_option("IMAGE", args->image, "Probe image")->required();
    cmd->add_option("--top", args->top, "Candidates to list at most")->default_val(5)->check(CLI::Range(1, 1000));
    cmd->add_option("--fmr", args->search_fmr,
                    "Target false-match rate of the whole search (the per-comparison threshold follows from "
                    "the gallery size)")
        ->default_val(1e-2)->check(CLI::Range(1e-12, 0.5));
    cmd->add_option("--profile", args->profile, "Quality profile reported for the probe: selfie or document")
        ->default_val("selfie");
    add_json_flag(*cmd, context);
    cmd->callback([&context, args] {
        context.action = [&context, args] {
            const QualityProfile profile = quality_profile_from_string(args->profile);
            auto registry = open_registry(args->store, StoreOpening::existing_only, true);
            const Capture probe = captures_of(context, {args->image}, profile).front();
            const SearchResult r = registry->search(cli_actor(), args->store.tenant, probe, {args->top, args->search_fmr});
            nlohmann::json json = search_json(r);
            json["quality"] = {{"pass", probe.quality.pass}, {"feedback", probe.quality.feedback}};
            print(context, json, [&](std::ostream& out) {
                out << (r.found() ? "FOUND" : "NOT FOUND") << ": " << r.gallery_subjects << " subjects ("
                    << r.gallery_templates << " templates, " << (r.approximate ? "HNSW" : "exact")
                    << "), threshold " << std::fixed << std::setprecision(4) << r.threshold << std::scientific
                    << std::setprecision(1) << " (per comparison FMR " << r.comparison_fmr << ", whole search "
                    << r.search_fmr << (r.threshold_clamped ? ", limited by the calibration" : "") << ")\n";
                print_candidates(out, r.candidates);
            });
            return r.found() ? exit_ok : exit_no_match;
        };
    });
}

}  // namespace faceproof::cli
