#include "util/text_file.hpp"

#include <fstream>
#include <sstream>

#include "faceproof/error.hpp"

namespace faceproof {

std::string read_text_file(const std::filesystem::path& path, const std::string& what) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    if (in) text << in.rdbuf();
    if (!in || in.bad()) throw Error(ErrorCode::io_error, "cannot read " + what + " " + path.string());
    return text.str();
}

}  // namespace faceproof
