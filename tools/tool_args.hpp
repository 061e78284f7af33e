// Command-line helpers shared by the small tools in tools/ (not the faceproof CLI, which uses
// CLI11): a usage error, and whole and decimal numbers checked against a range.
#pragma once

#include <stdexcept>
#include <string>

namespace faceproof::tools {

struct UsageError {
    std::string message;
};

inline int parse_int(const std::string& option, const std::string& value, int low, int high) {
    std::size_t used = 0;
    int n = 0;
    try {
        n = std::stoi(value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != value.size() || n < low || n > high)
        throw UsageError{option + " needs a whole number in " + std::to_string(low) + ".." + std::to_string(high)};
    return n;
}

inline double parse_double(const std::string& option, const std::string& value, double low, double high) {
    std::size_t used = 0;
    double x = 0;
    try {
        x = std::stod(value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != value.size() || !(x >= low && x <= high))
        throw UsageError{option + " needs a number in " + std::to_string(low) + ".." + std::to_string(high)};
    return x;
}

}  // namespace faceproof::tools
