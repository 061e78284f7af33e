// faceproof document mrz|id-number — checks of identity-document data typed or read by a client:
// the ICAO 9303 machine readable zone, and the PRC citizen identity number (GB 11643).
// Exit 0 = valid, 1 = a check failed (check digit, expired, impossible date), 2 = not an MRZ / not
// an ID number (document_malformed), 64 = usage.
#include <chrono>
#include <iomanip>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli.hpp"
#include "document/id_number.hpp"
#include "document/mrz.hpp"
#include "report/document_json.hpp"
#include "store/rfc3339.hpp"

namespace faceproof::cli {
namespace {

// The UTC day of the decision: --now as YYYY-MM-DD or an RFC 3339 time, else today.
std::chrono::sys_days decision_day(const std::optional<std::string>& now) {
    if (!now) return std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
    std::string text = *now;
    if (text.size() == 10) text += "T00:00:00Z";
    const auto ms = store_detail::parse_rfc3339_ms(text);
    if (!ms)
        throw Error(ErrorCode::invalid_argument, "--now: \"" + *now + "\" is not a date (YYYY-MM-DD) or an RFC 3339 time");
    return std::chrono::floor<std::chrono::days>(std::chrono::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(*ms)));
}

void print_reasons(std::ostream& out, const nlohmann::json& reasons) {
    if (reasons.empty()) return;
    out << "reasons:";
    for (const auto& r : reasons) out << ' ' << r.get<std::string>();
    out << '\n';
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

void register_document(CLI::App& app, Context& context) {
    auto* document = app.add_subcommand("document", "Identity documents: ICAO 9303 MRZ and the PRC citizen number");
    document->require_subcommand(1);
    register_mrz(*document, context);
    register_id_number(*document, context);
}

}  // namespace faceproof::cli
