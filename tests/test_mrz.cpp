// MRZ parsing and checks (src/document/mrz.hpp), first on the ICAO Doc 9303 specimens.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "faceproof/mrz.hpp"
#include "faceproof/error.hpp"

namespace faceproof {
namespace {

using namespace std::chrono;

// ICAO Doc 9303 specimens (part 4 TD3, part 5 TD1, part 6 TD2): every check digit verified by
// hand with the 7-3-1 weighting before being written here.
const std::vector<std::string> kTd3 = {
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
};
const std::vector<std::string> kTd1 = {
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
};
const std::vector<std::string> kTd2 = {
    "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
    "D231458907UTO7408122F1204159<<<<<<<6",
};
// Doc 9303 part 5 example of a document number longer than 9 characters (D23145890734, check 9).
const std::vector<std::string> kTd1LongNumber = {
    "I<UTOD23145890<7349<<<<<<<<<<<",
    "3407127M9507122UTO<<<<<<<<<<<2",
    "STEVENSON<<PETER<JOHN<<<<<<<<<",
};
// Doc 9303 part 7 visa specimens.
const std::vector<std::string> kMrvA = {
    "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L8988901C4XXX4009078F96121096ZE184226B<<<<<<",
};
const std::vector<std::string> kMrvB = {
    "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
    "L8988901C4XXX4009078F9612109<<<<<<<<",
};

sys_days ymd(int y, unsigned m, unsigned d) { return sys_days{year{y} / month{m} / day{d}}; }

const MrzCheck& check_named(const Mrz& mrz, const std::string& name) {
    for (const MrzCheck& c : mrz.checks) {
        if (c.name == name) return c;
    }
    ADD_FAILURE() << "no check named " << name;
    static const MrzCheck none{"", '?', '?', false};
    return none;
}

std::vector<std::string> check_names(const Mrz& mrz) {
    std::vector<std::string> names;
    for (const MrzCheck& c : mrz.checks) names.push_back(c.name);
    return names;
}

// Expects parse_mrz to throw document_malformed with `needle` in the message.
void expect_malformed(const std::vector<std::string>& lines, const std::string& needle) {
    try {
        (void)parse_mrz(lines);
        ADD_FAILURE() << "no error; expected one mentioning \"" << needle << "\"";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::document_malformed);
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
            << "message: " << e.what() << "\nexpected to contain: " << needle;
    }
}

char bumped_digit(char c) { return c == '9' ? '0' : static_cast<char>(c + 1); }

TEST(MrzCheckDigit, SpecimenFields) {
    EXPECT_EQ(mrz_check_digit("L898902C3"), '6');
    EXPECT_EQ(mrz_check_digit("740812"), '2');
    EXPECT_EQ(mrz_check_digit("120415"), '9');
    EXPECT_EQ(mrz_check_digit("ZE184226B<<<<<"), '1');
    EXPECT_EQ(mrz_check_digit("D23145890"), '7');
    EXPECT_EQ(mrz_check_digit("D23145890734"), '9');
    EXPECT_EQ(mrz_check_digit(""), '0');
    EXPECT_EQ(mrz_check_digit("<<<<<<<<<<<<<<"), '0');
}

TEST(MrzCheckDigit, RefusesCharactersOutsideTheAlphabet) {
    for (const char* field : {"L898902c3", "L898 902", "AB-1"}) {
        try {
            (void)mrz_check_digit(field);
            ADD_FAILURE() << field;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
        }
    }
}

TEST(Mrz, Td3Specimen) {
    const Mrz mrz = parse_mrz(kTd3);
    EXPECT_EQ(mrz.format, MrzFormat::td3);
    EXPECT_EQ(to_string(mrz.format), "TD3");
    EXPECT_EQ(mrz.lines, kTd3);
    EXPECT_EQ(mrz.document_code, "P");
    EXPECT_EQ(mrz.issuing_state, "UTO");
    EXPECT_EQ(mrz.primary_identifier, "ERIKSSON");
    EXPECT_EQ(mrz.secondary_identifier, "ANNA MARIA");
    EXPECT_FALSE(mrz.name_possibly_truncated);
    EXPECT_EQ(mrz.document_number, "L898902C3");
    EXPECT_EQ(mrz.nationality, "UTO");
    EXPECT_EQ(mrz.birth_date, "740812");
    EXPECT_EQ(mrz.sex, 'F');
    EXPECT_EQ(mrz.expiry_date, "120415");
    EXPECT_EQ(mrz.optional_data_1, "ZE184226B");
    EXPECT_EQ(mrz.optional_data_2, "");
    EXPECT_EQ(check_names(mrz), (std::vector<std::string>{"document_number", "birth_date",
                                                          "expiry_date", "optional_data",
                                                          "composite"}));
    EXPECT_EQ(check_named(mrz, "document_number").expected, '6');
    EXPECT_EQ(check_named(mrz, "document_number").computed, '6');
    EXPECT_EQ(check_named(mrz, "birth_date").computed, '2');
    EXPECT_EQ(check_named(mrz, "expiry_date").computed, '9');
    EXPECT_EQ(check_named(mrz, "optional_data").computed, '1');
    EXPECT_EQ(check_named(mrz, "composite").computed, '0');
    for (const MrzCheck& c : mrz.checks) EXPECT_TRUE(c.ok) << c.name;
    EXPECT_TRUE(mrz.check_digits_ok);
    EXPECT_TRUE(mrz.reasons.empty());
}

TEST(Mrz, Td1Specimen) {
    const Mrz mrz = parse_mrz(kTd1);
    EXPECT_EQ(mrz.format, MrzFormat::td1);
    EXPECT_EQ(to_string(mrz.format), "TD1");
    EXPECT_EQ(mrz.document_code, "I");
    EXPECT_EQ(mrz.issuing_state, "UTO");
    EXPECT_EQ(mrz.document_number, "D23145890");
    EXPECT_EQ(mrz.optional_data_1, "");
    EXPECT_EQ(mrz.birth_date, "740812");
    EXPECT_EQ(mrz.sex, 'F');
    EXPECT_EQ(mrz.expiry_date, "120415");
    EXPECT_EQ(mrz.nationality, "UTO");
    EXPECT_EQ(mrz.optional_data_2, "");
    EXPECT_EQ(mrz.primary_identifier, "ERIKSSON");
    EXPECT_EQ(mrz.secondary_identifier, "ANNA MARIA");
    EXPECT_FALSE(mrz.name_possibly_truncated);
    EXPECT_EQ(check_names(mrz), (std::vector<std::string>{"document_number", "birth_date",
                                                          "expiry_date", "composite"}));
    EXPECT_EQ(check_named(mrz, "document_number").computed, '7');
    EXPECT_EQ(check_named(mrz, "birth_date").computed, '2');
    EXPECT_EQ(check_named(mrz, "expiry_date").computed, '9');
    EXPECT_EQ(check_named(mrz, "composite").computed, '6');
    EXPECT_TRUE(mrz.check_digits_ok);
    EXPECT_TRUE(mrz.reasons.empty());
}

TEST(Mrz, Td2Specimen) {
    const Mrz mrz = parse_mrz(kTd2);
    EXPECT_EQ(mrz.format, MrzFormat::td2);
    EXPECT_EQ(to_string(mrz.format), "TD2");
    EXPECT_EQ(mrz.document_code, "I");
    EXPECT_EQ(mrz.issuing_state, "UTO");
    EXPECT_EQ(mrz.primary_identifier, "ERIKSSON");
    EXPECT_EQ(mrz.secondary_identifier, "ANNA MARIA");
    EXPECT_EQ(mrz.document_number, "D23145890");
    EXPECT_EQ(mrz.nationality, "UTO");
    EXPECT_EQ(mrz.birth_date, "740812");
    EXPECT_EQ(mrz.sex, 'F');
    EXPECT_EQ(mrz.expiry_date, "120415");
    EXPECT_EQ(mrz.optional_data_1, "");
    EXPECT_EQ(check_names(mrz), (std::vector<std::string>{"document_number", "birth_date",
                                                          "expiry_date", "composite"}));
    EXPECT_EQ(check_named(mrz, "composite").computed, '6');
    EXPECT_TRUE(mrz.check_digits_ok);
}

TEST(Mrz, VisaSpecimens) {
    const Mrz a = parse_mrz(kMrvA);
    EXPECT_EQ(a.format, MrzFormat::mrv_a);
    EXPECT_EQ(to_string(a.format), "MRV-A");
    EXPECT_EQ(a.document_code, "V");
    EXPECT_EQ(a.issuing_state, "UTO");
    EXPECT_EQ(a.primary_identifier, "ERIKSSON");
    EXPECT_EQ(a.secondary_identifier, "ANNA MARIA");
    EXPECT_EQ(a.document_number, "L8988901C");
    EXPECT_EQ(a.nationality, "XXX");
    EXPECT_EQ(a.birth_date, "400907");
    EXPECT_EQ(a.sex, 'F');
    EXPECT_EQ(a.expiry_date, "961210");
    EXPECT_EQ(a.optional_data_1, "6ZE184226B");
    EXPECT_EQ(check_names(a),
              (std::vector<std::string>{"document_number", "birth_date", "expiry_date"}));
    EXPECT_TRUE(a.check_digits_ok);

    const Mrz b = parse_mrz(kMrvB);
    EXPECT_EQ(b.format, MrzFormat::mrv_b);
    EXPECT_EQ(to_string(b.format), "MRV-B");
    EXPECT_EQ(b.document_number, "L8988901C");
    EXPECT_EQ(b.optional_data_1, "");
    EXPECT_EQ(b.expiry_date, "961210");
    EXPECT_TRUE(b.check_digits_ok);
}

struct Alteration {
    const std::vector<std::string>* specimen;
    std::size_t line;      // 0-based
    std::size_t position;  // 1-based, as in Doc 9303
    const char* check;     // the check that must fail
};

TEST(Mrz, EachAlteredCheckDigitFailsItsCheck) {
    const Alteration alterations[] = {
        {&kTd3, 1, 10, "document_number"}, {&kTd3, 1, 20, "birth_date"},
        {&kTd3, 1, 28, "expiry_date"},     {&kTd3, 1, 43, "optional_data"},
        {&kTd3, 1, 44, "composite"},       {&kTd1, 0, 15, "document_number"},
        {&kTd1, 1, 7, "birth_date"},       {&kTd1, 1, 15, "expiry_date"},
        {&kTd1, 1, 30, "composite"},       {&kTd2, 1, 10, "document_number"},
        {&kTd2, 1, 20, "birth_date"},      {&kTd2, 1, 28, "expiry_date"},
        {&kTd2, 1, 36, "composite"},       {&kMrvA, 1, 10, "document_number"},
        {&kMrvA, 1, 20, "birth_date"},     {&kMrvB, 1, 28, "expiry_date"},
    };
    for (const Alteration& a : alterations) {
        std::vector<std::string> lines = *a.specimen;
        char& c = lines[a.line][a.position - 1];
        c = bumped_digit(c);
        const Mrz mrz = parse_mrz(lines);
        SCOPED_TRACE(lines[a.line]);
        const MrzCheck& failed = check_named(mrz, a.check);
        EXPECT_FALSE(failed.ok);
        EXPECT_EQ(failed.expected, c);
        EXPECT_NE(failed.computed, c);
        EXPECT_FALSE(mrz.check_digits_ok);
        EXPECT_EQ(mrz.reasons, std::vector<std::string>{"MRZ_CHECK_DIGIT"});
        // Only the altered check and the composite covering it may fail.
        for (const MrzCheck& other : mrz.checks) {
            if (other.name != a.check && other.name != "composite") {
                EXPECT_TRUE(other.ok) << other.name;
            }
        }
    }
}

TEST(Mrz, EveryDigitSubstitutionInCheckedFieldsIsDetected) {
    // Weights 7, 3, 1 are prime to 10, so changing one digit for another always changes the sum
    // modulo 10. (A letter for a digit ten apart, 'A' for '0', is not detected: a limit of 9303.)
    for (std::size_t position = 1; position <= 44; ++position) {
        if (position >= 11 && position <= 13) continue;  // nationality: no check covers it
        if (position == 21) continue;                    // sex: no check covers it
        std::vector<std::string> lines = kTd3;
        char& c = lines[1][position - 1];
        if (c < '0' || c > '9') continue;
        for (char other = '0'; other <= '9'; ++other) {
            if (other == kTd3[1][position - 1]) continue;
            c = other;
            EXPECT_FALSE(parse_mrz(lines).check_digits_ok) << "line 2 position " << position
                                                           << " -> " << other;
        }
    }
}

TEST(Mrz, AlteredDataFailsItsCheckAndTheComposite) {
    std::vector<std::string> lines = kTd3;
    lines[1][3] = '9';  // document number L898902C3 -> L899902C3
    const Mrz mrz = parse_mrz(lines);
    EXPECT_FALSE(check_named(mrz, "document_number").ok);
    EXPECT_FALSE(check_named(mrz, "composite").ok);
    EXPECT_TRUE(check_named(mrz, "birth_date").ok);
    EXPECT_EQ(mrz.reasons, std::vector<std::string>{"MRZ_CHECK_DIGIT"});

    // A letter where a check digit belongs fails; it is not malformed.
    lines = kTd3;
    lines[1][19] = 'O';
    const Mrz letter = parse_mrz(lines);
    EXPECT_FALSE(check_named(letter, "birth_date").ok);
    EXPECT_EQ(check_named(letter, "birth_date").expected, 'O');
}

TEST(Mrz, Td3EmptyPersonalNumberMayHaveFillerCheckDigit) {
    std::string line2 = "L898902C36UTO7408122F1204159<<<<<<<<<<<<<<<";
    std::string with_zero = line2.substr(0, 42) + "0";
    for (std::string l2 : {line2, with_zero}) {
        l2 += mrz_check_digit(l2.substr(0, 10) + l2.substr(13, 7) + l2.substr(21, 22));
        const Mrz mrz = parse_mrz({kTd3[0], l2});
        SCOPED_TRACE(l2);
        EXPECT_EQ(mrz.optional_data_1, "");
        EXPECT_TRUE(check_named(mrz, "optional_data").ok);
        EXPECT_TRUE(mrz.check_digits_ok);
    }
    // '<' as check digit of a personal number that is not empty fails.
    std::string filled = "L898902C36UTO7408122F1204159ZE184226B<<<<<<";
    filled += mrz_check_digit(filled.substr(0, 10) + filled.substr(13, 7) + filled.substr(21, 22));
    const Mrz mrz = parse_mrz({kTd3[0], filled});
    EXPECT_FALSE(check_named(mrz, "optional_data").ok);
    EXPECT_EQ(check_named(mrz, "optional_data").expected, '<');
    EXPECT_TRUE(check_named(mrz, "composite").ok);
    EXPECT_EQ(mrz.reasons, std::vector<std::string>{"MRZ_CHECK_DIGIT"});
}

TEST(Mrz, Td1LongDocumentNumber) {
    const Mrz mrz = parse_mrz(kTd1LongNumber);
    EXPECT_EQ(mrz.document_number, "D23145890734");
    EXPECT_EQ(check_named(mrz, "document_number").expected, '9');
    EXPECT_EQ(check_named(mrz, "document_number").computed, '9');
    EXPECT_EQ(mrz.optional_data_1, "");
    EXPECT_EQ(mrz.birth_date, "340712");
    EXPECT_EQ(mrz.sex, 'M');
    EXPECT_EQ(mrz.expiry_date, "950712");
    EXPECT_EQ(mrz.primary_identifier, "STEVENSON");
    EXPECT_EQ(mrz.secondary_identifier, "PETER JOHN");
    EXPECT_TRUE(mrz.check_digits_ok);

    // The number's check digit moved into the optional data is checked there.
    std::vector<std::string> lines = kTd1LongNumber;
    lines[0][18] = '8';
    const Mrz altered = parse_mrz(lines);
    EXPECT_FALSE(check_named(altered, "document_number").ok);
    EXPECT_EQ(check_named(altered, "document_number").expected, '8');

    // Optional data after the long number's check digit and a filler.
    lines = kTd1LongNumber;
    lines[0].replace(20, 3, "ABC");
    lines[1][29] = mrz_check_digit(lines[0].substr(5, 25) + lines[1].substr(0, 7) +
                                   lines[1].substr(8, 7) + lines[1].substr(18, 11));
    const Mrz with_data = parse_mrz(lines);
    EXPECT_EQ(with_data.document_number, "D23145890734");
    EXPECT_EQ(with_data.optional_data_1, "ABC");
    EXPECT_TRUE(with_data.check_digits_ok);

    // '<' in the check digit position and nothing after it: a failed check, not a crash.
    lines = kTd1;
    lines[0][14] = '<';
    const Mrz missing = parse_mrz(lines);
    EXPECT_EQ(missing.document_number, "D23145890");
    EXPECT_FALSE(check_named(missing, "document_number").ok);
    EXPECT_EQ(check_named(missing, "document_number").expected, '<');
}

TEST(Mrz, Td2LongDocumentNumber) {
    std::string l2 = "D23145890<UTO7408122F12041597349<<<";
    l2 += mrz_check_digit(l2.substr(0, 10) + l2.substr(13, 7) + l2.substr(21, 14));
    EXPECT_EQ(l2.back(), '2');
    const Mrz mrz = parse_mrz({kTd2[0], l2});
    EXPECT_EQ(mrz.document_number, "D23145890734");
    EXPECT_EQ(mrz.optional_data_1, "");
    EXPECT_TRUE(mrz.check_digits_ok);
}

TEST(Mrz, Names) {
    // A full name field may be truncated.
    std::vector<std::string> lines = kTd1;
    lines[2] = "VAN<DER<BERG<<JOHANNES<PIETERS";
    Mrz mrz = parse_mrz(lines);
    EXPECT_EQ(mrz.primary_identifier, "VAN DER BERG");
    EXPECT_EQ(mrz.secondary_identifier, "JOHANNES PIETERS");
    EXPECT_TRUE(mrz.name_possibly_truncated);

    // Only a primary identifier.
    lines[2] = "ERIKSSON<<<<<<<<<<<<<<<<<<<<<<";
    mrz = parse_mrz(lines);
    EXPECT_EQ(mrz.primary_identifier, "ERIKSSON");
    EXPECT_EQ(mrz.secondary_identifier, "");
    EXPECT_FALSE(mrz.name_possibly_truncated);

    // Only a secondary identifier (the primary empty).
    lines[2] = "<<ANNA<<<<<<<<<<<<<<<<<<<<<<<<";
    mrz = parse_mrz(lines);
    EXPECT_EQ(mrz.primary_identifier, "");
    EXPECT_EQ(mrz.secondary_identifier, "ANNA");
}

TEST(Mrz, Sex) {
    std::vector<std::string> lines = kTd3;
    for (const char printed : {'<', 'X'}) {
        lines[1][20] = printed;
        const Mrz mrz = parse_mrz(lines);
        EXPECT_EQ(mrz.sex, 'X');
        EXPECT_TRUE(check_named(mrz, "composite").ok);  // the sex is outside the composite ranges
        EXPECT_TRUE(mrz.check_digits_ok);
    }
    lines[1][20] = 'M';
    EXPECT_EQ(parse_mrz(lines).sex, 'M');
    // No check digit covers the sex: a character that is no sex is refused, not guessed.
    lines[1][20] = 'H';
    expect_malformed(lines, "line 2 has 'H' at position 21, the sex field");
    std::vector<std::string> td1 = kTd1;
    td1[1][7] = '1';
    expect_malformed(td1, "line 2 has '1' at position 8, the sex field");
}

TEST(Mrz, OptionalDataKeptAsPrintedBeforeTheTrailingFillers) {
    std::vector<std::string> lines = kTd1;
    lines[0] = "I<UTOD231458907<<AB<C<<<<<<<<<";
    lines[1] = "7408122F1204159UTO<XYZ12<<<<<";
    lines[1] += mrz_check_digit(lines[0].substr(5, 25) + lines[1].substr(0, 7) +
                                lines[1].substr(8, 7) + lines[1].substr(18, 11));
    const Mrz mrz = parse_mrz(lines);
    EXPECT_EQ(mrz.optional_data_1, "<<AB<C");
    EXPECT_EQ(mrz.optional_data_2, "<XYZ12");
    EXPECT_TRUE(mrz.check_digits_ok);
}

TEST(Mrz, NormalisesWhitespaceAndLowerCase) {
    const Mrz mrz = parse_mrz({"  p<utoeriksson<<anna<maria<<<<<<<<<<<<<<<<<<<\r",
                               "\tL898902C36UTO7408122F1204159ZE184226B<<<<<10 \r\n"});
    EXPECT_EQ(mrz.lines, kTd3);
    EXPECT_EQ(mrz.primary_identifier, "ERIKSSON");
    EXPECT_TRUE(mrz.check_digits_ok);

    const Mrz text = parse_mrz_text("\n\r\n" + kTd1[0] + "\r\n" + kTd1[1] + "\n\n" + kTd1[2] + "\n");
    EXPECT_EQ(text.format, MrzFormat::td1);
    EXPECT_EQ(text.lines, kTd1);
}

TEST(Mrz, MalformedInput) {
    expect_malformed({}, "no lines");
    expect_malformed({kTd3[0]}, "1 line");
    expect_malformed({kTd1[0], kTd1[1], kTd1[2], kTd1[2]}, "4 lines");
    expect_malformed({kTd3[0], kTd3[1].substr(0, 43)}, "line 2 has length 43");
    expect_malformed({kTd3[0] + "<", kTd3[1]}, "line 1 has length 45");
    expect_malformed({kTd1[0], kTd1[1] + "<", kTd1[2]}, "line 2 has length 31");
    expect_malformed({kTd1[0], kTd1[1], ""}, "line 3 has length 0");
    expect_malformed({kTd1[0], kTd1[1]}, "line 1 has length 30");
    expect_malformed({kTd2[0], kTd3[1]}, "line 2 has length 44");
    expect_malformed({"", ""}, "line 1 has length 0");
    expect_malformed({kTd3[0], "L898902C36UTO7408122F1204159ZE184226B<<< <10"},
                     "line 2 has ' '");
    expect_malformed({kTd3[0], "L898902C36UTO7408122F1204159ZE184226B<<<<<1#"},
                     "line 2 has '#' at position 44");
    expect_malformed({"P<UTO\xC3\x89RIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<", kTd3[1]},
                     "line 1 has byte 0xC3 at position 6");
    try {
        (void)parse_mrz_text(kTd1[0] + "\n" + kTd1[1] + "\n\n" + kTd1[2] + "\n" + kTd1[2] + "\n" +
                             kTd1[2]);
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::document_malformed);
        EXPECT_NE(std::string(e.what()).find("5 non-empty lines"), std::string::npos) << e.what();
    }
    try {
        (void)parse_mrz_text(" \r\n\n");
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::document_malformed);
    }
}

