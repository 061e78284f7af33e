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

int Lockout::locked_for(const std::string& subject, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    const auto it = locked_until_.find(subject);
    if (it == locked_until_.end()) return 0;
    if (it->second <= now) {
        locked_until_.erase(it);
        return 0;
    }
    return seconds_until(it->second, now);
}

void Lockout::record_failure(const std::string& subject, Clock::time_point now) {
    if (failures_ <= 0) return;
    std::lock_guard lock(mutex_);
    auto& times = recent_[subject];
    times.push_back(now);
    while (!times.empty() && now - times.front() > window_) times.pop_front();
    if (static_cast<int>(times.size()) >= failures_) {
        locked_until_[subject] = now + duration_;
        recent_.erase(subject);
    }
}

void Lockout::record_success(const std::string& subject) {
    std::lock_guard lock(mutex_);
    recent_.erase(subject);
}

}  // namespace faceproof::server
