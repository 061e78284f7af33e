#include "gallery/index_snapshot.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

#include "faceproof/crypto.hpp"
#include "faceproof/error.hpp"
#include "gallery/byte_io.hpp"

namespace faceproof::gallery {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'F', 'P', 'S', 'N', 'A', 'P', '0', '1'};

std::string associated_data(const std::string& tenant) { return "faceproof/gallery-snapshot|" + tenant; }

void wipe(std::vector<std::uint8_t>& bytes) noexcept {
    volatile std::uint8_t* p = bytes.data();
    for (std::size_t i = 0; i < bytes.size(); ++i) p[i] = 0;
    bytes.clear();
}

using Writer = ByteWriter;
using Reader = ByteReader;

[[noreturn]] void malformed(const std::string& what) {
    throw Error(ErrorCode::invalid_argument, "gallery snapshot: " + what);
}

[[noreturn]] void io_failure(const std::string& what, const fs::path& path) {
    throw Error(ErrorCode::io_error, "gallery snapshot: " + what + " " + path.string() + ": " + std::strerror(errno));
}

void write_all(int fd, const std::vector<std::uint8_t>& bytes, const fs::path& path) {
    std::size_t written = 0;
    while (written < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) io_failure("cannot write", path);
        written += static_cast<std::size_t>(n);
    }
}

}  // namespace

fs::path snapshot_path(const fs::path& directory, const std::string& tenant) { return directory / (tenant + ".gallery"); }

void write_snapshot(const fs::path& directory, const DataKey& key, const SnapshotContents& contents) {
    std::size_t owners_bytes = 0;
    for (const auto& [id, reference] : contents.owners) owners_bytes += sizeof id + 4 + reference.size();
    Writer w(64 + contents.tenant.size() + contents.model_id.size() + contents.model_sha256.size() + owners_bytes +
             contents.index.bytes.size());
    for (const char c : kMagic) w.pod(c);
    w.text(contents.tenant);
    w.pod<std::int64_t>(contents.change_sequence);
    w.text(contents.model_id);
    w.text(contents.model_sha256);
    w.pod<std::uint64_t>(contents.owners.size());
    for (const auto& [id, reference] : contents.owners) {
        w.pod<std::int64_t>(id);
        w.text(reference);
    }
    w.pod<std::uint64_t>(contents.index.bytes.size());
    w.out().insert(w.out().end(), contents.index.bytes.begin(), contents.index.bytes.end());
    std::vector<std::uint8_t> sealed;
    try {
        sealed = seal(key, w.out(), associated_data(contents.tenant));
    } catch (...) {
        wipe(w.out());
        throw;
    }
    wipe(w.out());

    const fs::path target = snapshot_path(directory, contents.tenant);
    std::random_device entropy;
    const fs::path temporary = directory / ("." + contents.tenant + ".gallery." + std::to_string(entropy()) + ".tmp");
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) io_failure("cannot create", temporary);
    try {
        write_all(fd, sealed, temporary);
        if (::fsync(fd) != 0) io_failure("cannot sync", temporary);
        if (::close(fd) != 0) {
            ::unlink(temporary.c_str());
            io_failure("cannot close", temporary);
        }
    } catch (...) {
        ::close(fd);
        ::unlink(temporary.c_str());
        throw;
    }
    if (::rename(temporary.c_str(), target.c_str()) != 0) {
        ::unlink(temporary.c_str());
        io_failure("cannot rename to", target);
    }
    // The rename is durable once the directory is.
    const int directory_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (directory_fd >= 0) {
        ::fsync(directory_fd);
        ::close(directory_fd);
    }
}

std::optional<SnapshotContents> read_snapshot(const fs::path& directory, const std::string& tenant, const DataKey& key) {
    const fs::path path = snapshot_path(directory, tenant);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return std::nullopt;
        io_failure("cannot open", path);
    }
    std::vector<std::uint8_t> sealed;
    try {
        struct stat info {};
        if (::fstat(fd, &info) != 0) io_failure("cannot stat", path);
        if (!S_ISREG(info.st_mode)) throw Error(ErrorCode::io_error, "gallery snapshot: not a regular file: " + path.string());
        sealed.resize(static_cast<std::size_t>(info.st_size));
        std::size_t done = 0;
        while (done < sealed.size()) {
            const ssize_t n = ::read(fd, sealed.data() + done, sealed.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) io_failure("cannot read", path);
            done += static_cast<std::size_t>(n);
        }
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);

    std::vector<std::uint8_t> plain = open(key, sealed, associated_data(tenant));
    try {
        Reader r(plain, "gallery snapshot");
        char magic[sizeof kMagic];
        r.bytes(magic, sizeof magic);
        if (std::memcmp(magic, kMagic, sizeof magic) != 0) malformed("not a gallery snapshot");
        SnapshotContents s;
        s.tenant = r.text();
        if (s.tenant != tenant) malformed("of tenant '" + s.tenant + "', not '" + tenant + "'");
        s.change_sequence = r.pod<std::int64_t>();
        s.model_id = r.text();
        s.model_sha256 = r.text();
        const auto owners = r.pod<std::uint64_t>();
        if (owners > r.remaining() / (sizeof(std::int64_t) + 4)) malformed("truncated");
        s.owners.reserve(owners);
        for (std::uint64_t i = 0; i < owners; ++i) {
            const auto id = r.pod<std::int64_t>();
            s.owners.emplace_back(id, r.text());
        }
        const auto image = r.pod<std::uint64_t>();
        if (image != r.remaining()) malformed("index image size");
        s.index.bytes.resize(image);
        r.bytes(s.index.bytes.data(), image);
        wipe(plain);
        return s;
    } catch (...) {
        wipe(plain);
        throw;
    }
}

bool remove_snapshot(const fs::path& directory, const std::string& tenant) {
    const fs::path path = snapshot_path(directory, tenant);
    if (::unlink(path.c_str()) == 0) return true;
    if (errno == ENOENT) return false;
    io_failure("cannot remove", path);
}

}  // namespace faceproof::gallery
