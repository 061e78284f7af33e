// `faceproof document mrz` and `document id-number` through the real CLI binary: exit codes, JSON
// fields and the text form, on the ICAO 9303 specimens and the published GB 11643 example.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace {

using nlohmann::json;

const std::string kTd3Line1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";
const std::string kTd3Line2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";

json parse_out(const fptest::CliResult& r) {
    const json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << fptest::describe(r);
    return j;
}

TEST(CliDocument, SpecimenPassportIsValidBeforeItsExpiry) {
    const auto r = fptest::run_cli({"document", "mrz", kTd3Line1, kTd3Line2, "--now", "2010-06-01", "--json"});
    ASSERT_EQ(r.exit_code, 0) << fptest::describe(r);
    const json j = parse_out(r);
    EXPECT_EQ(j["format"], "TD3");
    EXPECT_EQ(j["document_number"], "L898902C3");
    EXPECT_EQ(j["issuing_state"], "UTO");
    EXPECT_EQ(j["primary_identifier"], "ERIKSSON");
    EXPECT_EQ(j["secondary_identifier"], "ANNA MARIA");
    EXPECT_EQ(j["dates"]["birth_date"]["date"], "1974-08-12");
    EXPECT_EQ(j["dates"]["expiry_date"]["date"], "2012-04-15");
    EXPECT_TRUE(j["check_digits_ok"]);
    EXPECT_TRUE(j["valid"]);
    EXPECT_TRUE(j["reasons"].empty());
}

TEST(CliDocument, SpecimenPassportIsExpiredToday) {
    const auto r = fptest::run_cli({"document", "mrz", kTd3Line1, kTd3Line2, "--now", "2026-12-06", "--json"});
    EXPECT_EQ(r.exit_code, 1) << fptest::describe(r);
    const json j = parse_out(r);
    EXPECT_FALSE(j["valid"]);
    EXPECT_EQ(j["reasons"], json::array({"DOCUMENT_EXPIRED"}));
    EXPECT_EQ(j["dates"]["expiry_date"]["state"], "expired");
}

TEST(CliDocument, AlteredBirthDateFailsItsCheckDigit) {
    std::string altered = kTd3Line2;
    altered[13] = '8';  // 740812 -> 840812, its check digit unchanged
    const auto r = fptest::run_cli({"document", "mrz", kTd3Line1, altered, "--now", "2010-06-01"});
    EXPECT_EQ(r.exit_code, 1) << fptest::describe(r);
    EXPECT_NE(r.out.find("INVALID"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("birth_date"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("MRZ_CHECK_DIGIT"), std::string::npos) << r.out;
}

TEST(CliDocument, TextThatIsNotAnMrzIsMalformed) {
    const auto r = fptest::run_cli({"document", "mrz", kTd3Line1, kTd3Line2.substr(0, 43), "--json"});
    EXPECT_EQ(r.exit_code, 2) << fptest::describe(r);
    const json j = parse_out(r);
    EXPECT_EQ(j["error"]["code"], "document_malformed");
    EXPECT_NE(j["error"]["message"].get<std::string>().find("43"), std::string::npos) << j.dump();
}

TEST(CliDocument, BadNowIsAUsageError) {
    const auto r = fptest::run_cli({"document", "mrz", kTd3Line1, kTd3Line2, "--now", "yesterday"});
    EXPECT_EQ(r.exit_code, 64) << fptest::describe(r);
    EXPECT_NE(r.err.find("--now"), std::string::npos) << r.err;
}

TEST(CliDocument, CitizenNumberExample) {
    const auto ok = fptest::run_cli({"document", "id-number", "11010519491231002X", "--json"});
    ASSERT_EQ(ok.exit_code, 0) << fptest::describe(ok);
    const json j = parse_out(ok);
    EXPECT_EQ(j["region_code"], "110105");
    EXPECT_EQ(j["birth_date"], "1949-12-31");
    EXPECT_EQ(j["sequence_code"], "002");
    EXPECT_TRUE(j["valid"]);
    EXPECT_FALSE(j.contains("sex")) << "no sex or gender inference from the sequence code";

    const auto wrong = fptest::run_cli({"document", "id-number", "110105194912310021", "--json"});
    EXPECT_EQ(wrong.exit_code, 1) << fptest::describe(wrong);
    EXPECT_EQ(parse_out(wrong)["reasons"], json::array({"ID_NUMBER_CHECK_CHARACTER"}));

    const auto short_number = fptest::run_cli({"document", "id-number", "11010519491231002"});
    EXPECT_EQ(short_number.exit_code, 2) << fptest::describe(short_number);
    EXPECT_NE(short_number.err.find("document_malformed"), std::string::npos) << short_number.err;
}

}  // namespace