TEST(MrzDates, SpecimenAroundExpiry) {
    const Mrz mrz = parse_mrz(kTd3);  // born 1974-08-12, expires 2012-04-15

    const MrzDateChecks today = check_mrz_dates(mrz, ymd(2012, 4, 15));
    EXPECT_TRUE(today.ok);
    EXPECT_TRUE(today.reasons.empty());
    EXPECT_EQ(today.birth.name, "birth_date");
    EXPECT_EQ(today.birth.raw, "740812");
    EXPECT_EQ(today.birth.date, year{1974} / month{8} / day{12});
    EXPECT_EQ(today.birth.state, MrzDateState::ok);
    EXPECT_EQ(today.expiry.name, "expiry_date");
    EXPECT_EQ(today.expiry.date, year{2012} / month{4} / day{15});
    EXPECT_EQ(today.expiry.state, MrzDateState::ok);

    const MrzDateChecks expired = check_mrz_dates(mrz, ymd(2012, 4, 16));  // expired yesterday
    EXPECT_FALSE(expired.ok);
    EXPECT_TRUE(expired.birth.ok);
    EXPECT_FALSE(expired.expiry.ok);
    EXPECT_EQ(expired.expiry.state, MrzDateState::expired);
    EXPECT_EQ(to_string(expired.expiry.state), "expired");
    EXPECT_EQ(expired.reasons, std::vector<std::string>{"DOCUMENT_EXPIRED"});

    const MrzDateChecks early = check_mrz_dates(mrz, ymd(2000, 1, 1));  // far from expiry
    EXPECT_TRUE(early.ok);
    EXPECT_EQ(early.expiry.date, year{2012} / month{4} / day{15});

    const MrzDateChecks now = check_mrz_dates(mrz, ymd(2026, 12, 6));
    EXPECT_EQ(now.reasons, std::vector<std::string>{"DOCUMENT_EXPIRED"});
}

