#include "util/text_file.hpp"

#include "util/input_file.hpp"

namespace faceproof {

std::string read_text_file(const std::filesystem::path& path, const std::string& what, std::size_t max_bytes) {
    return read_input_text(path, max_bytes, what, ErrorCode::io_error);
}

}  // namespace faceproof
