#include "faceproof/mrz.hpp"

#include <algorithm>
#include <cstdio>

#include "faceproof/error.hpp"
#include "util/ascii.hpp"

namespace faceproof {

namespace {

[[noreturn]] void malformed(const std::string& message) {
    throw Error(ErrorCode::document_malformed, "MRZ: " + message);
}

bool is_mrz_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '<';
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int char_value(char c) {
    if (is_digit(c)) return c - '0';
    if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
    return 0;  // '<'
}

std::string normalise_line(std::string_view raw, std::size_t line_number) {
    const std::string_view trimmed = trim_blanks(raw);
    std::string line;
    line.reserve(trimmed.size());
    for (std::size_t i = 0; i < trimmed.size(); ++i) {
        char c = trimmed[i];
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        if (!is_mrz_char(c)) {
            malformed("line " + std::to_string(line_number) + " has " + describe_char(c) +
                      " at position " + std::to_string(i + 1) +
                      "; an MRZ holds only A-Z, 0-9 and '<'");
        }
        line.push_back(c);
    }
    return line;
}

// 1-based inclusive positions, as Doc 9303 numbers them.
std::string_view field(const std::string& line, std::size_t first, std::size_t last) {
    return std::string_view(line).substr(first - 1, last - first + 1);
}

std::string strip_trailing_fillers(std::string_view s) {
    while (!s.empty() && s.back() == '<') s.remove_suffix(1);
    return std::string(s);
}

std::string strip_fillers(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c != '<') out.push_back(c);
    }
    return out;
}

// '<' runs -> one space, no leading or trailing space.
std::string fillers_to_spaces(std::string_view s) {
    std::string out;
    bool pending_space = false;
    for (char c : s) {
        if (c == '<') {
            pending_space = !out.empty();
        } else {
            if (pending_space) out.push_back(' ');
            pending_space = false;
            out.push_back(c);
        }
    }
    return out;
}

// No check digit covers the sex, so a character outside F, M, '<' (unspecified) and 'X' (printed by
// some states for unspecified) is refused rather than guessed.
char sex_of(char c, std::size_t line_number, std::size_t position) {
    if (c == 'F' || c == 'M') return c;
    if (c == '<' || c == 'X') return 'X';
    malformed("line " + std::to_string(line_number) + " has " + describe_char(c) + " at position " +
              std::to_string(position) + ", the sex field; expected F, M, X or '<'");
}

void add_check(Mrz& mrz, std::string name, std::string_view data, char expected) {
    const char computed = mrz_check_digit(data);
    mrz.checks.push_back(MrzCheck{std::move(name), expected, computed, expected == computed});
}

void set_names(Mrz& mrz, std::string_view name_field) {
    mrz.name_possibly_truncated = name_field.back() != '<';
    const std::string name = strip_trailing_fillers(name_field);
    const std::size_t separator = name.find("<<");
    if (separator == std::string::npos) {
        mrz.primary_identifier = fillers_to_spaces(name);
        return;
    }
    mrz.primary_identifier = fillers_to_spaces(std::string_view(name).substr(0, separator));
    mrz.secondary_identifier = fillers_to_spaces(std::string_view(name).substr(separator + 2));
}

// Document number with its check digit; TD1/TD2 long numbers continue in `optional`, whose
// remainder after the number's check digit is returned through `optional_rest`.
void set_document_number(Mrz& mrz, std::string_view number, char check, std::string_view optional,
                         bool long_numbers_allowed, std::string_view& optional_rest) {
    optional_rest = optional;
    if (!long_numbers_allowed || check != '<') {
        mrz.document_number = strip_trailing_fillers(number);
        add_check(mrz, "document_number", number, check);
        return;
    }
    // Long number: the continuation runs to the first '<'; its last character is the check digit.
    const std::size_t end = std::min(optional.find('<'), optional.size());
    if (end == 0) {
        // A '<' check digit without a continuation: report the failed check, keep the number.
        mrz.document_number = strip_trailing_fillers(number);
        add_check(mrz, "document_number", number, check);
        return;
    }
    const std::string full = std::string(number) + std::string(optional.substr(0, end - 1));
    mrz.document_number = strip_fillers(full);
    add_check(mrz, "document_number", full, optional[end - 1]);
    // The optional data proper follows the filler after the number's check digit.
    optional_rest = optional.substr(end);
    while (!optional_rest.empty() && optional_rest.front() == '<') optional_rest.remove_prefix(1);
}

