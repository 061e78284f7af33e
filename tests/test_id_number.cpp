// PRC citizen identity numbers (src/document/id_number.hpp), GB 11643-1999.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "document/id_number.hpp"
#include "faceproof/error.hpp"

namespace faceproof {
namespace {

using namespace std::chrono;

sys_days ymd(int y, unsigned m, unsigned d) { return sys_days{year{y} / month{m} / day{d}}; }

const sys_days kToday = ymd(2026, 12, 6);

// Published GB 11643-1999 examples; check characters verified by hand:
//   11010519491231002X: sum 167, 167 mod 11 = 2, (12 - 2) mod 11 = 10 -> 'X'
//   440524188001010014: sum 195, 195 mod 11 = 8, (12 - 8) mod 11 = 4 -> '4'
constexpr const char* kBeijing = "11010519491231002X";
constexpr const char* kGuangdong = "440524188001010014";

void expect_malformed(const std::string& text, const std::string& needle) {
    try {
        (void)check_citizen_id_number(text, kToday);
        ADD_FAILURE() << "no error for \"" << text << "\"";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::document_malformed);
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
            << "message: " << e.what() << "\nexpected to contain: " << needle;
    }
}

TEST(CitizenIdNumber, PublishedExamples) {
    const CitizenIdNumber id = check_citizen_id_number(kBeijing, kToday);
    EXPECT_EQ(id.number, kBeijing);
    EXPECT_EQ(id.region_code, "110105");
    EXPECT_EQ(id.birth_date_raw, "19491231");
    EXPECT_EQ(id.birth_date, year{1949} / month{12} / day{31});
    EXPECT_EQ(id.sequence_code, "002");
    EXPECT_EQ(id.check_character, 'X');
    EXPECT_EQ(id.computed_check_character, 'X');
    EXPECT_TRUE(id.check_character_ok);
    EXPECT_TRUE(id.birth_date_ok);
    EXPECT_TRUE(id.ok);
    EXPECT_TRUE(id.reasons.empty());

    const CitizenIdNumber other = check_citizen_id_number(kGuangdong, kToday);
    EXPECT_EQ(other.region_code, "440524");
    EXPECT_EQ(other.birth_date, year{1880} / month{1} / day{1});
    EXPECT_EQ(other.sequence_code, "001");
    EXPECT_EQ(other.check_character, '4');
    EXPECT_EQ(other.computed_check_character, '4');
    EXPECT_TRUE(other.ok);
}

TEST(CitizenIdNumber, CheckCharacterFunction) {
    EXPECT_EQ(citizen_id_check_character("11010519491231002"), 'X');
    EXPECT_EQ(citizen_id_check_character("44052418800101001"), '4');
    for (const char* bad : {"1101051949123100", "110105194912310021", "1101051949123100A"}) {
        try {
            (void)citizen_id_check_character(bad);
            ADD_FAILURE() << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::invalid_argument);
        }
    }
}

TEST(CitizenIdNumber, EveryAlteredDigitFailsTheCheck) {
    // MOD 11-2 detects every single substitution: each weight is non-zero modulo the prime 11.
    for (std::size_t i = 0; i < 18; ++i) {
        std::string number = kGuangdong;
        number[i] = number[i] == '9' ? '0' : static_cast<char>(number[i] + 1);
        const CitizenIdNumber id = check_citizen_id_number(number, kToday);
        SCOPED_TRACE(number);
        EXPECT_FALSE(id.check_character_ok);
        EXPECT_FALSE(id.ok);
        EXPECT_EQ(id.reasons.front(), "ID_NUMBER_CHECK_CHARACTER");
    }
    const CitizenIdNumber wrong = check_citizen_id_number("110105194912310021", kToday);
    EXPECT_EQ(wrong.check_character, '1');
    EXPECT_EQ(wrong.computed_check_character, 'X');
    EXPECT_EQ(wrong.reasons, std::vector<std::string>{"ID_NUMBER_CHECK_CHARACTER"});
}

TEST(CitizenIdNumber, LowerCaseXAndWhitespace) {
    const CitizenIdNumber id = check_citizen_id_number("  11010519491231002x\r\n", kToday);
    EXPECT_EQ(id.number, kBeijing);
    EXPECT_EQ(id.check_character, 'X');
    EXPECT_TRUE(id.ok);
}

TEST(CitizenIdNumber, BirthDates) {
    // Numbers whose check character is right, so that only the date is judged.
    auto with_check = [](std::string first17) {
        return first17 + citizen_id_check_character(first17);
    };
    for (const char* bad : {"11010519491331002", "11010519490230002", "11010519000229002",
                            "11010519490001002", "11010519491200002"}) {
        const CitizenIdNumber id = check_citizen_id_number(with_check(bad), kToday);
        SCOPED_TRACE(bad);
        EXPECT_TRUE(id.check_character_ok);
        EXPECT_FALSE(id.birth_date_ok);
        EXPECT_FALSE(id.birth_date.has_value());
        EXPECT_FALSE(id.ok);
        EXPECT_EQ(id.reasons, std::vector<std::string>{"ID_NUMBER_BIRTH_DATE_INVALID"});
    }
    const CitizenIdNumber leap = check_citizen_id_number(with_check("11010520000229002"), kToday);
    EXPECT_TRUE(leap.ok);
    EXPECT_EQ(leap.birth_date, year{2000} / month{2} / day{29});

    // Born today is fine; born tomorrow is not.
    EXPECT_TRUE(check_citizen_id_number(kBeijing, ymd(1949, 12, 31)).ok);
    const CitizenIdNumber future = check_citizen_id_number(kBeijing, ymd(1949, 12, 30));
    EXPECT_TRUE(future.check_character_ok);
    EXPECT_FALSE(future.birth_date_ok);
    EXPECT_TRUE(future.birth_date.has_value());
    EXPECT_EQ(future.reasons, std::vector<std::string>{"ID_NUMBER_BIRTH_DATE_INVALID"});

    // Both reasons.
    const CitizenIdNumber both = check_citizen_id_number("110105194913310020", kToday);
    EXPECT_EQ(both.reasons, (std::vector<std::string>{"ID_NUMBER_CHECK_CHARACTER",
                                                      "ID_NUMBER_BIRTH_DATE_INVALID"}));
}

TEST(CitizenIdNumber, Malformed) {
    expect_malformed("", "has length 0");
    expect_malformed("11010519491231002", "has length 17");
    expect_malformed("11010519491231002X1", "has length 19");
    expect_malformed("110105491231002", "has length 15");
    expect_malformed("1101051949 231002X", "' ' at position 11");  // inner space is not trimmed
    expect_malformed("X10105194912310021", "'X' at position 1");
    expect_malformed("11010519491231002Y", "'Y' at position 18");
    expect_malformed("11010519491231002\xC3\x97", "has length 19");
    expect_malformed("110105194912310\xC3\x97X", "byte 0xC3 at position 16");
}

}  // namespace
}  // namespace faceproof
