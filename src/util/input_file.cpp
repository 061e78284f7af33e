#include "util/input_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace faceproof {

std::string describe_file_type(mode_t mode) {
    if (S_ISREG(mode)) return "a regular file";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

InputFile::InputFile(int fd, std::filesystem::path path, std::string what, ErrorCode code, std::uint64_t size,
                     mode_t mode)
    : fd_(fd), path_(std::move(path)), what_(std::move(what)), code_(code), size_(size), mode_(mode) {}

InputFile::InputFile(InputFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      what_(std::move(other.what_)),
      code_(other.code_),
      size_(other.size_),
      mode_(other.mode_) {}

InputFile& InputFile::operator=(InputFile&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
        path_ = std::move(other.path_);
        what_ = std::move(other.what_);
        code_ = other.code_;
        size_ = other.size_;
        mode_ = other.mode_;
    }
    return *this;
}

InputFile::~InputFile() {
    if (fd_ >= 0) ::close(fd_);
}

InputFile InputFile::open(const std::filesystem::path& path, const std::string& what, ErrorCode code) {
    const std::string name = what + " '" + path.string() + "'";
    auto not_regular = [&](mode_t mode) {
        return Error(code, "cannot read " + name + ": it is " + describe_file_type(mode) + ", not a regular file");
    };
    // Refuse from the path first, so a device or FIFO is never even opened (opening a device can
    // have effects of its own, e.g. a tape rewinding).
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) throw not_regular(st.st_mode);
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        const int e = errno;
        throw Error(code, "cannot open " + name + ": " + std::strerror(e));
    }
    // The path may have been replaced since stat(): the descriptor's own type is what counts.
    if (::fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        throw Error(code, "cannot read " + name + ": " + std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        throw not_regular(st.st_mode);
    }
    return InputFile(fd, path, what, code, static_cast<std::uint64_t>(st.st_size), st.st_mode);
}

std::size_t InputFile::read_some(void* buffer, std::size_t n) {
    for (;;) {
        const ssize_t r = ::read(fd_, buffer, n);
        if (r >= 0) return static_cast<std::size_t>(r);
        if (errno == EINTR) continue;
        const int e = errno;
        throw Error(code_, "error while reading " + what_ + " '" + path_.string() + "': " + std::strerror(e));
    }
}

void InputFile::too_large_error(const std::string& size, std::size_t max_bytes, ErrorCode too_large) const {
    throw Error(too_large, what_ + " '" + path_.string() + "' is " + size + " bytes; the limit is " +
                               std::to_string(max_bytes) + " bytes");
}

void InputFile::check_size(std::size_t max_bytes, ErrorCode too_large) const {
    if (size_ > max_bytes) too_large_error(std::to_string(size_), max_bytes, too_large);
}

std::vector<std::uint8_t> InputFile::read_all(std::size_t max_bytes, ErrorCode too_large) {
    check_size(max_bytes, too_large);
    std::vector<std::uint8_t> data;
    data.reserve(static_cast<std::size_t>(size_));
    // One byte past the limit tells a file that grew after fstat from one that is exactly at it.
    const std::size_t cap = max_bytes == SIZE_MAX ? max_bytes : max_bytes + 1;
    constexpr std::size_t kChunk = 64u << 10;
    while (data.size() < cap) {
        const std::size_t want = std::min(kChunk, cap - data.size());
        const std::size_t at = data.size();
        data.resize(at + want);
        const std::size_t got = read_some(data.data() + at, want);
        data.resize(at + got);
        if (got == 0) break;
    }
    if (data.size() > max_bytes) too_large_error("more than " + std::to_string(max_bytes), max_bytes, too_large);
    return data;
}

std::vector<std::uint8_t> read_input_file(const std::filesystem::path& path, std::size_t max_bytes,
                                          const std::string& what, ErrorCode too_large) {
    return InputFile::open(path, what).read_all(max_bytes, too_large);
}

std::string read_input_text(const std::filesystem::path& path, std::size_t max_bytes, const std::string& what,
                            ErrorCode too_large) {
    const std::vector<std::uint8_t> bytes = read_input_file(path, max_bytes, what, too_large);
    return std::string(bytes.begin(), bytes.end());
}

}  // namespace faceproof