void finish(Mrz& mrz) {
    mrz.check_digits_ok =
        std::all_of(mrz.checks.begin(), mrz.checks.end(), [](const MrzCheck& c) { return c.ok; });
    if (!mrz.check_digits_ok) mrz.reasons.emplace_back(kReasonMrzCheckDigit);
}

void parse_td1(Mrz& mrz) {
    const std::string& l1 = mrz.lines[0];
    const std::string& l2 = mrz.lines[1];
    const std::string& l3 = mrz.lines[2];
    mrz.document_code = strip_fillers(field(l1, 1, 2));
    mrz.issuing_state = std::string(field(l1, 3, 5));
    std::string_view optional_rest;
    set_document_number(mrz, field(l1, 6, 14), l1[14], field(l1, 16, 30), true, optional_rest);
    mrz.optional_data_1 = strip_trailing_fillers(optional_rest);

    mrz.birth_date = std::string(field(l2, 1, 6));
    add_check(mrz, "birth_date", field(l2, 1, 6), l2[6]);
    mrz.sex = sex_of(l2[7], 2, 8);
    mrz.expiry_date = std::string(field(l2, 9, 14));
    add_check(mrz, "expiry_date", field(l2, 9, 14), l2[14]);
    mrz.nationality = std::string(field(l2, 16, 18));
    mrz.optional_data_2 = strip_trailing_fillers(field(l2, 19, 29));
    const std::string composite = std::string(field(l1, 6, 30)) + std::string(field(l2, 1, 7)) +
                                  std::string(field(l2, 9, 15)) + std::string(field(l2, 19, 29));
    add_check(mrz, "composite", composite, l2[29]);

    set_names(mrz, field(l3, 1, 30));
}

// TD2, TD3 and the visas share one layout; only the width and the optional-data checks differ.
void parse_two_lines(Mrz& mrz) {
    const std::string& l1 = mrz.lines[0];
    const std::string& l2 = mrz.lines[1];
    const std::size_t width = l1.size();
    const bool visa = mrz.format == MrzFormat::mrv_a || mrz.format == MrzFormat::mrv_b;

    mrz.document_code = strip_fillers(field(l1, 1, 2));
    mrz.issuing_state = std::string(field(l1, 3, 5));
    set_names(mrz, field(l1, 6, width));

    // Optional data: TD2 29-35 (composite at 36), TD3 29-42 (its check 43, composite 44),
    // visas 29-end (no check digits).
    const std::size_t optional_last = visa ? width : mrz.format == MrzFormat::td3 ? 42 : 35;
    std::string_view optional_rest;
    set_document_number(mrz, field(l2, 1, 9), l2[9], field(l2, 29, optional_last),
                        mrz.format == MrzFormat::td2, optional_rest);
    mrz.nationality = std::string(field(l2, 11, 13));
    mrz.birth_date = std::string(field(l2, 14, 19));
    add_check(mrz, "birth_date", field(l2, 14, 19), l2[19]);
    mrz.sex = sex_of(l2[20], 2, 21);
    mrz.expiry_date = std::string(field(l2, 22, 27));
    add_check(mrz, "expiry_date", field(l2, 22, 27), l2[27]);
    mrz.optional_data_1 = strip_trailing_fillers(optional_rest);

    if (mrz.format == MrzFormat::td3) {
        const std::string_view personal = field(l2, 29, 42);
        const char check = l2[42];
        const bool all_fillers = personal.find_first_not_of('<') == std::string_view::npos;
        if (all_fillers && check == '<') {
            mrz.checks.push_back(MrzCheck{"optional_data", '<', mrz_check_digit(personal), true});
        } else {
            add_check(mrz, "optional_data", personal, check);
        }
        const std::string composite = std::string(field(l2, 1, 10)) +
                                      std::string(field(l2, 14, 20)) +
                                      std::string(field(l2, 22, 43));
        add_check(mrz, "composite", composite, l2[43]);
    } else if (mrz.format == MrzFormat::td2) {
        const std::string composite = std::string(field(l2, 1, 10)) +
                                      std::string(field(l2, 14, 20)) +
                                      std::string(field(l2, 22, 35));
        add_check(mrz, "composite", composite, l2[35]);
    }
}

}  // namespace

