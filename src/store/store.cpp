// Store::open — picks the backend from the URL.
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "faceproof/error.hpp"
#include "faceproof/store.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "util/data_dir.hpp"

namespace faceproof {
namespace {

namespace fs = std::filesystem;

fs::path default_sqlite_path() {
    const fs::path dir = default_data_dir();
    if (dir.empty()) throw Error(ErrorCode::store_error, "store: neither XDG_DATA_HOME nor HOME is set; use sqlite:PATH");
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
        fs::create_directories(dir, ec);
        if (ec) throw Error(ErrorCode::store_error, "store: cannot create " + dir.string() + ": " + ec.message());
        fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);  // biometric data: owner only
    }
    return dir / "faceproof.db";
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

std::string Store::resolve_url(const std::string& given) {
    if (!given.empty()) return given;
    if (const char* env = std::getenv("FACEPROOF_DB"); env && *env) return env;
    return "sqlite:";
}

std::unique_ptr<Store> Store::open(const std::string& url) {
    if (starts_with(url, "sqlite:")) {
        const std::string path = url.substr(7);
        return store_detail::open_sqlite(path.empty() ? default_sqlite_path().string() : path);
    }
    if (starts_with(url, "postgresql://") || starts_with(url, "postgres://"))
        return store_detail::open_postgres(url);
    throw Error(ErrorCode::invalid_argument,
                "store: unknown database URL (expected sqlite:PATH, sqlite: or postgresql://...)");
}

}  // namespace faceproof
