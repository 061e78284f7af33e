// Comma-separated numbers ("0,110,220"), as the CLI's --timestamps-ms / --colors and the capture
// route's multipart fields give them.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace faceproof {

// requires: at most max_count finite numbers separated by commas (spaces around them allowed).
// throws:   Error{invalid_argument} naming `what` and the first bad item.
std::vector<double> parse_number_list(const std::string& text, const std::string& what, std::size_t max_count);

}  // namespace faceproof