std::string_view to_string(MrzFormat format) noexcept {
    switch (format) {
        case MrzFormat::td1: return "TD1";
        case MrzFormat::td2: return "TD2";
        case MrzFormat::td3: return "TD3";
        case MrzFormat::mrv_a: return "MRV-A";
        case MrzFormat::mrv_b: return "MRV-B";
    }
    return "unknown";
}

std::string_view to_string(MrzDateState state) noexcept {
    switch (state) {
        case MrzDateState::ok: return "ok";
        case MrzDateState::unknown: return "unknown";
        case MrzDateState::not_a_date: return "not_a_date";
        case MrzDateState::birth_in_future: return "birth_in_future";
        case MrzDateState::expired: return "expired";
    }
    return "unknown_state";
}

char mrz_check_digit(std::string_view data) {
    static constexpr int weights[3] = {7, 3, 1};
    int sum = 0;
    for (std::size_t i = 0; i < data.size(); ++i) {
        if (!is_mrz_char(data[i])) {
            throw Error(ErrorCode::invalid_argument,
                        "mrz_check_digit: " + describe_char(data[i]) + " at position " +
                            std::to_string(i + 1) + " is not an MRZ character");
        }
        sum = (sum + char_value(data[i]) * weights[i % 3]) % 10;
    }
    return static_cast<char>('0' + sum);
}

Mrz parse_mrz(const std::vector<std::string>& raw_lines) {
    if (raw_lines.empty()) malformed("no lines; an MRZ has 2 lines (TD2, TD3, visas) or 3 (TD1)");
    if (raw_lines.size() > 3) {
        malformed(std::to_string(raw_lines.size()) +
                  " lines; an MRZ has 2 lines (TD2, TD3, visas) or 3 (TD1)");
    }
    Mrz mrz{};
    for (std::size_t i = 0; i < raw_lines.size(); ++i) {
        mrz.lines.push_back(normalise_line(raw_lines[i], i + 1));
    }
    if (mrz.lines.size() == 1) {
        malformed("1 line (of length " + std::to_string(mrz.lines[0].size()) +
                  "); an MRZ has 2 lines (TD2, TD3, visas) or 3 (TD1)");
    }

    const std::size_t expected = mrz.lines.size() == 3 ? 30
                                 : mrz.lines[0].size() == 44 ? 44
                                 : mrz.lines[0].size() == 36 ? 36
                                                             : 0;
    if (expected == 0) {
        malformed("line 1 has length " + std::to_string(mrz.lines[0].size()) +
                  "; a 2-line MRZ has lines of 36 (TD2, MRV-B) or 44 (TD3, MRV-A) characters");
    }
    for (std::size_t i = 0; i < mrz.lines.size(); ++i) {
        if (mrz.lines[i].size() != expected) {
            malformed("line " + std::to_string(i + 1) + " has length " +
                      std::to_string(mrz.lines[i].size()) + "; expected " +
                      std::to_string(expected) + " for a " + std::to_string(mrz.lines.size()) +
                      "-line MRZ" + (i == 0 ? "" : " whose line 1 has that length"));
        }
    }

    const bool visa = mrz.lines[0][0] == 'V';
    if (expected == 30) {
        mrz.format = MrzFormat::td1;
        parse_td1(mrz);
    } else {
        mrz.format = expected == 44 ? (visa ? MrzFormat::mrv_a : MrzFormat::td3)
                                    : (visa ? MrzFormat::mrv_b : MrzFormat::td2);
        parse_two_lines(mrz);
    }
    finish(mrz);
    return mrz;
}

