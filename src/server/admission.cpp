#include "server/admission.hpp"

#include <cmath>

namespace faceproof::server {
namespace {
int seconds_until(Clock::time_point t, Clock::time_point now) {
    return std::max(1, static_cast<int>(std::ceil(std::chrono::duration<double>(t - now).count())));
}
}  // namespace

int RateLimiter::admit(const std::string& key, Clock::time_point now) {
    if (per_minute_ <= 0) return 0;
    std::lock_guard lock(mutex_);
    if (windows_.size() > 100000) windows_.clear();  // bounded memory under a flood of keys
    Window& w = windows_[key];
    if (w.count == 0 || now - w.start >= std::chrono::minutes(1)) w = {now, 0};
    if (w.count >= per_minute_) return seconds_until(w.start + std::chrono::minutes(1), now);
    ++w.count;
    return 0;
}

}  // namespace faceproof::server
