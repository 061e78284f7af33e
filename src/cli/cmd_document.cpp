// faceproof document check|mrz|id-number — identity documents: the chip files of an ICAO 9303
// document (passive authentication, DG1's MRZ, DG2's portrait) against the operator's trust store;
// the MRZ typed or read by a client; the PRC citizen identity number (GB 11643).
// Exit 0 = valid, 1 = a check failed (invalid or untrusted document, check digit, expired,
// impossible date), 2 = unreadable (document_malformed, io_error), 64 = usage.
#include <cctype>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "document/id_number.hpp"
#include "faceproof/document.hpp"
#include "faceproof/mrz.hpp"
#include "report/document_json.hpp"
#include "store/rfc3339.hpp"

namespace faceproof::cli {
namespace {

std::chrono::sys_days decision_day(const std::optional<std::string>& now) {
    return std::chrono::floor<std::chrono::days>(document_decision_time(now));
}

void print_reasons(std::ostream& out, const nlohmann::json& reasons) {
    if (reasons.empty()) return;
    out << "reasons:";
    for (const auto& r : reasons) out << ' ' << r.get<std::string>();
    out << '\n';
}

void print_document_check(std::ostream& out, const DocumentCheck& check) {
    const auto upper = [](std::string_view s) {
        std::string u(s);
        for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return u;
    };
    out << upper(to_string(check.status)) << " document: " << check.mrz.document_code << " "
        << check.mrz.document_number << " issued by " << check.mrz.issuing_state << ", holder "
        << check.mrz.primary_identifier << ", " << check.mrz.secondary_identifier << "\n";
    out << "  SOD signature     " << check.sod_signature << " (" << check.signature_algorithm << ")"
        << (check.sod_signature_detail.empty() ? "" : ": " + check.sod_signature_detail) << "\n";
    for (const auto& [dg, status] : check.dg_hashes)
        out << "  " << std::left << std::setw(18) << (dg + " hash") << status << " (" << check.hash_algorithm << ")\n";
    out << "  chain             " << check.chain << (check.csca.empty() ? "" : " to " + check.csca)
        << (check.chain_detail.empty() ? "" : ": " + check.chain_detail) << " (checked at "
        << (check.chain_checked_at_signing_time ? "the signing time" : "now") << ")\n";
    out << "  MRZ check digits  " << (check.mrz_check_digits_ok ? "valid" : "invalid") << "\n";
    out << "  expiry date       " << check.mrz.expiry_date << (check.document_expired ? " EXPIRED" : "") << "\n";
    out << "  portrait          " << check.portrait.format << " " << check.portrait.width << "x" << check.portrait.height
        << " (" << check.portrait.encoding << ")\n";
    if (!check.chip_security_infos.empty()) {
        out << "  DG14 protocols   ";
        for (const auto& p : check.chip_security_infos) out << " " << p << ";";
        out << "\n";
    }
    if (check.active_authentication_key) out << "  DG15 key          " << *check.active_authentication_key << "\n";
    out << "  chip authenticity " << kCloneNote << "\n";
    print_reasons(out, nlohmann::json(check.reasons));
}

void register_check(CLI::App& document, Context& context) {
    struct Args {
        std::filesystem::path bundle, trust;
        std::optional<std::string> now;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = document.add_subcommand(
        "check", "Check a chip document read by an NFC reader: EF.SOD signature, data-group hashes, the chain to "
                 "a trusted CSCA, DG1's MRZ, DG2's portrait. Exit 0 = valid, 1 = invalid or untrusted, 2 = unreadable");
    cmd->add_option("DIR", args->bundle, "Directory with EF.SOD, DG1, DG2 (and DG14, DG15 when read)")->required();
    cmd->add_option("--trust", args->trust,
                    "CSCA trust store: a file or directory of CSCA certificates (PEM/DER), master lists (.ml), CRLs (.crl)")
        ->required();
    cmd->add_option("--now", args->now, "Decision time (YYYY-MM-DD or RFC 3339; default: now)");
    add_json_flag(*cmd, context);
    cmd->callback([&context, args] {
        context.action = [&context, args] {
            const auto now = document_decision_time(args->now);
            const auto trust = load_trust_store(args->trust);
            const DocumentCheck check = check_document(DocumentBundle::read_directory(args->bundle), *trust, now);
            print(context, document_check_json(check), [&](std::ostream& out) { print_document_check(out, check); });
            return check.status == DocumentStatus::valid ? exit_ok : exit_no_match;
        };
    });
}

void register_mrz(CLI::App& document, Context& context) {
    struct Args {
        std::vector<std::string> lines;
        std::optional<std::string> now;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = document.add_subcommand(
        "mrz", "Parse and check an ICAO 9303 machine readable zone (TD1 3x30, TD2 2x36, TD3 2x44, visas): "
               "fields, check digits, dates. Exit 0 = valid, 1 = a check failed, 2 = not an MRZ");
    cmd->add_option("LINES", args->lines, "The MRZ lines, top to bottom (quote each: they hold '<')")
        ->required()
        ->expected(1, 3);
    cmd->add_option("--now", args->now, "Decision date (YYYY-MM-DD or RFC 3339; default: today, UTC)");
    add_json_flag(*cmd, context);
    cmd->callback([&context, args] {
        context.action = [&context, args] {
            const Mrz mrz = parse_mrz(args->lines);
            const MrzDateChecks dates = check_mrz_dates(mrz, decision_day(args->now));
            const nlohmann::json j = mrz_json(mrz, dates);
            const bool valid = j["valid"].get<bool>();
            print(context, j, [&](std::ostream& out) {
                out << (valid ? "VALID" : "INVALID") << " " << to_string(mrz.format) << " MRZ\n";
                out << "  document      " << mrz.document_code << " " << mrz.document_number << ", issued by "
                    << mrz.issuing_state << "\n";
                out << "  holder        " << mrz.primary_identifier << ", " << mrz.secondary_identifier
                    << (mrz.name_possibly_truncated ? " (name may be truncated)" : "") << "\n";
                out << "  nationality   " << mrz.nationality << "\n";
                out << "  birth date    " << mrz.birth_date << " (" << to_string(dates.birth.state) << ")\n";
                out << "  expiry date   " << mrz.expiry_date << " (" << to_string(dates.expiry.state) << ")\n";
                for (const MrzCheck& c : mrz.checks)
                    out << "  check digit   " << std::left << std::setw(16) << c.name << c.expected
                        << (c.ok ? " ok" : std::string(" WRONG (computed ") + c.computed + ")") << '\n';
                print_reasons(out, j["reasons"]);
            });
            return valid ? exit_ok : exit_no_match;
        };
    });
}

void register_id_number(CLI::App& document, Context& context) {
    struct Args {
        std::string number;
        std::optional<std::string> now;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = document.add_subcommand(
        "id-number", "Check an 18-character PRC citizen identity number (GB 11643: MOD 11-2 check character, "
                     "birth date). Exit 0 = valid, 1 = a check failed, 2 = not such a number");
    cmd->add_option("NUMBER", args->number, "The 18 characters (the last may be X)")->required();
    cmd->add_option("--now", args->now, "Decision date (YYYY-MM-DD or RFC 3339; default: today, UTC)");
    add_json_flag(*cmd, context);
    cmd->callback([&context, args] {
        context.action = [&context, args] {
            const CitizenIdNumber number = check_citizen_id_number(args->number, decision_day(args->now));
            const nlohmann::json j = id_number_json(number);
            print(context, j, [&](std::ostream& out) {
                out << (number.ok ? "VALID" : "INVALID") << " citizen identity number " << number.number << "\n";
                out << "  region code       " << number.region_code << "\n";
                out << "  birth date        " << number.birth_date_raw << (number.birth_date_ok ? " ok" : " INVALID")
                    << "\n";
                out << "  check character   " << number.check_character
                    << (number.check_character_ok ? " ok"
                                                  : std::string(" WRONG (computed ") + number.computed_check_character + ")")
                    << "\n";
                out << "  (the chip of this card is not readable without a licensed reader: only the number's own "
                       "checks are possible)\n";
                print_reasons(out, j["reasons"]);
            });
            return number.ok ? exit_ok : exit_no_match;
        };
    });
}

}  // namespace

// The time of the decision: --now as YYYY-MM-DD (midnight UTC) or an RFC 3339 time, else now.
std::chrono::system_clock::time_point document_decision_time(const std::optional<std::string>& now) {
    if (!now) return std::chrono::system_clock::now();
    std::string text = *now;
    if (text.size() == 10) text += "T00:00:00Z";
    const auto ms = store_detail::parse_rfc3339_ms(text);
    if (!ms)
        throw Error(ErrorCode::invalid_argument, "--now: \"" + *now + "\" is not a date (YYYY-MM-DD) or an RFC 3339 time");
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(*ms));
}

void register_document(CLI::App& app, Context& context) {
    auto* document = app.add_subcommand("document", "Identity documents: ICAO 9303 chip files and MRZ, the PRC citizen number");
    document->require_subcommand(1);
    register_check(*document, context);
    register_mrz(*document, context);
    register_id_number(*document, context);
}

}  // namespace faceproof::cli
