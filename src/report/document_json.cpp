#include "report/document_json.hpp"

#include <cstdio>
#include <string>

namespace faceproof {
namespace {

nlohmann::json iso_date(const std::optional<std::chrono::year_month_day>& date) {
    if (!date || !date->ok()) return nullptr;
    char text[16];
    std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(date->year()),
                  static_cast<unsigned>(date->month()), static_cast<unsigned>(date->day()));
    return text;
}

nlohmann::json date_check_json(const MrzDateCheck& check) {
    return {{"raw", check.raw}, {"date", iso_date(check.date)}, {"state", to_string(check.state)}, {"ok", check.ok}};
}

}  // namespace

nlohmann::json mrz_json(const Mrz& mrz, const MrzDateChecks& dates) {
    nlohmann::json checks = nlohmann::json::array();
    for (const MrzCheck& c : mrz.checks)
        checks.push_back({{"name", c.name},
                          {"expected", std::string(1, c.expected)},
                          {"computed", std::string(1, c.computed)},
                          {"ok", c.ok}});
    nlohmann::json reasons = mrz.reasons;
    for (const auto& r : dates.reasons) reasons.push_back(r);
    return {{"format", to_string(mrz.format)},
            {"lines", mrz.lines},
            {"document_code", mrz.document_code},
            {"issuing_state", mrz.issuing_state},
            {"document_number", mrz.document_number},
            {"optional_data_1", mrz.optional_data_1},
            {"optional_data_2", mrz.optional_data_2},
            {"birth_date", mrz.birth_date},
            {"sex", std::string(1, mrz.sex)},
            {"expiry_date", mrz.expiry_date},
            {"nationality", mrz.nationality},
            {"primary_identifier", mrz.primary_identifier},
            {"secondary_identifier", mrz.secondary_identifier},
            {"name_possibly_truncated", mrz.name_possibly_truncated},
            {"check_digits", checks},
            {"check_digits_ok", mrz.check_digits_ok},
            {"dates", {{"birth_date", date_check_json(dates.birth)}, {"expiry_date", date_check_json(dates.expiry)}}},
            {"valid", mrz.check_digits_ok && dates.ok},
            {"reasons", reasons}};
}

nlohmann::json id_number_json(const CitizenIdNumber& number) {
    return {{"number", number.number},
            {"region_code", number.region_code},
            {"birth_date", number.birth_date ? iso_date(number.birth_date) : nlohmann::json(number.birth_date_raw)},
            {"sequence_code", number.sequence_code},
            {"check_character", std::string(1, number.check_character)},
            {"computed_check_character", std::string(1, number.computed_check_character)},
            {"check_character_ok", number.check_character_ok},
            {"birth_date_ok", number.birth_date_ok},
            {"valid", number.ok},
            {"reasons", number.reasons}};
}

nlohmann::json document_audit_details(const DocumentCheck& check) {
    return {{"status", to_string(check.status)},
            {"reasons", check.reasons},
            {"document_code", check.mrz.document_code},
            {"issuing_state", check.mrz.issuing_state}};
}

nlohmann::json document_check_json(const DocumentCheck& check) {
    return {{"status", to_string(check.status)},
            {"checks",
             {{"sod_signature", check.sod_signature},
              {"sod_signature_detail", check.sod_signature_detail},
              {"dg_hashes", check.dg_hashes},
              {"hash_algorithm", check.hash_algorithm},
              {"signature_algorithm", check.signature_algorithm},
              {"chain", check.chain},
              {"chain_detail", check.chain_detail},
              {"document_signer", check.document_signer},
              {"csca", check.csca},
              {"chain_checked_at", check.chain_checked_at_signing_time ? "signing_time" : "now"},
              {"mrz_check_digits", check.mrz_check_digits_ok ? "valid" : "invalid"},
              {"document_expired", check.document_expired}}},
            {"reasons", check.reasons},
            {"mrz", mrz_json(check.mrz, check.dates)},
            {"portrait",
             {{"format", check.portrait.format},
              {"encoding", check.portrait.encoding},
              {"width", check.portrait.width},
              {"height", check.portrait.height},
              {"bytes", check.portrait.image.size()}}},
            {"portraits", check.portraits},
            {"chip",
             {{"security_infos", check.chip_security_infos},
              {"active_authentication_key", check.active_authentication_key ? nlohmann::json(*check.active_authentication_key)
                                                                            : nlohmann::json(nullptr)},
              {"authenticity", kCloneNote}}}};
}

}  // namespace faceproof
