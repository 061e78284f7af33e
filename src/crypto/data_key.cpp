// faceproof — the data key: loading (with permission checks), generating, and its id.
#include "faceproof/data_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <sodium.h>

#include "faceproof/crypto.hpp"
#include "faceproof/error.hpp"
#include "util/data_dir.hpp"
#include "util/input_file.hpp"

namespace faceproof {
namespace fs = std::filesystem;

namespace {

std::string errno_text(int e) { return std::strerror(e); }

// A file descriptor closed on every exit path.
class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    int release() {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }

private:
    int fd_;
};

// A small guarded, locked scratch buffer (file contents, hex text), wiped when freed.
class SecretBuffer {
public:
    explicit SecretBuffer(std::size_t size) : size_(size), p_(static_cast<unsigned char*>(sodium_malloc(size))) {
        if (!p_) throw Error(ErrorCode::internal, "cannot allocate secure memory for the data key");
        sodium_mlock(p_, size_);  // best effort: may fail under RLIMIT_MEMLOCK, sodium_malloc tried too
    }
    ~SecretBuffer() { sodium_free(p_); }
    SecretBuffer(const SecretBuffer&) = delete;
    SecretBuffer& operator=(const SecretBuffer&) = delete;
    unsigned char* data() { return p_; }
    std::size_t size() const { return size_; }

private:
    std::size_t size_;
    unsigned char* p_;
};

constexpr const char* kFormatHelp =
    "a data key file holds exactly 32 raw bytes or 64 hex characters (optionally followed by a "
    "newline); `faceproof keys generate FILE` makes one";

}  // namespace

DataKey::DataKey() {
    ensure_sodium();
    key_ = static_cast<unsigned char*>(sodium_malloc(kSize));
    if (!key_) throw Error(ErrorCode::internal, "cannot allocate secure memory for the data key");
    sodium_mlock(key_, kSize);  // best effort (see SecretBuffer)
}

DataKey::DataKey(DataKey&& other) noexcept : key_(other.key_) { other.key_ = nullptr; }

DataKey& DataKey::operator=(DataKey&& other) noexcept {
    if (this != &other) {
        if (key_) sodium_free(key_);  // wipes, unlocks and frees (works on read-only memory)
        key_ = other.key_;
        other.key_ = nullptr;
    }
    return *this;
}

DataKey::~DataKey() {
    if (key_) sodium_free(key_);
}

const unsigned char* DataKey::data() const {
    if (!key_) throw Error(ErrorCode::internal, "use of a moved-from DataKey");
    return key_;
}

void DataKey::seal_readonly() { sodium_mprotect_readonly(key_); }

DataKey DataKey::from_bytes(std::span<const std::uint8_t> bytes) {
    if (bytes.size() != kSize)
        throw Error(ErrorCode::invalid_argument,
                    "a data key is 32 bytes, got " + std::to_string(bytes.size()));
    DataKey k;
    std::memcpy(k.key_, bytes.data(), kSize);
    k.seal_readonly();
    return k;
}

DataKey DataKey::from_file(const fs::path& file) {
    ensure_sodium();
    const std::string name = file.string();
    // Only a regular file, opened without blocking (a FIFO would hang open()); the checks below are
    // made on the opened descriptor, so the file cannot change between check and read.
    InputFile in = InputFile::open(file, "data key file", ErrorCode::key_invalid);
    if ((in.mode() & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(in.mode() & 07777));
        throw Error(ErrorCode::key_invalid, "data key file " + name + " has mode " + mode +
                                                " (readable or writable by group or others); run `chmod 600 " +
                                                name + "`");
    }
    // Every accepted form is at most 65 bytes; input_limit::key_file refuses anything far larger
    // from its size alone, and the read below stops at 66 bytes whatever the size claims.
    in.check_size(input_limit::key_file, ErrorCode::key_invalid);

    SecretBuffer buf(66);
    std::size_t n = 0;
    while (n < buf.size()) {
        const std::size_t r = in.read_some(buf.data() + n, buf.size() - n);
        if (r == 0) break;
        n += r;
    }

    DataKey k;
    if (n == kSize) {
        std::memcpy(k.key_, buf.data(), kSize);
    } else if (n == 2 * kSize || (n == 2 * kSize + 1 && buf.data()[2 * kSize] == '\n')) {
        std::size_t bin_len = 0;
        const char* end = nullptr;
        const int rc = sodium_hex2bin(k.key_, kSize, reinterpret_cast<const char*>(buf.data()), 2 * kSize,
                                      nullptr, &bin_len, &end);
        if (rc != 0 || bin_len != kSize || end != reinterpret_cast<const char*>(buf.data()) + 2 * kSize)
            throw Error(ErrorCode::key_invalid, "data key file " + name +
                                                    " is 64 characters but not all hexadecimal; " + kFormatHelp);
    } else {
        const std::string size = n == buf.size() ? "more than 65" : std::to_string(n);
        throw Error(ErrorCode::key_invalid, "data key file " + name + " has " + size + " bytes; " + kFormatHelp);
    }
    if (sodium_is_zero(k.key_, kSize))
        throw Error(ErrorCode::key_invalid, "data key file " + name + " holds an all-zero key; " + kFormatHelp);
    k.seal_readonly();
    return k;
}