TEST(MrzDates, CenturyResolution) {
    Mrz mrz = parse_mrz(kTd3);
    const sys_days today = ymd(2026, 12, 6);

    mrz.birth_date = "261206";  // born today
    EXPECT_EQ(check_mrz_dates(mrz, today).birth.date, year{2026} / month{12} / day{6});
    mrz.birth_date = "261207";  // tomorrow's day in 2026 can only be 1926
    EXPECT_EQ(check_mrz_dates(mrz, today).birth.date, year{1926} / month{12} / day{7});
    mrz.birth_date = "000229";
    EXPECT_EQ(check_mrz_dates(mrz, today).birth.date, year{2000} / month{2} / day{29});
    mrz.birth_date = "270101";
    EXPECT_EQ(check_mrz_dates(mrz, today).birth.date, year{1927} / month{1} / day{1});

    mrz.expiry_date = "750101";  // window [1976, 2075]
    EXPECT_EQ(check_mrz_dates(mrz, today).expiry.date, year{2075} / month{1} / day{1});
    EXPECT_TRUE(check_mrz_dates(mrz, today).expiry.ok);
    mrz.expiry_date = "760101";
    EXPECT_EQ(check_mrz_dates(mrz, today).expiry.date, year{1976} / month{1} / day{1});
    EXPECT_EQ(check_mrz_dates(mrz, today).expiry.state, MrzDateState::expired);
    mrz.expiry_date = "361231";  // ten years ahead
    EXPECT_EQ(check_mrz_dates(mrz, today).expiry.date, year{2036} / month{12} / day{31});
    EXPECT_TRUE(check_mrz_dates(mrz, today).ok);
}

