// libFuzzer target: MRZ text (parse_mrz, parse_mrz_text, check_mrz_dates, src/document/mrz.hpp)
// and PRC citizen identity numbers (check_citizen_id_number, src/document/id_number.hpp), as OCR
// or a client sends them. Only faceproof::Error may escape the parsers; what parses must be
// consistent (reasons match the checks, the normalised lines parse again to the same fields).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "document/id_number.hpp"
#include "faceproof/mrz.hpp"
#include "faceproof/error.hpp"

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_mrz: %s\n", what);
    std::abort();
}

// A decision day between 1900 and about 2200, taken from the input so dates are judged at many.
std::chrono::sys_days today_from(std::string_view text) {
    std::uint32_t seed = 0;
    for (std::size_t i = 0; i < std::min<std::size_t>(text.size(), 4); ++i) {
        seed = seed * 256 + static_cast<unsigned char>(text[i]);
    }
    const auto base = std::chrono::sys_days{std::chrono::year{1900} / 1 / 1};
    return base + std::chrono::days{seed % (300 * 366)};
}

void check_mrz(const faceproof::Mrz& mrz, std::chrono::sys_days today) {
    const bool all_ok = std::all_of(mrz.checks.begin(), mrz.checks.end(),
                                    [](const faceproof::MrzCheck& c) { return c.ok; });
    if (all_ok != mrz.check_digits_ok) fail("check_digits_ok differs from the checks");
    if (mrz.check_digits_ok != mrz.reasons.empty()) fail("reasons differ from check_digits_ok");
    for (const faceproof::MrzCheck& c : mrz.checks) {
        if (c.computed < '0' || c.computed > '9') fail("a computed check digit is not a digit");
    }
    if (mrz.sex != 'F' && mrz.sex != 'M' && mrz.sex != 'X') fail("sex is not F, M or X");
    if (mrz.birth_date.size() != 6 || mrz.expiry_date.size() != 6) fail("a date is not 6 long");

    const faceproof::Mrz again = faceproof::parse_mrz(mrz.lines);
    if (again.format != mrz.format || again.document_number != mrz.document_number ||
        again.optional_data_1 != mrz.optional_data_1 ||
        again.primary_identifier != mrz.primary_identifier ||
        again.secondary_identifier != mrz.secondary_identifier ||
        again.check_digits_ok != mrz.check_digits_ok) {
        fail("parse_mrz(mrz.lines) differs from mrz");
    }

    const faceproof::MrzDateChecks dates = faceproof::check_mrz_dates(mrz, today);
    if (dates.ok != (dates.birth.ok && dates.expiry.ok)) fail("date ok differs from the checks");
    if (dates.ok != dates.reasons.empty()) fail("date reasons differ from ok");
    if (dates.reasons.size() > 2) fail("a date reason repeated");
    if (dates.birth.date && std::chrono::sys_days{*dates.birth.date} > today) {
        fail("a birth date resolved into the future");
    }
}

void check_id_number(const faceproof::CitizenIdNumber& id) {
    if (id.number.size() != 18) fail("ID number not 18 long");
    if (id.ok != (id.check_character_ok && id.birth_date_ok)) fail("ID ok differs from checks");
    if (id.ok != id.reasons.empty()) fail("ID reasons differ from ok");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const std::chrono::sys_days today = today_from(text);
    std::vector<std::string> lines;
    for (std::size_t start = 0; start <= text.size();) {
        const std::size_t end = std::min(text.find('\n', start), text.size());
        lines.emplace_back(text.substr(start, end - start));
        start = end + 1;
    }
    try {
        try {
            check_mrz(faceproof::parse_mrz(lines), today);
        } catch (const faceproof::Error&) {
        }
        try {
            check_mrz(faceproof::parse_mrz_text(text), today);
        } catch (const faceproof::Error&) {
        }
        for (const std::string& line : lines) {
            try {
                check_id_number(faceproof::check_citizen_id_number(line, today));
            } catch (const faceproof::Error&) {
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fuzz_mrz: unexpected exception: %s\n", e.what());
        std::abort();
    }
    return 0;
}
