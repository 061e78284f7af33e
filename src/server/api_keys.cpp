#include "faceproof/api_keys.hpp"

#include <sodium.h>

#include <algorithm>

#include "faceproof/crypto.hpp"
#include "faceproof/error.hpp"
#include "faceproof/registry.hpp"

namespace faceproof {
namespace {

constexpr std::size_t kIdBytes = 8, kSecretBytes = 32;
constexpr const char* kPrefix = "fpk_";

bool is_hex(const std::string& s, std::size_t length) {
    return s.size() == length && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

// Keyed with a fixed domain string: the hash identifies a secret, it does not need to be slow
// (256 random bits cannot be guessed).
std::string secret_hash(const std::string& secret) {
    static constexpr unsigned char kDomain[] = "faceproof-api-key-v1";
    unsigned char out[32];
    crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), kDomain,
                       sizeof kDomain - 1);
    return to_hex(std::span<const std::uint8_t>(out, sizeof out));
}

}  // namespace

std::string_view to_string(ApiRole role) noexcept { return role == ApiRole::admin ? "admin" : "operator"; }

ApiRole api_role_from_string(std::string_view name) {
    if (name == "operator") return ApiRole::operator_role;
    if (name == "admin") return ApiRole::admin;
    throw Error(ErrorCode::invalid_argument, "role must be operator or admin");
}

NewApiKey create_api_key(Store& store, const std::string& tenant, ApiRole role) {
    check_tenant(tenant);
    ensure_sodium();
    unsigned char id[kIdBytes], secret[kSecretBytes];
    randombytes_buf(id, sizeof id);
    randombytes_buf(secret, sizeof secret);
    NewApiKey k;
    const std::string secret_hex = to_hex(std::span<const std::uint8_t>(secret, sizeof secret));
    sodium_memzero(secret, sizeof secret);
    k.record.id = to_hex(std::span<const std::uint8_t>(id, sizeof id));
    k.record.tenant = tenant;
    k.record.role = std::string(to_string(role));
    k.record.secret_hash = secret_hash(secret_hex);
    k.key = kPrefix + k.record.id + "_" + secret_hex;
    store.add_api_key(k.record);
    return k;
}

std::optional<ApiPrincipal> authenticate_api_key(Store& store, const std::string& presented) {
    // fpk_ + 16 hex + _ + 64 hex
    if (presented.size() != 4 + 2 * kIdBytes + 1 + 2 * kSecretBytes || presented.rfind(kPrefix, 0) != 0 ||
        presented[4 + 2 * kIdBytes] != '_')
        return std::nullopt;
    const std::string id = presented.substr(4, 2 * kIdBytes);
    const std::string secret = presented.substr(5 + 2 * kIdBytes);
    if (!is_hex(id, 2 * kIdBytes) || !is_hex(secret, 2 * kSecretBytes)) return std::nullopt;
    const std::optional<ApiKeyRecord> record = store.find_api_key(id);
    if (!record || !record->revoked_at.empty()) return std::nullopt;
    const std::string hash = secret_hash(secret);
    if (hash.size() != record->secret_hash.size() ||
        sodium_memcmp(hash.data(), record->secret_hash.data(), hash.size()) != 0)
        return std::nullopt;
    return ApiPrincipal{record->id, record->tenant, api_role_from_string(record->role)};
}

}  // namespace faceproof
