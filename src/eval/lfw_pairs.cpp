// LFW pairs files: "N" header (dev sets) or "F N" header (View 2 folds), then per set N matched
// lines "name i j" followed by N mismatched lines "name1 i name2 j".
#include "eval/lfw_pairs.hpp"

#include "faceproof/error.hpp"
#include "util/input_file.hpp"

#include <charconv>
#include <cstdio>
#include <limits>
#include <sstream>

namespace faceproof {
namespace {

constexpr long long kMaxIndex = std::numeric_limits<int>::max();

// Names become directory components, so a pairs file must not be able to point outside the root.
bool safe_name(const std::string& name) {
    return !name.empty() && name != "." && name != ".." && name.find_first_of("/\\") == std::string::npos;
}

bool parse_int(const std::string& token, long long& out) {
    const char* end = token.data() + token.size();
    auto [ptr, ec] = std::from_chars(token.data(), end, out);
    return ec == std::errc{} && ptr == end;
}

std::vector<std::string> split(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> tokens;
    for (std::string t; in >> t;) tokens.push_back(t);
    return tokens;
}

[[noreturn]] void fail(const std::filesystem::path& file, std::size_t line_no, const std::string& what) {
    throw Error(ErrorCode::invalid_argument,
                "LFW pairs file " + file.string() + ":" + std::to_string(line_no) + ": " + what);
}

}  // namespace

LfwPairs parse_lfw_pairs(const std::filesystem::path& file) {
    // Only a regular file of bounded size (a FIFO, directory or /dev/zero is refused, io_error).
    std::istringstream in(read_input_text(file, input_limit::dataset_list, "LFW pairs file"));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines.push_back(std::move(line));
    }
    while (!lines.empty() && split(lines.back()).empty()) lines.pop_back();
    if (lines.empty()) fail(file, 1, "missing header");

    const auto header = split(lines[0]);
    long long folds = 1, per_set = 0;
    bool header_ok = false;
    if (header.size() == 1) header_ok = parse_int(header[0], per_set);
    if (header.size() == 2) header_ok = parse_int(header[0], folds) && parse_int(header[1], per_set);
    if (!header_ok || folds < 1 || per_set < 1)
        fail(file, 1, "header must be 'N' or 'FOLDS N' with positive integers");
    // Compared as long long before any allocation, so an absurd header cannot exhaust memory.
    const long long expected = folds * 2 * per_set;
    if (folds > 1'000'000 || per_set > 1'000'000'000 ||
        static_cast<long long>(lines.size()) - 1 != expected)
        fail(file, lines.size(),
             "expected " + std::to_string(expected) + " pair lines after the header, found " +
                 std::to_string(lines.size() - 1));

    LfwPairs result;
    result.folds = static_cast<int>(folds);
    result.pairs.reserve(static_cast<std::size_t>(expected));
    for (std::size_t i = 1; i < lines.size(); ++i) {
        const long long k = static_cast<long long>(i) - 1;
        const bool same = k % (2 * per_set) < per_set;
        const auto t = split(lines[i]);
        LfwPair p;
        p.same = same;
        p.fold = static_cast<int>(k / (2 * per_set));
        long long a = 0, b = 0;
        bool ok = false;
        if (same && t.size() == 3) {
            p.name_a = p.name_b = t[0];
            ok = parse_int(t[1], a) && parse_int(t[2], b);
        } else if (!same && t.size() == 4) {
            p.name_a = t[0];
            p.name_b = t[2];
            ok = parse_int(t[1], a) && parse_int(t[3], b);
        }
        // LFW image numbers start at 1.
        ok = ok && safe_name(p.name_a) && safe_name(p.name_b) && a >= 1 && b >= 1 &&
             a <= kMaxIndex && b <= kMaxIndex;
        if (!ok)
            fail(file, i + 1,
                 same ? "expected matched pair 'name index index'"
                      : "expected mismatched pair 'name1 index1 name2 index2'");
        p.index_a = static_cast<int>(a);
        p.index_b = static_cast<int>(b);
        result.pairs.push_back(std::move(p));
    }
    return result;
}

std::filesystem::path lfw_image_path(const std::filesystem::path& root, const std::string& name, int index) {
    if (!safe_name(name) || index < 1)
        throw Error(ErrorCode::invalid_argument, "invalid LFW image reference '" + name + "' #" +
                                                     std::to_string(index));
    char number[16];
    std::snprintf(number, sizeof number, "_%04d.jpg", index);
    return root / name / (name + number);
}

}  // namespace faceproof
