#include "document/id_number.hpp"

#include <cstdio>

#include "faceproof/error.hpp"
#include "util/ascii.hpp"

namespace faceproof {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

[[noreturn]] void malformed(const std::string& message) {
    throw Error(ErrorCode::document_malformed, "citizen ID number: " + message);
}

}  // namespace

char citizen_id_check_character(std::string_view digits17) {
    if (digits17.size() != 17) {
        throw Error(ErrorCode::invalid_argument,
                    "citizen_id_check_character: needs 17 digits, got " +
                        std::to_string(digits17.size()) + " characters");
    }
    int sum = 0;
    int weight = 1;  // 2^(17-i) mod 11, built from the last digit (i = 16, weight 2) backwards
    for (std::size_t k = 17; k-- > 0;) {
        weight = weight * 2 % 11;
        const char c = digits17[k];
        if (!is_digit(c)) {
            throw Error(ErrorCode::invalid_argument,
                        "citizen_id_check_character: " + describe_char(c) + " at position " +
                            std::to_string(k + 1) + " is not a digit");
        }
        sum += (c - '0') * weight;
    }
    const int check = (12 - sum % 11) % 11;
    return check == 10 ? 'X' : static_cast<char>('0' + check);
}

CitizenIdNumber check_citizen_id_number(std::string_view text, std::chrono::sys_days today) {
    using namespace std::chrono;
    const std::string_view trimmed = trim_blanks(text);
    if (trimmed.size() != 18) {
        malformed("has length " + std::to_string(trimmed.size()) +
                  " (bytes); expected 18 characters: 17 digits and a check character");
    }
    std::string number(trimmed);
    for (std::size_t i = 0; i < 17; ++i) {
        if (!is_digit(number[i])) {
            malformed(describe_char(number[i]) + " at position " + std::to_string(i + 1) +
                      "; positions 1-17 are digits");
        }
    }
    if (number[17] == 'x') number[17] = 'X';
    if (!is_digit(number[17]) && number[17] != 'X') {
        malformed(describe_char(number[17]) +
                  " at position 18; the check character is a digit or 'X'");
    }

    CitizenIdNumber id{};
    id.number = number;
    id.region_code = number.substr(0, 6);
    id.birth_date_raw = number.substr(6, 8);
    id.sequence_code = number.substr(14, 3);
    id.check_character = number[17];
    id.computed_check_character = citizen_id_check_character(std::string_view(number).substr(0, 17));
    id.check_character_ok = id.check_character == id.computed_check_character;

    auto value = [&](std::size_t at, std::size_t count) {
        int v = 0;
        for (std::size_t i = at; i < at + count; ++i) v = v * 10 + (number[i] - '0');
        return v;
    };
    const year_month_day birth{year{value(6, 4)}, month{static_cast<unsigned>(value(10, 2))},
                               day{static_cast<unsigned>(value(12, 2))}};
    if (birth.ok()) id.birth_date = birth;
    id.birth_date_ok = birth.ok() && sys_days{birth} <= today;

    id.ok = id.check_character_ok && id.birth_date_ok;
    if (!id.check_character_ok) id.reasons.emplace_back(kReasonIdNumberCheckCharacter);
    if (!id.birth_date_ok) id.reasons.emplace_back(kReasonIdNumberBirthDateInvalid);
    return id;
}

}  // namespace faceproof
