// faceproof — the in-memory 1:N index over one tenant's enrolled templates.
//
// Vectors are L2-normalised templates (dimension fixed at creation, 512 for fr_feature), keyed by
// the store's template id. Similarity is the dot product (= cosine), as faceproof::similarity.
//
// Two search methods behind one interface:
//   - exact: a full scan, split across threads for large galleries; returns the true top-k.
//     With `compact` (the default) the scan reads int8 codes (dimension + 16 bytes per vector)
//     instead of floats, bounds each code similarity's error, and re-scores in full precision
//     every candidate whose upper bound can reach the k-th best lower bound: hits and similarities
//     are then exactly the float scan's (see gallery/int8_codes.hpp for the bound).
//   - approximate: an HNSW graph (hnswlib; over the codes when compact) built once the gallery
//     reaches `approximate_from` vectors and an exact scan is estimated to take longer than
//     `exact_budget_ms`; its candidates are re-scored in full precision like the exact scan's, so
//     every similarity reported is exact, but a true neighbour the graph missed is missed (recall
//     < 1 in general, measured by build/faceproof_gallery_bench).
// Full precision: kept in memory (keep_full_precision, the default), or fetched per search for the
// few candidates from a FullPrecisionSource (the store's sealed templates in the registry), which
// is what brings memory to ~0.6-0.9 KB per template.
// Adding and removing are incremental in both (no re-index); removal frees the slot for reuse.
//
// Thread safety: search(), size(), contains() and approximate() may run concurrently with each
// other; add() and remove() take an exclusive lock (readers wait). One index per tenant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
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
    // Scan int8 codes and re-rank exactly (results identical to the float scan), and build the
    // graph over the codes. false = today's float-only index.
    bool compact = true;
    // Keep the float vectors in memory. false requires compact, and every search then needs a
    // FullPrecisionSource (Error{invalid_argument} without one).
    bool keep_full_precision = true;
    // HNSW only once an exact scan is estimated (from the scans measured so far, or a calibration
    // scan) to take longer than this; 0 = from approximate_from on, whatever the scan time.
    double exact_budget_ms = 0;
};

// Fills `vectors` (ids.size() x dimension, row-major) with the full-precision vectors of `ids`, in
// order, exactly as they were added. Called during a search, under the index's shared lock: it
// must not call back into the index. Throwing aborts the search (the exception propagates).
using FullPrecisionSource = std::function<void(std::span<const std::int64_t> ids, std::span<float> vectors)>;

// The serialised index (codes, ids, graph; floats when kept): biometric data, to be sealed before
// it is stored anywhere (see gallery/index_snapshot.hpp).
struct IndexImage {
    std::vector<std::uint8_t> bytes;
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
    // source: the full-precision vectors when the index does not keep them (ignored when it does).
    // throws: Error{invalid_argument} when needed and absent; whatever the source throws.
    virtual std::vector<IndexHit> search(std::span<const float> probe, std::size_t k, float min_similarity = -1.0f,
                                         const FullPrecisionSource* source = nullptr) const = 0;

    // "exact", "exact_compact" or "hnsw": what the next search of more than ef_search vectors uses.
    virtual const char* method() const = 0;
    // Approximate resident bytes held (codes, floats, graph, id maps), for the figures.
    virtual std::size_t memory_bytes() const = 0;
    // The ids present (any order).
    virtual std::vector<std::int64_t> ids() const = 0;

    // The whole index as bytes (a consistent copy under the shared lock), and back.
    // restore: Error{invalid_argument} when the bytes are not an index image of these options'
    // dimension, compactness and graph parameters (a corrupt or foreign image): rebuild instead.
    virtual IndexImage save() const = 0;
    static std::unique_ptr<GalleryIndex> restore(const GalleryIndexOptions& options, std::span<const std::uint8_t> image);

    // Throws Error{invalid_argument} for dimension 0, negative HNSW parameters, or
    // !keep_full_precision without compact, or a negative exact_budget_ms.
    static std::unique_ptr<GalleryIndex> create(const GalleryIndexOptions& options = {});
};

}  // namespace faceproof
