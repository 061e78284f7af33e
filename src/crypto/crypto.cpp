// faceproof — seal/open (XChaCha20-Poly1305 with a versioned, key-identified header), SHA-256 and
// libsodium's one-time set-up.
#include "faceproof/crypto.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <sodium.h>

#include "faceproof/error.hpp"
#include "util/input_file.hpp"

namespace faceproof {

void ensure_sodium() {
    static const int rc = sodium_init();  // thread-safe once; returns 1 if already initialised
    if (rc < 0) throw Error(ErrorCode::internal, "libsodium initialisation failed");
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
    std::string s(2 * bytes.size() + 1, '\0');
    sodium_bin2hex(s.data(), s.size(), bytes.data(), bytes.size());
    s.pop_back();
    return s;
}

static_assert(std::tuple_size_v<Sha256> == crypto_hash_sha256_BYTES);

Sha256 sha256(std::span<const std::uint8_t> bytes) {
    ensure_sodium();
    Sha256 digest{};
    crypto_hash_sha256(digest.data(), bytes.data(), bytes.size());
    return digest;
}

std::string sha256_hex(std::span<const std::uint8_t> bytes) { return to_hex(sha256(bytes)); }

std::string keyed_hash_hex(const DataKey& key, std::string_view domain, std::string_view message) {
    ensure_sodium();
    crypto_generichash_state state;
    std::array<std::uint8_t, crypto_generichash_BYTES> out{};
    crypto_generichash_init(&state, key.data(), DataKey::kSize, out.size());
    static constexpr unsigned char kSeparator = 0;
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(domain.data()), domain.size());
    crypto_generichash_update(&state, &kSeparator, 1);
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(message.data()), message.size());
    crypto_generichash_final(&state, out.data(), out.size());
    return to_hex(out);
}

std::string sha256_file(const std::filesystem::path& file) {
    ensure_sodium();
    // A regular file only: a FIFO planted in the model directory must not hang `models verify`.
    InputFile in = InputFile::open(file, "file");
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    std::vector<unsigned char> buffer(1 << 20);
    while (const std::size_t n = in.read_some(buffer.data(), buffer.size()))
        crypto_hash_sha256_update(&state, buffer.data(), static_cast<unsigned long long>(n));
    Sha256 digest{};
    crypto_hash_sha256_final(&state, digest.data());
    return to_hex(digest);
}

namespace {

static_assert(kSealNonceBytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kSealTagBytes == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(DataKey::kSize == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

constexpr std::size_t kHeaderBytes = 1 + kKeyIdBytes;  // version | key id; then the nonce

std::array<std::uint8_t, kKeyIdBytes> raw_key_id(const DataKey& key) {
    const std::string hex = key.id();
    std::array<std::uint8_t, kKeyIdBytes> out{};
    std::size_t len = 0;
    if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &len, nullptr) != 0 ||
        len != out.size())
        throw Error(ErrorCode::internal, "key id is not 16 hex characters");
    return out;
}

// The AEAD associated data: the header (version | key id) then the caller's row binding. The header
// is fixed-length, so the concatenation is unambiguous.
std::vector<std::uint8_t> full_ad(std::span<const std::uint8_t> header, std::string_view associated_data) {
    std::vector<std::uint8_t> ad(header.size() + associated_data.size());
    std::memcpy(ad.data(), header.data(), header.size());
    if (!associated_data.empty())
        std::memcpy(ad.data() + header.size(), associated_data.data(), associated_data.size());
    return ad;
}

}  // namespace

std::vector<std::uint8_t> seal(const DataKey& key, std::span<const std::uint8_t> plaintext,
                               std::string_view associated_data) {
    const unsigned char* k = key.data();
    if (plaintext.size() > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX - kSealOverhead)
        throw Error(ErrorCode::invalid_argument, "plaintext too large to seal");
    std::vector<std::uint8_t> out(kSealOverhead + plaintext.size());
    out[0] = kSealVersion;
    const auto id = raw_key_id(key);
    std::copy(id.begin(), id.end(), out.begin() + 1);
    std::uint8_t* nonce = out.data() + kHeaderBytes;
    randombytes_buf(nonce, kSealNonceBytes);
    const auto ad = full_ad(std::span(out.data(), kHeaderBytes), associated_data);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kHeaderBytes + kSealNonceBytes, &clen, plaintext.data(),
                                               plaintext.size(), ad.data(), ad.size(), nullptr, nonce, k);
    if (clen != plaintext.size() + kSealTagBytes) throw Error(ErrorCode::internal, "unexpected ciphertext length");
    return out;
}

std::vector<std::uint8_t> open(const DataKey& key, std::span<const std::uint8_t> sealed,
                               std::string_view associated_data) {
    const unsigned char* k = key.data();
    if (sealed.size() < kSealOverhead)
        throw Error(ErrorCode::invalid_argument, "sealed data is " + std::to_string(sealed.size()) +
                                                     " bytes, shorter than the minimum " +
                                                     std::to_string(kSealOverhead));
    if (sealed[0] != kSealVersion)
        throw Error(ErrorCode::invalid_argument,
                    "sealed data has unknown format version " + std::to_string(sealed[0]));
    const auto id = raw_key_id(key);
    const auto stored_id = sealed.subspan(1, kKeyIdBytes);
    if (!std::equal(id.begin(), id.end(), stored_id.begin()))
        throw Error(ErrorCode::key_invalid, "sealed with another data key (key id " + to_hex(stored_id) +
                                                "; the loaded key has id " + key.id() + ")");
    const std::uint8_t* nonce = sealed.data() + kHeaderBytes;
    const auto ct = sealed.subspan(kHeaderBytes + kSealNonceBytes);
    const auto ad = full_ad(sealed.first(kHeaderBytes), associated_data);
    std::vector<std::uint8_t> out(ct.size() - kSealTagBytes);
    unsigned long long mlen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &mlen, nullptr, ct.data(), ct.size(), ad.data(),
                                                   ad.size(), nonce, k) != 0) {
        sodium_memzero(out.data(), out.size());
        throw Error(ErrorCode::key_invalid, "authentication failed: wrong key or tampered data "
                                            "(or associated data that does not match this row)");
    }
    out.resize(static_cast<std::size_t>(mlen));
    return out;
}

}  // namespace faceproof
