// Reading the files a user names (images, templates, consent records, settings, calibrations, data
// set lists, data keys, models): only regular files, opened without blocking, never more than a
// limit that depends on the kind of file.
//
// Why: a FIFO blocks open() until a writer appears and a device such as /dev/zero never ends, so a
// path given by mistake (or by an attacker who controls a setting) must not hang a command or fill
// its memory. Every input is therefore opened O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_NOCTTY (a FIFO then
// opens at once), checked with fstat on that descriptor (so the file checked is the file read) and
// refused unless it is a regular file; its size is compared with the limit before anything is read,
// and reading stops after limit + 1 bytes in case the file grows meanwhile.
//
// Errors: the kind of failure decides the code, the caller only names the file ("consent file"):
//   missing, unreadable, not a regular file  -> Error{io_error} (or the caller's `code`, e.g. the
//                                               data key's key_invalid)
//   larger than the limit                    -> Error{too_large}: io_error for every kind except
//                                               images, which keep image_too_large
// Messages name the file and what it is: "cannot read consent file '/tmp/p': it is a FIFO (named
// pipe), not a regular file".
//
// Thread safety: all functions are reentrant; an InputFile belongs to one thread at a time.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "faceproof/error.hpp"

namespace faceproof {

// The size limits of each kind of input file, in bytes (README "Input files").
namespace input_limit {
inline constexpr std::size_t consent = 64u << 10;         // a consent record: five short fields
inline constexpr std::size_t server_config = 64u << 10;   // `serve --config`
inline constexpr std::size_t key_file = 4u << 10;         // a data key is 32 or 65 bytes
inline constexpr std::size_t template_file = 1u << 20;    // a template is ~2 KiB
inline constexpr std::size_t calibration = 1u << 20;      // match and liveness calibrations (~4 KiB)
inline constexpr std::size_t challenge = 64u << 10;       // a liveness challenge (~1 KiB)
inline constexpr std::size_t dataset_list = 64u << 20;    // LFW pairs and PAD labels files
inline constexpr std::size_t model = 256u << 20;          // ONNX model files (the largest is 6 MB)
}  // namespace input_limit

// "a directory", "a FIFO (named pipe)", "a character device", ... for the file type bits of mode.
std::string describe_file_type(mode_t mode);

// An open regular file: a read-only descriptor (closed on destruction) and what fstat said of it.
class InputFile {
public:
    // requires: nothing (path may name anything, or nothing).
    // ensures:  returns the open file, or throws Error{code} naming `what` and path when it does not
    //           exist, cannot be opened, or is not a regular file (saying what it is). Never blocks:
    //           a FIFO, device or socket is refused from stat() without being opened, and again from
    //           fstat() of the descriptor should the path have changed in between.
    static InputFile open(const std::filesystem::path& path, const std::string& what,
                          ErrorCode code = ErrorCode::io_error);

    InputFile(InputFile&& other) noexcept;
    InputFile& operator=(InputFile&& other) noexcept;
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;
    ~InputFile();

    int fd() const noexcept { return fd_; }
    std::uint64_t size() const noexcept { return size_; }  // st_size when opened
    mode_t mode() const noexcept { return mode_; }         // st_mode when opened

    // Reads up to n bytes (EINTR retried); 0 at the end. throws Error{code given to open} on failure.
    std::size_t read_some(void* buffer, std::size_t n);

    // Throws Error{too_large} "WHAT 'PATH' is N bytes; the limit is M bytes" when size() > max_bytes.
    void check_size(std::size_t max_bytes, ErrorCode too_large) const;
    // The whole content. ensures: check_size(max_bytes) first (nothing read when the size says no);
    // then at most max_bytes + 1 bytes are read, and more than max_bytes is Error{too_large} too.
    std::vector<std::uint8_t> read_all(std::size_t max_bytes, ErrorCode too_large);

private:
    InputFile(int fd, std::filesystem::path path, std::string what, ErrorCode code, std::uint64_t size, mode_t mode);
    [[noreturn]] void too_large_error(const std::string& size, std::size_t max_bytes, ErrorCode too_large) const;

    int fd_ = -1;
    std::filesystem::path path_;
    std::string what_;
    ErrorCode code_ = ErrorCode::io_error;
    std::uint64_t size_ = 0;
    mode_t mode_ = 0;
};

// InputFile::open(path, what).read_all(max_bytes, too_large): the bytes of a regular file of at most
// max_bytes, or Error{io_error} (missing, unreadable, not a regular file) / Error{too_large}.
std::vector<std::uint8_t> read_input_file(const std::filesystem::path& path, std::size_t max_bytes,
                                          const std::string& what, ErrorCode too_large = ErrorCode::io_error);
// The same as text (the bytes unchanged; no encoding check).
std::string read_input_text(const std::filesystem::path& path, std::size_t max_bytes, const std::string& what,
                            ErrorCode too_large = ErrorCode::io_error);

}  // namespace faceproof
