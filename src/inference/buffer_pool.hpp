// The pooled buffers of a plan's transient activations (onednn_plan.hpp): a value read only once
// (by a step that copies what it reads) needs its buffer only until that reader has run, so later
// values reuse it. Activations otherwise each get a buffer of their own, and a network streams its
// whole set of activations (fr_detect: several MB) through the caches on every run; reused
// buffers are still in cache when written.
// Time is counted in graph nodes, in the order the plan runs them.
// Thread safety: none (one per plan, filled while the plan is built).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <vector>

namespace faceproof::executor {

class BufferPool {
public:
    // requires: now is the node being planned; busy_until > now, the node reading the value last.
    // ensures:  a 64-byte aligned buffer of at least `size` bytes, handed out again only to values
    //           of nodes after busy_until; it lives as long as the pool (also once a larger
    //           buffer replaced it in the pool: steps planned earlier still use it).
    void* acquire(size_t size, int now, int busy_until);

private:
    struct Slot {
        void* data = nullptr;
        size_t size = 0;
        int busy_until = -1;  // the node reading the value it holds
    };
    std::vector<Slot> slots_;
    std::vector<std::unique_ptr<void, decltype(&std::free)>> buffers_;  // every buffer allocated
};

}  // namespace faceproof::executor
