// Decoding UTF-8 strictly (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace faceproof {

// The code points of text, or nullopt when text is not valid UTF-8.
std::optional<std::vector<char32_t>> decode_utf8(std::string_view text);

}  // namespace faceproof
