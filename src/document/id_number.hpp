// faceproof — the PRC citizen (resident) identity number, GB 11643-1999.
//
// 18 characters: region code (6 digits) | birth date YYYYMMDD (8 digits) | sequence code
// (3 digits) | check character ('0'-'9' or 'X'), the check character by ISO 7064 MOD 11-2:
// weights w(i) = 2^(17-i) mod 11 for the 17 digits (i = 0..16), check = (12 - sum mod 11) mod 11,
// written 'X' for 10.
//
// Only the raw fields are reported. The sequence code's parity encodes sex in the standard;
// faceproof does not infer sex or gender from it (project policy), so no such field exists.
//
// Input normalisation: surrounding spaces, tabs, CR and LF are removed and a lower-case 'x'
// check character is read as 'X' (OCR and hand typing produce both; the standard has only one
// meaning for it). Anything else is refused.
//
// Thread safety: all functions are reentrant; they keep no state.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace faceproof {

// Stable reason codes.
inline constexpr std::string_view kReasonIdNumberCheckCharacter = "ID_NUMBER_CHECK_CHARACTER";
inline constexpr std::string_view kReasonIdNumberBirthDateInvalid = "ID_NUMBER_BIRTH_DATE_INVALID";

struct CitizenIdNumber {
    std::string number;          // the normalised 18 characters
    std::string region_code;     // characters 1-6 (administrative division; not looked up)
    std::string birth_date_raw;  // characters 7-14, YYYYMMDD
    std::optional<std::chrono::year_month_day> birth_date;  // set when a calendar date
    std::string sequence_code;   // characters 15-17, as printed
    char check_character;        // character 18 ('0'-'9' or 'X')
    char computed_check_character;  // from MOD 11-2 over characters 1-17

    bool check_character_ok;  // check_character == computed_check_character
    bool birth_date_ok;       // a calendar date, not after `today`
    bool ok;                  // both
    std::vector<std::string> reasons;  // kReasonIdNumberCheckCharacter, ..BirthDateInvalid
};

// The MOD 11-2 check character of the first 17 digits.
// requires: digits17 is exactly 17 characters '0'-'9'.
// ensures:  '0'-'9' or 'X'.
// throws:   invalid_argument otherwise.
char citizen_id_check_character(std::string_view digits17);

// Parses and checks an 18-character citizen identity number at `today` (UTC day of the decision).
// requires: nothing (the text comes from a client or OCR).
// ensures:  every field is filled; a wrong check character or an impossible or future birth
//           date is a failed check with its reason, not an exception.
// throws:   document_malformed, naming the problem, when the trimmed text is not 18 characters,
//           characters 1-17 are not all digits, or character 18 is not a digit or 'X'/'x'.
//           (The 15-digit numbers of the 1985 format are refused: they have no check character.)
CitizenIdNumber check_citizen_id_number(std::string_view text, std::chrono::sys_days today);

}  // namespace faceproof
