// faceproof — API keys of the HTTP service.
//
// A key reads "fpk_<id>_<secret>": id = 16 hex characters (public, names the key in logs and the
// audit trail), secret = 64 hex characters (256 random bits). The store keeps only id, tenant, role
// and the keyed BLAKE2b-256 hash of the secret, so a database leak does not leak usable keys.
// The key is shown once, when created.
//
// Thread safety: functions are reentrant; the Store passed in is used from the calling thread only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "faceproof/store.hpp"

namespace faceproof {

enum class ApiRole { operator_role, admin };
std::string_view to_string(ApiRole role) noexcept;       // "operator" | "admin"
ApiRole api_role_from_string(std::string_view name);     // Error{invalid_argument} otherwise

struct ApiPrincipal {  // who is calling, once the key checked out
    std::string key_id, tenant;
    ApiRole role = ApiRole::operator_role;
    std::string actor() const { return "api-key:" + key_id; }
};

struct NewApiKey {
    std::string key;  // the full key: show it once, never store it
    ApiKeyRecord record;
};

// requires: tenant valid (letters, digits, '-', '_', '.'; 1-64 chars), else Error{invalid_argument}.
NewApiKey create_api_key(Store& store, const std::string& tenant, ApiRole role);

// The principal of a presented key; nullopt when malformed, unknown, revoked or the secret differs
// (compared in constant time).
std::optional<ApiPrincipal> authenticate_api_key(Store& store, const std::string& presented);

}  // namespace faceproof
