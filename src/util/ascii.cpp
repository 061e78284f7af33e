#include "util/ascii.hpp"

#include <cstdio>

namespace faceproof {

std::string_view trim_blanks(std::string_view s) {
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && blank(s.back())) s.remove_suffix(1);
    return s;
}

std::string describe_char(char c) {
    const auto byte = static_cast<unsigned char>(c);
    char buffer[32];
    if (byte >= 0x20 && byte < 0x7f)
        std::snprintf(buffer, sizeof buffer, "'%c'", c);
    else
        std::snprintf(buffer, sizeof buffer, "byte 0x%02X", static_cast<unsigned>(byte));
    return buffer;
}

}  // namespace faceproof
