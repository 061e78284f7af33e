// faceproof — the machine readable zone (MRZ) of ICAO Doc 9303 travel documents.
//
// Formats (Doc 9303 parts 4, 5, 6, 7):
//   td1    3 lines x 30  ID cards
//   td2    2 lines x 36  official travel documents
//   td3    2 lines x 44  passports
//   mrv_a  2 lines x 44  visas, document code starting with 'V'
//   mrv_b  2 lines x 36  visas, document code starting with 'V'
//
// Parsing is split from judging: parse_mrz refuses only text that is not an MRZ
// (Error{document_malformed}); a wrong check digit or an impossible date is a *failed check* a
// caller reports with a stable reason code, because it is evidence about the document, not a
// transport problem.
//
// Input normalisation (chosen for OCR clients): surrounding spaces, tabs and CR of each line are
// removed, and lower-case a-z are upper-cased. Upper-casing is safe because the MRZ alphabet has
// no lower case, so no two distinct MRZs become one, and the check digits still catch OCR errors.
// Anything else outside A-Z, 0-9 and '<' (inner spaces, punctuation, non-ASCII bytes) is refused.
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
inline constexpr std::string_view kReasonMrzCheckDigit = "MRZ_CHECK_DIGIT";  // any check digit failed
inline constexpr std::string_view kReasonDocumentExpired = "DOCUMENT_EXPIRED";  // expiry before today
inline constexpr std::string_view kReasonMrzDateInvalid = "MRZ_DATE_INVALID";  // not a calendar date,
                                                                          // birth in the future,
                                                                          // or expiry unknown

enum class MrzFormat { td1, td2, td3, mrv_a, mrv_b };

std::string_view to_string(MrzFormat format) noexcept;  // "TD1", "TD2", "TD3", "MRV-A", "MRV-B"

// One check digit of the MRZ.
struct MrzCheck {
    std::string name;  // "document_number", "birth_date", "expiry_date", "optional_data", "composite"
    char expected;     // the character printed in the MRZ ('<' or a letter fail unless allowed)
    char computed;     // '0'..'9', from the 7-3-1 weighting
    bool ok;
};

struct Mrz {
    MrzFormat format;
    std::vector<std::string> lines;  // the normalised lines (trimmed, upper case)

    std::string document_code;     // 1-2 characters, fillers removed ("P", "I", "ID", "V")
    std::string issuing_state;     // 3 characters as printed (fillers kept: "D<<" is Germany)
    std::string document_number;   // fillers removed; TD1/TD2 long numbers joined (see below)
    std::string optional_data_1;   // TD1 line 1, TD2 and MRV line 2, TD3 personal number;
                                   // fillers at the end removed; for a long document number,
                                   // what follows its check digit and fillers
    std::string optional_data_2;   // TD1 line 2 positions 19-29 only; empty for other formats
    std::string birth_date;        // YYMMDD as printed; may hold '<' for unknown parts
    char sex;                      // 'F', 'M', or 'X' for unspecified ('<' in the MRZ,
                                   // or 'X' where a state prints it); not covered by any check
                                   // digit
    std::string expiry_date;       // YYMMDD as printed
    std::string nationality;       // 3 characters as printed
    std::string primary_identifier;    // surname(s): text before "<<", inner '<' -> ' '
    std::string secondary_identifier;  // given name(s): text after "<<", '<' runs -> ' '
    bool name_possibly_truncated;  // the name field is full (its last character is not '<'),
                                   // which Doc 9303 uses to show a truncated name

    std::vector<MrzCheck> checks;  // in MRZ order; visas have no optional-data or composite check
    bool check_digits_ok;          // every check passed
    std::vector<std::string> reasons;  // kReasonMrzCheckDigit when !check_digits_ok, else empty
};

// The check digit of an MRZ field: characters weighted 7, 3, 1, 7, ... ('0'-'9' = 0-9,
// 'A'-'Z' = 10-35, '<' = 0), the sum modulo 10.
// requires: field holds only A-Z, 0-9 and '<'.
// ensures:  a character '0'..'9'.
// throws:   invalid_argument for any other character.
char mrz_check_digit(std::string_view field);

// Parses an MRZ given as its lines, top to bottom.
// requires: nothing (the text comes from OCR or from a client).
// ensures:  every field above is filled from its fixed position; every check digit is computed
//           and reported, failed ones included. Long document numbers (TD1, TD2: '<' in the
//           number's check digit position) are read on from the optional data up to the first
//           '<', the last character before it being the check digit of the whole number
//           (Doc 9303 parts 5 and 6, the note on document numbers longer than 9 characters).
//           A TD3 personal number of fillers only may have '<' as its check digit (part 4).
//           Dates are not judged here: see check_mrz_dates.
// throws:   document_malformed, with a message naming the line and its length or the character
//           and its position, for: no lines, a line count other than 2 or 3, lines of a length
//           not matching one format, characters outside the MRZ alphabet, a sex field other
//           than F, M, X or '<' (no check digit covers it, so an OCR error there is refused
//           rather than guessed). Empty lines are not skipped here (see parse_mrz_text).
Mrz parse_mrz(const std::vector<std::string>& lines);

// parse_mrz on text split at '\n'; lines empty after trimming are skipped (OCR output often has
// blank lines around the zone). Same contract as parse_mrz.
Mrz parse_mrz_text(std::string_view text);

enum class MrzDateState {
    ok,               // a calendar date, and in the past (birth) or today or later (expiry)
    unknown,          // written with '<' (allowed for unknown birth dates)
    not_a_date,       // not digits, or not a calendar date (month 13, 30 February)
    birth_in_future,  // birth date after today
    expired,          // expiry date before today
};

std::string_view to_string(MrzDateState state) noexcept;  // "ok", "unknown", "not_a_date", ...

struct MrzDateCheck {
    std::string name;  // "birth_date" or "expiry_date"
    std::string raw;   // YYMMDD as printed
    std::optional<std::chrono::year_month_day> date;  // with the century resolved; empty when
                                                      // unknown or not a date
    MrzDateState state;
    bool ok;  // state == ok, or an unknown birth date
};

struct MrzDateChecks {
    MrzDateCheck birth;
    MrzDateCheck expiry;
    bool ok;                           // both ok
    std::vector<std::string> reasons;  // kReasonMrzDateInvalid and/or kReasonDocumentExpired
};

// Judges the birth and expiry dates at `today` (UTC day of the decision).
// Two-digit years are resolved so as to make each date plausible:
//   birth:  the latest date on or before today with those YY digits (a 2026 decision reads "74"
//           as 1974 and "26" as 2026 when the day has passed, else 1926), so holders up to 100
//           years old are read right;
//   expiry: the year ending in YY within [year(today) - 50, year(today) + 49]; documents are
//           valid for at most about 10-20 years, so nothing real falls outside that window.
// An unknown birth date ('<' anywhere in it) passes as unknown: Doc 9303 allows it, and the
// identity check must not fail for it. An unknown expiry date fails (MRZ_DATE_INVALID): validity
// cannot be established without it.
// requires: nothing.
// ensures:  a document expiring today is not expired; reasons hold each code once.
// throws:   nothing but std::bad_alloc.
MrzDateChecks check_mrz_dates(const Mrz& mrz, std::chrono::sys_days today);

}  // namespace faceproof
