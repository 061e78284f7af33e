#include "util/data_dir.hpp"

#include <cstdlib>

namespace faceproof {

std::filesystem::path default_data_dir() {
    namespace fs = std::filesystem;
    if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg && fs::path(xdg).is_absolute())
        return fs::path(xdg) / "faceproof";
    if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".local" / "share" / "faceproof";
    return {};
}

}  // namespace faceproof
