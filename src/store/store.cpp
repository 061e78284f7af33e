// Store::open — picks the backend from the URL; for SQLite, decides whether a missing file may be
// created (StoreOpening) and creates it owner-only.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "faceproof/error.hpp"
#include "faceproof/store.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "util/data_dir.hpp"
#include "util/input_file.hpp"

namespace faceproof {
namespace {

namespace fs = std::filesystem;

fs::path default_sqlite_path(StoreOpening opening) {
    const fs::path dir = default_data_dir();
    if (dir.empty()) throw Error(ErrorCode::store_error, "store: neither XDG_DATA_HOME nor HOME is set; use sqlite:PATH");
    if (opening == StoreOpening::create_if_missing) {
        try {
            create_private_directories(dir);  // biometric data: owner only
        } catch (const Error& e) {
            throw Error(ErrorCode::store_error, std::string("store: ") + e.what());
        }
    }
    return dir / "faceproof.db";
}

// Makes sure a database file is at path: true when this call created it (empty, mode 0600).
bool prepare_sqlite_file(const fs::path& path, StoreOpening opening) {
    const std::string name = path.string();
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
        if (!S_ISREG(st.st_mode))
            throw Error(ErrorCode::store_error,
                        "store: " + name + " is " + describe_file_type(st.st_mode) + ", not a database file");
        return false;
    }
    if (errno != ENOENT) {
        const int e = errno;
        throw Error(ErrorCode::store_error, "store: cannot open " + name + ": " + std::strerror(e));
    }
    if (opening == StoreOpening::existing_only)
        throw Error(ErrorCode::store_error, "store: there is no database at " + name +
                                                " (a mistyped --db or $FACEPROOF_DB?); enrolling creates one");
    // Created here rather than by SQLite so that it is 0600 from the start: SQLite would make it
    // 0644, and it gives the -wal and -shm files the mode of the database file. O_EXCL: a file
    // that appears meanwhile (another process) is simply used.
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0) {
        if (errno == EEXIST) return false;
        const int e = errno;
        throw Error(ErrorCode::store_error, "store: cannot create " + name + ": " + std::strerror(e));
    }
    ::close(fd);
    return true;
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

std::string Store::resolve_url(const std::string& given) {
    if (!given.empty()) return given;
    if (const char* env = std::getenv("FACEPROOF_DB"); env && *env) return env;
    return "sqlite:";
}

OpenedStore Store::open(const std::string& url, StoreOpening opening) {
    if (starts_with(url, "sqlite:")) {
        const std::string given = url.substr(7);
        const fs::path path = given.empty() ? default_sqlite_path(opening) : fs::path(given);
        const bool created = prepare_sqlite_file(path, opening);
        try {
            return {store_detail::open_sqlite(path.string()), created ? path.string() : std::string()};
        } catch (...) {
            // A store that could not be set up is not left behind to pass for an existing one.
            if (created) {
                std::error_code ec;
                for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path.string() + suffix, ec);
            }
            throw;
        }
    }
    if (starts_with(url, "postgresql://") || starts_with(url, "postgres://"))
        return {store_detail::open_postgres(url), std::string()};
    throw Error(ErrorCode::invalid_argument,
                "store: unknown database URL (expected sqlite:PATH, sqlite: or postgresql://...)");
}

std::unique_ptr<Store> Store::open(const std::string& url) {
    return open(url, StoreOpening::create_if_missing).store;
}

}  // namespace faceproof
