// The pooled transient buffers of a plan (see buffer_pool.hpp).
#include "inference/buffer_pool.hpp"

#include <new>

namespace faceproof::executor {

void* BufferPool::acquire(size_t size, int now, int busy_until) {
    // The smallest free slot that is large enough, else the largest free one (to grow).
    const auto better = [size](const Slot& a, const Slot& b) {
        const bool a_fits = a.size >= size, b_fits = b.size >= size;
        if (a_fits != b_fits) return a_fits;
        return a_fits ? a.size < b.size : a.size > b.size;
    };
    Slot* chosen = nullptr;
    for (Slot& slot : slots_) {
        if (slot.busy_until >= now) continue;  // its value is read by this node or later
        if (chosen == nullptr || better(slot, *chosen)) chosen = &slot;
    }
    if (chosen == nullptr) chosen = &slots_.emplace_back();
    if (chosen->size < size) {  // a larger buffer; the old one stays with the steps that use it
        const size_t rounded = (size + 63) / 64 * 64;
        void* data = std::aligned_alloc(64, rounded);
        if (data == nullptr) throw std::bad_alloc();
        buffers_.emplace_back(data, &std::free);
        chosen->data = data;
        chosen->size = rounded;
    }
    chosen->busy_until = busy_until;
    return chosen->data;
}

}  // namespace faceproof::executor
