// Small helpers for ASCII text read from documents and clients (MRZ lines, ID numbers).
// Thread safety: pure and reentrant.
#pragma once

#include <string>
#include <string_view>

namespace faceproof {

// s without leading and trailing spaces, tabs, CR and LF.
std::string_view trim_blanks(std::string_view s);
// A character as a message shows it: 'A' when printable ASCII, else "byte 0x1F".
std::string describe_char(char c);

}  // namespace faceproof
