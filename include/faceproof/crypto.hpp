// faceproof — the project's cryptography in one place: authenticated encryption of biometric data
// at rest (seal/open with a DataKey), SHA-256, and libsodium's one-time set-up.
//
// Templates are biometric data: they are stored only as seal() output, never in the clear.
//
// Sealed format (version 1):
//   u8 version=1 | 8-byte key id (raw) | 24-byte random nonce | XChaCha20-Poly1305 ciphertext+tag
// The AEAD's associated data is version | key id | associated_data, so the header is authenticated
// too. associated_data binds a ciphertext to its row (e.g. "tenant/subject/template id"): opening
// it with other associated data fails, so ciphertexts cannot be swapped between rows.
//
// Thread safety: every function is reentrant.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "faceproof/data_key.hpp"

namespace faceproof {

// Initialises libsodium once per process (thread-safe); every user of libsodium calls it first.
// throws Error{internal} when libsodium cannot initialise (no entropy source).
void ensure_sodium();

// requires: key holds a key (not moved-from).
// ensures:  result is kSealOverhead + plaintext.size() bytes; a fresh random nonce every call, so
//           sealing the same plaintext twice gives different bytes.
std::vector<std::uint8_t> seal(const DataKey& key, std::span<const std::uint8_t> plaintext,
                               std::string_view associated_data);

// requires: sealed came from seal() with the same key and associated_data.
// ensures:  returns the plaintext. Throws Error{invalid_argument} when sealed is too short or has
//           an unknown version, Error{key_invalid} "sealed with another data key (key id …)" when
//           the key id differs, Error{key_invalid} "authentication failed: wrong key or tampered
//           data" when the ciphertext, tag, nonce or associated data do not verify.
std::vector<std::uint8_t> open(const DataKey& key, std::span<const std::uint8_t> sealed,
                               std::string_view associated_data);

// A pseudonym of message under key: keyed BLAKE2b-256 of domain | 0x00 | message, as 64 hex chars.
// Without the key it cannot be recomputed, so a low-entropy value (a document number) in an audit
// log cannot be found by trying every value; the domain keeps pseudonyms of different uses apart.
// requires: key holds a key (not moved-from).
std::string keyed_hash_hex(const DataKey& key, std::string_view domain, std::string_view message);

using Sha256 = std::array<std::uint8_t, 32>;
// SHA-256 of bytes.
Sha256 sha256(std::span<const std::uint8_t> bytes);
// SHA-256 of bytes as 64 lower-case hex characters.
std::string sha256_hex(std::span<const std::uint8_t> bytes);
// SHA-256 of a file's bytes as hex, streamed (a model file is never held in memory for it).
// throws Error{io_error} when file is missing, unreadable or not a regular file (a FIFO is refused
// without blocking).
std::string sha256_file(const std::filesystem::path& file);
// Lower-case hex of bytes.
std::string to_hex(std::span<const std::uint8_t> bytes);

constexpr std::uint8_t kSealVersion = 1;
constexpr std::size_t kKeyIdBytes = 8;
constexpr std::size_t kSealNonceBytes = 24;
constexpr std::size_t kSealTagBytes = 16;
constexpr std::size_t kSealOverhead = 1 + kKeyIdBytes + kSealNonceBytes + kSealTagBytes;

}  // namespace faceproof
