#include "util/number_list.hpp"

#include <charconv>
#include <cmath>

#include "faceproof/error.hpp"

namespace faceproof {

std::vector<double> parse_number_list(const std::string& text, const std::string& what, std::size_t max_count) {
    std::vector<double> out;
    if (text.find_first_not_of(" \t") == std::string::npos) return out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t comma = text.find(',', start);
        std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        const auto first = item.find_first_not_of(" \t");
        const auto last = item.find_last_not_of(" \t");
        item = first == std::string::npos ? "" : item.substr(first, last - first + 1);
        double value = 0;
        const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
        if (item.empty() || ec != std::errc() || end != item.data() + item.size() || !std::isfinite(value))
            throw Error(ErrorCode::invalid_argument,
                        what + ": item " + std::to_string(out.size() + 1) + " (\"" + item.substr(0, 32) + "\") is not a number");
        if (out.size() == max_count)
            throw Error(ErrorCode::invalid_argument, what + ": more than " + std::to_string(max_count) + " values");
        out.push_back(value);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

}  // namespace faceproof
