#include "server/auth.hpp"

#include <optional>

#include "faceproof/error.hpp"
#include "server/retry_later.hpp"

namespace faceproof::server {

Authenticator::Authenticator(std::unique_ptr<Store> store, int rate_limit_per_minute)
    : store_(std::move(store)), rate_limiter_(rate_limit_per_minute) {}

ApiPrincipal Authenticator::authenticate(const std::string& authorization) {
    static const std::string kBearer = "Bearer ";
    if (authorization.rfind(kBearer, 0) != 0)
        throw Error(ErrorCode::unauthorized, "send the API key as \"Authorization: Bearer <key>\"");
    const std::string key = authorization.substr(kBearer.size());
    std::optional<ApiPrincipal> principal;
    {
        std::lock_guard lock(mutex_);
        const auto now = std::chrono::steady_clock::now();
        const auto it = cache_.find(key);
        if (it != cache_.end() && now - it->second.second < kKeyCacheTtl) {
            principal = it->second.first;
        } else {
            principal = authenticate_api_key(*store_, key);
            if (cache_.size() > 10000) cache_.clear();  // bounded under a flood of made-up keys
            if (principal) cache_[key] = {*principal, now};
            else cache_.erase(key);
        }
    }
    if (!principal) throw Error(ErrorCode::unauthorized, "unknown or revoked API key");
    if (const int wait = rate_limiter_.admit(principal->key_id))
        throw RetryLater(ErrorCode::rate_limited, "too many requests for this API key", wait);
    return *principal;
}

void Authenticator::require_admin(const ApiPrincipal& p) {
    if (p.role != ApiRole::admin) throw Error(ErrorCode::forbidden, "this needs an admin API key");
}

bool Authenticator::ready() {
    try {
        std::lock_guard lock(mutex_);
        store_->last_change();  // the database answers
        return true;
    } catch (const Error&) {
        return false;
    }
}

}  // namespace faceproof::server
