// faceproof — the data key that seals biometric data at rest (seal/open are in crypto.hpp).
//
// Key file: exactly 32 raw bytes, or 64 hex characters optionally followed by one '\n'. It must be
// a regular file with no group or other permission bits ((st_mode & 077) == 0, i.e. `chmod 600`);
// anything else is refused with Error{key_invalid} naming the file. `faceproof keys generate FILE`
// (DataKey::generate_file) makes one.
//
// Key id: the first 8 bytes (16 hex chars) of keyed BLAKE2b-256 with the key as BLAKE2b key and
// the message "faceproof-key-id". It identifies the key that sealed a ciphertext without revealing
// anything usable about the key.
//
// Thread safety: a DataKey is immutable after construction and may be shared by any number of
// threads (const access only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace faceproof {

class DataKey;
std::vector<std::uint8_t> seal(const DataKey& key, std::span<const std::uint8_t> plaintext,
                               std::string_view associated_data);
std::vector<std::uint8_t> open(const DataKey& key, std::span<const std::uint8_t> sealed,
                               std::string_view associated_data);
std::string keyed_hash_hex(const DataKey& key, std::string_view domain, std::string_view message);

class DataKey {
public:
    static constexpr std::size_t kSize = 32;

    // Throws Error{key_invalid} naming the file when it is missing, not a regular file (a FIFO or
    // device is refused without blocking or reading), group- or world-accessible (says `chmod 600`),
    // larger than 4 KiB (refused from its size, input_limit::key_file), malformed, or all zero bytes.
    // Reads at most 66 bytes.
    static DataKey from_file(const std::filesystem::path& file);
    // flag, else $FACEPROOF_KEY_FILE (when non-empty), else default_file() when it exists, else
    // Error{key_invalid} saying how to get one.
    static DataKey from_environment_or_file(const std::optional<std::filesystem::path>& flag);
    // $XDG_DATA_HOME/faceproof/data.key, else ~/.local/share/faceproof/data.key: the key of the
    // embedded default store, which `faceproof serve` creates when started without a key. Operators
    // who can should keep the key elsewhere (another disk, a secrets manager mount) and pass it.
    static std::filesystem::path default_file();
    // True when a key is configured: flag, $FACEPROOF_KEY_FILE, or an existing default_file().
    static bool configured(const std::optional<std::filesystem::path>& flag);
    // Writes 64 random hex chars + '\n' to a new file created O_CREAT|O_EXCL with mode 0600.
    // Throws Error{io_error} when file exists (never overwrites) or cannot be written.
    static void generate_file(const std::filesystem::path& file);
    // A key from 32 bytes in memory (tests, key derivation). invalid_argument unless size is 32.
    static DataKey from_bytes(std::span<const std::uint8_t> bytes);

    DataKey(DataKey&& other) noexcept;
    DataKey& operator=(DataKey&& other) noexcept;
    DataKey(const DataKey&) = delete;
    DataKey& operator=(const DataKey&) = delete;
    ~DataKey();  // wipes and unlocks the key memory

    // 16 lower-case hex chars; stable for a key, different for different keys.
    std::string id() const;

private:
    DataKey();  // allocates the guarded, locked buffer
    const unsigned char* data() const;  // throws Error{internal} on a moved-from key
    void seal_readonly();

    unsigned char* key_ = nullptr;  // sodium_malloc'd, sodium_mlock'd, read-only once filled

    friend std::vector<std::uint8_t> seal(const DataKey&, std::span<const std::uint8_t>, std::string_view);
    friend std::vector<std::uint8_t> open(const DataKey&, std::span<const std::uint8_t>, std::string_view);
    friend std::string keyed_hash_hex(const DataKey&, std::string_view, std::string_view);
};

}  // namespace faceproof
