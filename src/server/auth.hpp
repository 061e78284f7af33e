// Authentication of `faceproof serve`: "Authorization: Bearer <key>" against the store's API keys
// (hashes only), a short cache so a busy node does not ask the store on every request, and the
// per-key rate limit.
//
// A key found valid is trusted for kKeyCacheTtl before the store is asked again, so a revocation
// takes effect within that time on every node.
// Thread safety: every member function may be called concurrently.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "faceproof/api_keys.hpp"
#include "faceproof/store.hpp"
#include "server/admission.hpp"

namespace faceproof::server {

inline constexpr auto kKeyCacheTtl = std::chrono::seconds(5);

class Authenticator {
public:
    // store: a connection of its own (keys, readiness); rate_limit_per_minute per key (0 = none).
    Authenticator(std::unique_ptr<Store> store, int rate_limit_per_minute);

    // From an "Authorization" header value. throws Error{unauthorized}, or RetryLater{rate_limited}.
    ApiPrincipal authenticate(const std::string& authorization);
    // Error{forbidden} unless the key is an admin key.
    static void require_admin(const ApiPrincipal& principal);
    // The database answers.
    bool ready();

private:
    std::mutex mutex_;
    std::unique_ptr<Store> store_;
    std::unordered_map<std::string, std::pair<ApiPrincipal, std::chrono::steady_clock::time_point>> cache_;
    RateLimiter rate_limiter_;
};

}  // namespace faceproof::server