TEST(MrzDates, InvalidAndUnknownDates) {
    Mrz mrz = parse_mrz(kTd3);
    const sys_days today = ymd(2010, 1, 1);

    for (const char* bad : {"741312", "740230", "740800", "7A0812", "010229"}) {
        mrz.birth_date = bad;
        const MrzDateChecks checks = check_mrz_dates(mrz, today);
        SCOPED_TRACE(bad);
        EXPECT_FALSE(checks.ok);
        EXPECT_EQ(checks.birth.state, MrzDateState::not_a_date);
        EXPECT_FALSE(checks.birth.date.has_value());
        EXPECT_EQ(checks.reasons, std::vector<std::string>{"MRZ_DATE_INVALID"});
    }

    mrz.birth_date = "74<<<<";  // unknown month and day
    MrzDateChecks checks = check_mrz_dates(mrz, today);
    EXPECT_EQ(checks.birth.state, MrzDateState::unknown);
    EXPECT_TRUE(checks.birth.ok);
    EXPECT_TRUE(checks.ok);
    EXPECT_FALSE(checks.birth.date.has_value());

    mrz.expiry_date = "<<<<<<";  // validity cannot be established
    checks = check_mrz_dates(mrz, today);
    EXPECT_EQ(checks.expiry.state, MrzDateState::unknown);
    EXPECT_FALSE(checks.ok);
    EXPECT_EQ(checks.reasons, std::vector<std::string>{"MRZ_DATE_INVALID"});

    // Both reasons, each once.
    mrz.birth_date = "741312";
    mrz.expiry_date = "090101";
    checks = check_mrz_dates(mrz, today);
    EXPECT_EQ(checks.reasons, (std::vector<std::string>{"MRZ_DATE_INVALID", "DOCUMENT_EXPIRED"}));
    mrz.expiry_date = "091301";
    checks = check_mrz_dates(mrz, today);
    EXPECT_EQ(checks.reasons, std::vector<std::string>{"MRZ_DATE_INVALID"});
}

TEST(MrzDates, UnknownBirthDateParsesWithFillerCheckDigitValue) {
    // '<' in a date is part of the MRZ alphabet: it parses and its check digit counts it as 0.
    std::string l2 = "L898902C36UTO74<<<<";
    l2 += mrz_check_digit("74<<<<");
    l2 += "F1204159ZE184226B<<<<<1";
    l2 += mrz_check_digit(l2.substr(0, 10) + l2.substr(13, 7) + l2.substr(21, 22));
    const Mrz mrz = parse_mrz({kTd3[0], l2});
    EXPECT_EQ(mrz.birth_date, "74<<<<");
    EXPECT_TRUE(mrz.check_digits_ok);
    EXPECT_EQ(check_mrz_dates(mrz, ymd(2010, 1, 1)).birth.state, MrzDateState::unknown);
}

}  // namespace
}  // namespace faceproof
