#include "util/data_dir.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "faceproof/error.hpp"

namespace faceproof {

std::filesystem::path default_data_dir() {
    namespace fs = std::filesystem;
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg && fs::path(xdg).is_absolute())
        return fs::path(xdg) / "faceproof";
    if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".local" / "share" / "faceproof";
    return {};
}

void create_private_directories(const std::filesystem::path& dir) {
    namespace fs = std::filesystem;
    // mkdir with 0700 from the start (std::filesystem::create_directories makes 0777 & ~umask and
    // would leave a window before a chmod), from the outermost missing directory inwards.
    std::vector<fs::path> missing;
    std::error_code ec;
    for (fs::path p = dir; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
        missing.push_back(p);
        if (p == p.parent_path()) break;
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it)
        if (::mkdir(it->c_str(), 0700) != 0 && errno != EEXIST) {
            const int e = errno;
            throw Error(ErrorCode::io_error, "cannot create directory " + it->string() + ": " + std::strerror(e));
        }
}

}  // namespace faceproof
