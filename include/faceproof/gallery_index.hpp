// faceproof — the in-memory 1:N index over one tenant's enrolled templates.
//
// Vectors are L2-normalised templates (dimension fixed at creation, 512 for fr_feature), keyed by
// the store's template id. Similarity is the dot product (= cosine), as faceproof::similarity.
//
// Two search methods behind one interface:
//   - exact: a contiguous row-major float matrix, SIMD dot products, split across threads for
//     large galleries; returns the true top-k.
//   - approximate: an HNSW graph (hnswlib) built beside the matrix once the gallery reaches
//     `approximate_from` vectors; recall < 1 in general, measured by build/faceproof_gallery_bench.
// Adding and removing are incremental in both (no re-index); removal frees the slot for reuse.
//
// Thread safety: search(), size(), contains() and approximate() may run concurrently with each
// other; add() and remove() take an exclusive lock (readers wait). One index per tenant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace faceproof {

struct IndexHit {
    std::int64_t id = 0;      // template id
    float similarity = 0;     // dot product with the probe
};

struct GalleryIndexOptions {
    std::size_t dimension = 512;
    // Galleries with at least this many vectors are searched with HNSW; below, exactly.
    // 0 = never approximate. Searching exactly costs ~dimension*size multiply-adds per probe.
    std::size_t approximate_from = 50000;
    int hnsw_m = 16;                 // graph degree
    int hnsw_ef_construction = 200;  // build-time beam width
    int hnsw_ef_search = 128;        // query-time beam width (raised to k when smaller)
    int threads = 0;                 // exact search threads; 0 = all cores
};

class GalleryIndex {
public:
    virtual ~GalleryIndex() = default;

    // requires: vector.size() == dimension, finite, L2 norm within 1e-3 of 1; id not present.
    // throws:   Error{invalid_argument} on a bad vector, Error{conflict} on a duplicate id.
    // ensures:  contains(id); a following search can return it.
    virtual void add(std::int64_t id, std::span<const float> vector) = 0;

    // ensures: !contains(id); returns false when id was not present.
    virtual bool remove(std::int64_t id) = 0;

    virtual bool contains(std::int64_t id) const = 0;
    virtual std::size_t size() const = 0;
    // true when searches currently use the HNSW graph.
    virtual bool approximate() const = 0;

    // The best min(k, size()) hits with similarity >= min_similarity, best first (ties: lower id
    // first). requires: probe.size() == dimension (else Error{invalid_argument}); k >= 0.
    virtual std::vector<IndexHit> search(std::span<const float> probe, std::size_t k,
                                         float min_similarity = -1.0f) const = 0;

    // Throws Error{invalid_argument} for dimension 0 or negative HNSW parameters.
    static std::unique_ptr<GalleryIndex> create(const GalleryIndexOptions& options = {});
};

}  // namespace faceproof