DataKey DataKey::from_environment_or_file(const std::optional<fs::path>& flag) {
    if (flag) return from_file(*flag);
    if (const char* v = std::getenv("FACEPROOF_KEY_FILE"); v && *v) return from_file(v);
    if (std::error_code ec; fs::exists(default_file(), ec)) return from_file(default_file());
    throw Error(ErrorCode::key_invalid,
                "no data key: pass --key-file FILE or set FACEPROOF_KEY_FILE; "
                "`faceproof keys generate FILE` makes one");
}

fs::path DataKey::default_file() {
    const fs::path dir = default_data_dir();
    return dir.empty() ? fs::path() : dir / "data.key";
}

bool DataKey::configured(const std::optional<fs::path>& flag) {
    if (flag) return true;
    if (const char* v = std::getenv("FACEPROOF_KEY_FILE"); v && *v) return true;
    std::error_code ec;
    return !default_file().empty() && fs::exists(default_file(), ec);
}

void DataKey::generate_file(const fs::path& file) {
    ensure_sodium();
    const std::string name = file.string();
    // O_EXCL: never overwrite (a lost key makes every sealed template unreadable). O_NOFOLLOW: never
    // write through a symlink planted at the name. 0600 is only ever narrowed by the umask.
    Fd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
        if (errno == EEXIST)
            throw Error(ErrorCode::io_error, "refusing to overwrite existing file " + name +
                                                 " (it may be the key that sealed stored data)");
        throw Error(ErrorCode::io_error, "cannot create key file " + name + ": " + errno_text(errno));
    }
    auto fail = [&](const std::string& what) {
        const int e = errno;
        ::close(fd.release());
        ::unlink(file.c_str());
        throw Error(ErrorCode::io_error, what + " key file " + name + ": " + errno_text(e));
    };

    SecretBuffer raw(kSize);
    SecretBuffer hex(2 * kSize + 2);  // 64 hex chars + '\n' (+ the NUL sodium_bin2hex writes)
    randombytes_buf(raw.data(), kSize);
    sodium_bin2hex(reinterpret_cast<char*>(hex.data()), 2 * kSize + 1, raw.data(), kSize);
    hex.data()[2 * kSize] = '\n';
    std::size_t done = 0;
    const std::size_t total = 2 * kSize + 1;
    while (done < total) {
        const ssize_t w = ::write(fd.get(), hex.data() + done, total - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            fail("cannot write");
        }
        done += static_cast<std::size_t>(w);
    }
    if (::fsync(fd.get()) != 0) fail("cannot sync");
    if (::close(fd.release()) != 0) {
        const int e = errno;
        ::unlink(file.c_str());
        throw Error(ErrorCode::io_error, "cannot close key file " + name + ": " + errno_text(e));
    }
}

std::string DataKey::id() const {
    static constexpr char kContext[] = "faceproof-key-id";
    std::array<unsigned char, crypto_generichash_BYTES> h{};  // BLAKE2b-256
    crypto_generichash(h.data(), h.size(), reinterpret_cast<const unsigned char*>(kContext),
                       sizeof kContext - 1, data(), kSize);
    std::array<char, 2 * kKeyIdBytes + 1> hex{};
    sodium_bin2hex(hex.data(), hex.size(), h.data(), kKeyIdBytes);
    return hex.data();
}

}  // namespace faceproof
