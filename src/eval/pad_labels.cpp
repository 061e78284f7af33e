#include "eval/pad_labels.hpp"

#include <map>
#include <sstream>

#include "faceproof/error.hpp"
#include "util/input_file.hpp"

namespace faceproof {
namespace {

std::vector<std::string> split_csv_line(const std::string& line) {
    std::vector<std::string> fields;
    std::string field;
    std::istringstream in(line);
    while (std::getline(in, field, ',')) fields.push_back(field);
    if (!line.empty() && line.back() == ',') fields.emplace_back();
    for (auto& f : fields) {  // trim spaces and a CR from Windows line ends
        const auto a = f.find_first_not_of(" \t\r");
        const auto b = f.find_last_not_of(" \t\r");
        f = a == std::string::npos ? "" : f.substr(a, b - a + 1);
    }
    return fields;
}

std::uint64_t fnv1a(const std::string& s) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

}  // namespace

std::vector<PadLabel> parse_pad_labels(const std::filesystem::path& file) {
    // Only a regular file of bounded size (a FIFO, directory or /dev/zero is refused, io_error).
    std::istringstream in(read_input_text(file, input_limit::dataset_list, "labels file"));
    std::string line;
    int line_no = 0;
    std::map<std::string, std::size_t> column;
    auto bad = [&](const std::string& why) {
        throw Error(ErrorCode::invalid_argument, file.filename().string() + " line " + std::to_string(line_no) + ": " + why);
    };
    while (std::getline(in, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const auto fields = split_csv_line(line);
        for (std::size_t i = 0; i < fields.size(); ++i) column.emplace(fields[i], i);
        break;
    }
    for (const char* name : {"file", "label", "subject", "attack_type"})
        if (!column.count(name)) bad(std::string("header lacks the column \"") + name + "\"");
    std::vector<PadLabel> rows;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const auto fields = split_csv_line(line);
        auto get = [&](const char* name) -> const std::string& {
            const std::size_t i = column.at(name);
            if (i >= fields.size()) bad(std::string("missing field \"") + name + "\"");
            return fields[i];
        };
        PadLabel row;
        row.file = get("file");
        const std::string& label = get("label");
        if (label == "real")
            row.bona_fide = true;
        else if (label != "spoof")
            bad("label must be \"real\" or \"spoof\", got \"" + label + "\"");
        row.attack_type = get("attack_type");
        row.subject = get("subject");
        if (row.file.empty()) bad("empty file name");
        if (row.subject.empty()) bad("empty subject");
        if (!row.bona_fide && row.attack_type.empty()) bad("an attack needs an attack_type");
        rows.push_back(std::move(row));
    }
    if (rows.empty()) throw Error(ErrorCode::invalid_argument, file.string() + ": no labelled images");
    return rows;
}

std::set<std::string> split_subjects_alternate(const std::set<std::string>& subjects) {
    std::set<std::string> chosen;
    bool take = true;
    for (const auto& s : subjects) {  // std::set iterates in sorted order
        if (take) chosen.insert(s);
        take = !take;
    }
    return chosen;
}

std::set<std::string> split_subjects_hashed(const std::set<std::string>& subjects, std::uint64_t seed) {
    std::set<std::string> chosen;
    for (const auto& s : subjects)
        if (fnv1a(std::to_string(seed) + ":" + s) % 2 == 0) chosen.insert(s);
    return chosen;
}

}  // namespace faceproof
