// Reading a small text file (calibration, labels) whole, with the one error a caller reports.
#pragma once

#include <filesystem>
#include <string>

namespace faceproof {

// Throws Error{io_error, "cannot read <what> <path>"} when the file cannot be opened or read.
std::string read_text_file(const std::filesystem::path& path, const std::string& what);

}  // namespace faceproof