Mrz parse_mrz_text(std::string_view text) {
    std::vector<std::string> lines;
    std::size_t count = 0;
    while (true) {
        const std::size_t end = text.find('\n');
        const std::string_view line = trim_blanks(text.substr(0, end));
        if (!line.empty()) {
            ++count;
            if (count <= 3) lines.emplace_back(line);  // copy no more than an MRZ can hold
        }
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
    if (count > 3) {
        malformed(std::to_string(count) +
                  " non-empty lines; an MRZ has 2 lines (TD2, TD3, visas) or 3 (TD1)");
    }
    return parse_mrz(lines);
}

namespace {

bool all_digits(std::string_view s) { return std::all_of(s.begin(), s.end(), is_digit); }

int two_digits(std::string_view s, std::size_t at) { return (s[at] - '0') * 10 + (s[at + 1] - '0'); }

MrzDateCheck judge_date(std::string name, const std::string& raw, std::chrono::sys_days today,
                        bool is_birth) {
    using namespace std::chrono;
    MrzDateCheck check{std::move(name), raw, std::nullopt, MrzDateState::ok, true};
    if (raw.find('<') != std::string::npos) {
        check.state = MrzDateState::unknown;
        check.ok = is_birth;
        return check;
    }
    if (raw.size() != 6 || !all_digits(raw)) {
        check.state = MrzDateState::not_a_date;
        check.ok = false;
        return check;
    }
    const int yy = two_digits(raw, 0);
    const auto m = month(static_cast<unsigned>(two_digits(raw, 2)));
    const auto d = day(static_cast<unsigned>(two_digits(raw, 4)));
    const year_month_day now{today};
    const int now_year = static_cast<int>(now.year());

    int resolved_year = 0;
    if (is_birth) {
        // Latest year <= now's year ending in yy; a century back when that date is still ahead.
        resolved_year = now_year - ((now_year % 100 - yy + 100) % 100);
        if (year_month_day{year{resolved_year}, m, d}.ok() &&
            sys_days{year_month_day{year{resolved_year}, m, d}} > today) {
            resolved_year -= 100;
        }
    } else {
        // The year ending in yy within [now - 50, now + 49].
        resolved_year = now_year - 50 + ((yy - (now_year - 50) % 100 + 100) % 100);
    }
    const year_month_day date{year{resolved_year}, m, d};
    if (!date.ok()) {
        check.state = MrzDateState::not_a_date;
        check.ok = false;
        return check;
    }
    check.date = date;
    if (is_birth && sys_days{date} > today) {
        check.state = MrzDateState::birth_in_future;  // the resolution rule prevents it; a guard
        check.ok = false;
    } else if (!is_birth && sys_days{date} < today) {
        check.state = MrzDateState::expired;
        check.ok = false;
    }
    return check;
}

}  // namespace

MrzDateChecks check_mrz_dates(const Mrz& mrz, std::chrono::sys_days today) {
    MrzDateChecks checks{judge_date("birth_date", mrz.birth_date, today, true),
                         judge_date("expiry_date", mrz.expiry_date, today, false), true, {}};
    checks.ok = checks.birth.ok && checks.expiry.ok;
    auto add_reason = [&](std::string_view reason) {
        if (std::find(checks.reasons.begin(), checks.reasons.end(), reason) == checks.reasons.end()) {
            checks.reasons.emplace_back(reason);
        }
    };
    for (const MrzDateCheck* check : {&checks.birth, &checks.expiry}) {
        if (check->ok) continue;
        add_reason(check->state == MrzDateState::expired ? kReasonDocumentExpired
                                                         : kReasonMrzDateInvalid);
    }
    return checks;
}

}  // namespace faceproof
