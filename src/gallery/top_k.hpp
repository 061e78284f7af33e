// The best k hits of a stream of (id, similarity), in the gallery index's order: similarity
// descending, then id ascending, so equal similarities give the same answer whatever the order the
// rows were visited in (slot order changes with removals, threads split the rows).
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

#include "faceproof/gallery_index.hpp"

namespace faceproof::gallery {

// true when a ranks before b.
inline bool ranks_before(const IndexHit& a, const IndexHit& b) noexcept {
    return a.similarity > b.similarity || (a.similarity == b.similarity && a.id < b.id);
}

class TopK {
public:
    // ensures: keeps at most k hits, only those with similarity >= min_similarity.
    TopK(std::size_t k, float min_similarity) : k_(k), min_similarity_(min_similarity) {
        heap_.reserve(std::min<std::size_t>(k, 4096));
    }

    void offer(std::int64_t id, float similarity) {
        if (!(similarity >= min_similarity_) || k_ == 0) return;  // also drops NaN
        const IndexHit hit{id, similarity};
        if (heap_.size() < k_) {
            heap_.push_back(hit);
            std::push_heap(heap_.begin(), heap_.end(), ranks_before);  // worst hit on top
        } else if (ranks_before(hit, heap_.front())) {
            std::pop_heap(heap_.begin(), heap_.end(), ranks_before);
            heap_.back() = hit;
            std::push_heap(heap_.begin(), heap_.end(), ranks_before);
        }
    }

    // The similarity a new hit must beat once the heap is full; lets scans skip most offers.
    bool full() const noexcept { return heap_.size() == k_; }
    float worst_similarity() const noexcept { return heap_.front().similarity; }

    void merge(const TopK& other) {
        for (const IndexHit& hit : other.heap_) offer(hit.id, hit.similarity);
    }

    // ensures: best first; the TopK is left empty.
    std::vector<IndexHit> take_sorted() {
        std::sort_heap(heap_.begin(), heap_.end(), ranks_before);
        return std::move(heap_);
    }

private:
    std::size_t k_;
    float min_similarity_;
    std::vector<IndexHit> heap_;
};

}  // namespace faceproof::gallery
