#include "server/lockout.hpp"

#include <algorithm>
#include <chrono>

namespace faceproof::server {
namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}
std::string key_key(const std::string& key_id) { return "api-key:" + key_id; }
std::string subject_key(const std::string& tenant, const std::string& subject) {
    return "subject:" + tenant + "/" + subject;
}

}  // namespace

LivenessLockout::LivenessLockout(std::unique_ptr<Store> store, LockoutRule subject_rule, LockoutRule key_rule)
    : store_(std::move(store)), subject_rule_(subject_rule), key_rule_(key_rule) {}

int LivenessLockout::locked_for(const std::string& key_id, const std::string& tenant, const std::string& subject) {
    const std::int64_t now = now_ms();
    std::int64_t until = 0;
    std::lock_guard lock(mutex_);
    if (key_rule_.failures > 0) until = std::max(until, store_->locked_until(key_key(key_id), now));
    if (subject_rule_.failures > 0 && !subject.empty())
        until = std::max(until, store_->locked_until(subject_key(tenant, subject), now));
    return until > now ? static_cast<int>((until - now + 999) / 1000) : 0;
}

void LivenessLockout::record(const std::string& key_id, const std::string& tenant, const std::string& subject,
                             bool live) {
    const std::int64_t now = now_ms();
    std::lock_guard lock(mutex_);
    if (live) {
        if (subject_rule_.failures > 0 && !subject.empty()) store_->clear_failures(subject_key(tenant, subject));
        return;
    }
    if (key_rule_.failures > 0) store_->record_failure(key_key(key_id), now, key_rule_);
    if (subject_rule_.failures > 0 && !subject.empty())
        store_->record_failure(subject_key(tenant, subject), now, subject_rule_);
}

}  // namespace faceproof::server
