// Reading a small text file (calibration, consent, settings) whole, with the one error a caller
// reports.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "util/input_file.hpp"  // input_limit::*

namespace faceproof {

// requires: nothing (path may name anything).
// ensures:  the content of the regular file at path, of at most max_bytes (input_limit::* in
//           util/input_file.hpp). Throws Error{io_error} naming `what` and path when it is missing,
//           unreadable, not a regular file (a FIFO or device is refused without blocking), or larger
//           than max_bytes (refused from its size, before reading).
std::string read_text_file(const std::filesystem::path& path, const std::string& what, std::size_t max_bytes);

}  // namespace faceproof
