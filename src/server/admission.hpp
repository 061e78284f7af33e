// Admission control of the service: a pool of pipelines with a bounded wait queue and a per-key
// rate limit (the liveness lockout lives in the store: lockout.hpp).
// Thread safety: every member function may be called concurrently.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace faceproof::server {

using Clock = std::chrono::steady_clock;

// Items (per-worker pipelines) lent to one request at a time.
template <class Item>
class Pool {
public:
    // queue: how many requests may wait when every item is out.
    Pool(std::vector<std::unique_ptr<Item>> items, int queue) : free_(std::move(items)), queue_(queue) {
        size_ = static_cast<int>(free_.size());
    }

    class Lease {
    public:
        Lease(Pool& pool, std::unique_ptr<Item> item) : pool_(&pool), item_(std::move(item)) {}
        Lease(Lease&& o) noexcept : pool_(o.pool_), item_(std::move(o.item_)) { o.pool_ = nullptr; }
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        Lease& operator=(Lease&&) = delete;
        ~Lease() {
            if (pool_ && item_) pool_->give_back(std::move(item_));
        }
        Item& operator*() const { return *item_; }
        Item* operator->() const { return item_.get(); }

    private:
        Pool* pool_;
        std::unique_ptr<Item> item_;
    };

    // An item, waiting while all are lent; nullopt-like empty pointer when the queue is full.
    std::unique_ptr<Lease> acquire() {
        std::unique_lock lock(mutex_);
        if (free_.empty() && waiting_ >= queue_) return nullptr;
        ++waiting_;
        available_.wait(lock, [&] { return !free_.empty(); });
        --waiting_;
        auto item = std::move(free_.back());
        free_.pop_back();
        return std::make_unique<Lease>(*this, std::move(item));
    }
    int waiting() const {
        std::lock_guard lock(mutex_);
        return waiting_;
    }
    int busy() const {
        std::lock_guard lock(mutex_);
        return size_ - static_cast<int>(free_.size());
    }
    int size() const { return size_; }

private:
    void give_back(std::unique_ptr<Item> item) {
        {
            std::lock_guard lock(mutex_);
            free_.push_back(std::move(item));
        }
        available_.notify_one();
    }
    mutable std::mutex mutex_;
    std::condition_variable available_;
    std::vector<std::unique_ptr<Item>> free_;
    int size_ = 0, waiting_ = 0;
    const int queue_;
};

// Fixed one-minute windows per key: simple, and enough to stop a runaway client.
class RateLimiter {
public:
    explicit RateLimiter(int per_minute) : per_minute_(per_minute) {}
    // 0 when allowed; otherwise the seconds until the window resets (for Retry-After).
    int admit(const std::string& key, Clock::time_point now = Clock::now());

private:
    struct Window {
        Clock::time_point start;
        int count = 0;
    };
    const int per_minute_;
    std::mutex mutex_;
    std::map<std::string, Window> windows_;
};

}  // namespace faceproof::server
