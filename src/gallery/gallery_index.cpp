// The gallery index: one row-major matrix of the vectors (the truth, always kept), searched by a
// full scan, plus an hnswlib graph over the same vectors once the gallery is large enough.
//
// Slots and nodes:
//   - slot: the row of a vector in the matrix. Rows stay packed (0..size-1): removing moves the last
//     row into the freed one, so a slot changes when another id is removed.
//   - node: the label of a vector in the HNSW graph (hnswlib's labeltype). Nodes never move. A removed
//     id's node is marked deleted and put on a free list; the next add takes it back (hnswlib 0.6.2's
//     addPoint on an existing label clears the mark and re-links the node with the new vector: its
//     way of replacing a deleted element). The graph only grows when no freed node is waiting.
//
// hnswlib/hnswlib.h defines non-inline functions (cpuid, AVXCapable, ...): include it in this one
// file of the library only, or the link sees them twice.
#include "faceproof/gallery_index.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wtype-limits"
#include <hnswlib/hnswlib.h>
#pragma GCC diagnostic pop

#include "faceproof/error.hpp"
#include "gallery/dot_product.hpp"
#include "gallery/top_k.hpp"

namespace faceproof {
namespace {

using gallery::TopK;
using Node = hnswlib::labeltype;

constexpr double kNormTolerance = 1e-3;
// Below this many rows one thread scans faster than several: starting a thread costs ~80 us on the
// development machine (idle 2-core VM), a 512-D row ~0.05 us; the measured crossover was ~5,000
// rows. Beyond the last-level cache the scan is memory-bound and a second thread gained only ~10%
// there; on a busy machine it lost (the thread waits for a core): where searches already run
// concurrently, GalleryIndexOptions::threads = 1 is the better setting.
constexpr std::size_t kParallelScanFromRows = 8192;
// Rows scored per dot_rows call: small enough for the scores to stay in L1.
constexpr std::size_t kScanBlockRows = 256;
// Freed nodes are normally reused by the next adds; when more than this share of the graph is freed
// (removals outpacing adds), searches walk too many dead nodes: the graph is rebuilt from the matrix.
constexpr double kRebuildWhenFreedShare = 0.25;
constexpr std::size_t kMinGraphCapacity = 1024;
constexpr std::size_t kNoSlot = std::numeric_limits<std::size_t>::max();

std::string dimension_message(const char* what, std::size_t got, std::size_t expected) {
    return std::string("gallery index: ") + what + " has dimension " + std::to_string(got) + ", expected " +
           std::to_string(expected);
}

// requires: probe.size() == dimension, all finite (NaN would break the ordering of hits).
void check_probe(std::span<const float> probe, std::size_t dimension) {
    if (probe.size() != dimension) throw Error(ErrorCode::invalid_argument, dimension_message("probe", probe.size(), dimension));
    for (std::size_t i = 0; i < probe.size(); ++i)
        if (!std::isfinite(probe[i]))
            throw Error(ErrorCode::invalid_argument, "gallery index: probe value " + std::to_string(i) + " is not finite");
}

// requires: as check_probe, and L2 norm within kNormTolerance of 1 (templates are L2-normalised;
// the similarity of anything else would not be a cosine).
void check_template_vector(std::span<const float> vector, std::size_t dimension) {
    if (vector.size() != dimension)
        throw Error(ErrorCode::invalid_argument, dimension_message("vector", vector.size(), dimension));
    double squared_norm = 0;
    for (std::size_t i = 0; i < vector.size(); ++i) {
        if (!std::isfinite(vector[i]))
            throw Error(ErrorCode::invalid_argument, "gallery index: vector value " + std::to_string(i) + " is not finite");
        squared_norm += static_cast<double>(vector[i]) * vector[i];
    }
    const double norm = std::sqrt(squared_norm);
    if (!(std::abs(norm - 1.0) <= kNormTolerance))
        throw Error(ErrorCode::invalid_argument, "gallery index: vector L2 norm " + std::to_string(norm) +
                                                     " is not within 1e-3 of 1 (templates are L2-normalised)");
}

// Inner-product distance (1 - dot) for hnswlib with our run-time dispatched kernel: hnswlib 0.6.2
// picks its SIMD at compile time (__AVX__), which a plain x86-64 build never defines.
class DotProductSpace final : public hnswlib::SpaceInterface<float> {
public:
    explicit DotProductSpace(std::size_t dimension) : dimension_(dimension) {}
    std::size_t get_data_size() override { return dimension_ * sizeof(float); }
    hnswlib::DISTFUNC<float> get_dist_func() override { return &distance; }
    void* get_dist_func_param() override { return &dimension_; }

private:
    static float distance(const void* a, const void* b, const void* dimension) {
        return 1.0f - gallery::dot(static_cast<const float*>(a), static_cast<const float*>(b),
                                   *static_cast<const std::size_t*>(dimension));
    }
    std::size_t dimension_;
};

using Graph = hnswlib::HierarchicalNSW<float>;

// A first-come, first-served turnstile (ticket lock) in front of the index's shared_mutex. glibc's
// rwlock under std::shared_mutex prefers readers: under a steady stream of searches a writer waited
// indefinitely (measured: 6 adds in 1.5 s against 3 searching threads); a plain mutex as a writer
// gate starved searches instead while one thread added back to back (the writer re-takes the mutex
// before woken readers run). Taking turns in arrival order bounds both waits.
// Readers pass the turnstile and take their shared lock before letting the next one in (so
// consecutive readers still overlap); a writer keeps its turn until its write is done.
class Turnstile {
public:
    void enter() const noexcept {
        const std::uint32_t ticket = next_.fetch_add(1);  // wraps harmlessly: only compared for equality
        for (std::uint32_t serving = serving_.load(); serving != ticket; serving = serving_.load()) serving_.wait(serving);
    }
    void leave() const noexcept {
        serving_.fetch_add(1);
        serving_.notify_all();
    }

private:
    mutable std::atomic<std::uint32_t> next_{0}, serving_{0};
};

// Runs job(worker) on `workers` threads (the caller's thread is worker 0) and rethrows the first
// exception once all have finished.
template <class Job>
void run_on_threads(unsigned workers, Job job) {
    std::exception_ptr failure;
    std::mutex failure_mutex;
    auto guarded = [&](unsigned worker) {
        try {
            job(worker);
        } catch (...) {
            std::lock_guard lock(failure_mutex);
            if (!failure) failure = std::current_exception();
        }
    };
    std::vector<std::jthread> pool;
    pool.reserve(workers > 0 ? workers - 1 : 0);
    for (unsigned w = 1; w < workers; ++w) pool.emplace_back(guarded, w);
    guarded(0);
    pool.clear();  // joins
    if (failure) std::rethrow_exception(failure);
}

class GalleryIndexImpl final : public GalleryIndex {
public:
    explicit GalleryIndexImpl(const GalleryIndexOptions& options)
        : options_(options),
          threads_(options.threads > 0 ? static_cast<unsigned>(options.threads)
                                       : std::max(1u, std::thread::hardware_concurrency())) {}

    void add(std::int64_t id, std::span<const float> vector) override {
        check_template_vector(vector, dimension());
        const WriteLock lock(*this);
        const std::size_t slot = slot_ids_.size();
        const auto [entry, inserted] = slot_of_id_.try_emplace(id, slot);
        if (!inserted)
            throw Error(ErrorCode::conflict, "gallery index: template id " + std::to_string(id) + " is already present");
        // Allocate first, so that the appends below cannot fail halfway.
        try {
            reserve_one_more(matrix_, dimension());
            reserve_one_more(slot_ids_, 1);
            reserve_one_more(slot_nodes_, 1);
        } catch (...) {
            slot_of_id_.erase(entry);
            throw;
        }
        matrix_.insert(matrix_.end(), vector.begin(), vector.end());
        slot_ids_.push_back(id);
        slot_nodes_.push_back(kNoNode);
        try {
            if (graph_)
                insert_into_graph(slot);
            else if (options_.approximate_from > 0 && size_locked() >= options_.approximate_from)
                build_graph();
        } catch (...) {
            // The matrix is the truth: undo the row and drop a graph that may be half-updated; the
            // next add that finds the gallery large enough rebuilds it.
            discard_graph();
            slot_of_id_.erase(id);
            slot_nodes_.pop_back();
            slot_ids_.pop_back();
            matrix_.resize(matrix_.size() - dimension());
            rethrow_as_error("add");
        }
    }

    bool remove(std::int64_t id) override {
        const WriteLock lock(*this);
        const auto found = slot_of_id_.find(id);
        if (found == slot_of_id_.end()) return false;
        const std::size_t slot = found->second;
        if (graph_) free_node(slot_nodes_[slot]);
        slot_of_id_.erase(found);

        // Keep the rows packed: the last row moves into the freed slot (O(dimension)).
        const std::size_t last = slot_ids_.size() - 1;
        if (slot != last) {
            std::copy_n(row(last), dimension(), matrix_.begin() + static_cast<std::ptrdiff_t>(slot * dimension()));
            slot_ids_[slot] = slot_ids_[last];
            slot_nodes_[slot] = slot_nodes_[last];
            slot_of_id_.at(slot_ids_[slot]) = slot;
            if (graph_) slot_of_node_[slot_nodes_[slot]] = slot;
        }
        slot_ids_.pop_back();
        slot_nodes_.pop_back();
        matrix_.resize(matrix_.size() - dimension());
        // Give memory back after large removals (amortised: only when 3/4 of the capacity is unused).
        if (matrix_.capacity() > 4 * matrix_.size() && matrix_.capacity() > (1u << 20)) {
            try {
                matrix_.shrink_to_fit();
            } catch (const std::bad_alloc&) {  // only an optimisation: keep the larger buffer
            }
        }

        if (graph_ && free_nodes_.size() > kRebuildWhenFreedShare * static_cast<double>(slot_of_node_.size())) {
            discard_graph();
            try {
                if (size_locked() >= options_.approximate_from) build_graph();
            } catch (...) {
                // The removal itself is done; without a graph searches scan exactly, and the next
                // add rebuilds (and reports a failure that persists).
                discard_graph();
            }
        }
        return true;
    }

    bool contains(std::int64_t id) const override {
        const auto lock = read_lock();
        return slot_of_id_.contains(id);
    }

    std::size_t size() const override {
        const auto lock = read_lock();
        return size_locked();
    }

    bool approximate() const override {
        const auto lock = read_lock();
        return uses_graph_locked();
    }

    std::vector<IndexHit> search(std::span<const float> probe, std::size_t k, float min_similarity) const override {
        check_probe(probe, dimension());
        const auto lock = read_lock();
        const std::size_t rows = size_locked();
        if (k == 0 || rows == 0) return {};
        const std::size_t candidates = std::max(k, static_cast<std::size_t>(options_.hnsw_ef_search));
        // With as many candidates as rows the graph cannot be cheaper than the scan, and the scan
        // is exact.
        if (uses_graph_locked() && candidates < rows) return search_graph(probe.data(), k, candidates, min_similarity);
        return search_exact(probe.data(), k, min_similarity);
    }

private:
    std::shared_lock<std::shared_mutex> read_lock() const {
        turnstile_.enter();
        std::shared_lock lock(mutex_, std::defer_lock);
        try {
            lock.lock();
        } catch (...) {
            turnstile_.leave();
            throw;
        }
        turnstile_.leave();
        return lock;
    }
    // Exclusive for add/remove: the writer's turn lasts until it releases mutex_.
    class WriteLock {
    public:
        explicit WriteLock(const GalleryIndexImpl& index) : index_(index) {
            index_.turnstile_.enter();
            try {
                index_.mutex_.lock();
            } catch (...) {
                index_.turnstile_.leave();
                throw;
            }
        }
        ~WriteLock() {
            index_.mutex_.unlock();
            index_.turnstile_.leave();
        }
        WriteLock(const WriteLock&) = delete;
        WriteLock& operator=(const WriteLock&) = delete;

    private:
        const GalleryIndexImpl& index_;
    };

    static constexpr Node kNoNode = std::numeric_limits<Node>::max();

    // ensures: v can take `count` more elements without allocating; capacity grows geometrically.
    template <class Vector>
    static void reserve_one_more(Vector& v, std::size_t count) {
        if (v.size() + count > v.capacity()) v.reserve(std::max(2 * v.capacity(), v.size() + count));
    }

    std::size_t dimension() const noexcept { return options_.dimension; }
    std::size_t size_locked() const noexcept { return slot_ids_.size(); }
    bool uses_graph_locked() const noexcept { return graph_ && size_locked() >= options_.approximate_from; }
    const float* row(std::size_t slot) const noexcept { return matrix_.data() + slot * dimension(); }

    [[noreturn]] static void rethrow_as_error(const char* operation) {
        try {
            throw;
        } catch (const Error&) {
            throw;
        } catch (const std::bad_alloc&) {
            throw;
        } catch (const std::exception& e) {
            throw Error(ErrorCode::internal, std::string("gallery index: ") + operation + " failed in hnswlib: " + e.what());
        }
    }

    // --- exact --------------------------------------------------------------------------------

    void scan_rows(const float* probe, std::size_t begin, std::size_t end, TopK& top) const {
        float scores[kScanBlockRows];
        for (std::size_t block = begin; block < end; block += kScanBlockRows) {
            const std::size_t count = std::min(kScanBlockRows, end - block);
            gallery::dot_rows(probe, row(block), count, dimension(), scores);
            for (std::size_t r = 0; r < count; ++r)
                if (!top.full() || scores[r] >= top.worst_similarity()) top.offer(slot_ids_[block + r], scores[r]);
        }
    }

    std::vector<IndexHit> search_exact(const float* probe, std::size_t k, float min_similarity) const {
        const std::size_t rows = size_locked();
        const unsigned workers =
            rows >= kParallelScanFromRows ? static_cast<unsigned>(std::min<std::size_t>(threads_, rows / (kParallelScanFromRows / 2)))
                                          : 1u;
        if (workers <= 1) {
            TopK top(k, min_similarity);
            scan_rows(probe, 0, rows, top);
            return top.take_sorted();
        }
        // Contiguous row ranges, one bounded heap per thread, merged at the end.
        std::vector<TopK> partial(workers, TopK(k, min_similarity));
        run_on_threads(workers, [&](unsigned worker) {
            const std::size_t begin = rows * worker / workers, end = rows * (worker + 1) / workers;
            scan_rows(probe, begin, end, partial[worker]);
        });
        for (unsigned w = 1; w < workers; ++w) partial[0].merge(partial[w]);
        return partial[0].take_sorted();
    }

    // --- approximate --------------------------------------------------------------------------

    // Candidates from the graph, re-scored exactly from the matrix (so similarities equal the exact
    // path's, bit for bit), then ranked like the exact path.
    std::vector<IndexHit> search_graph(const float* probe, std::size_t k, std::size_t candidates,
                                       float min_similarity) const {
        auto found = graph_->searchKnn(probe, candidates);
        TopK top(k, min_similarity);
        const gallery::DotFunction dot = gallery::dot_function();
        for (; !found.empty(); found.pop()) {
            const Node node = found.top().second;
            const std::size_t slot = node < slot_of_node_.size() ? slot_of_node_[node] : kNoSlot;
            if (slot == kNoSlot) continue;  // freed (hnswlib skips deleted nodes already; be sure)
            top.offer(slot_ids_[slot], dot(probe, row(slot), dimension()));
        }
        return top.take_sorted();
    }

    void discard_graph() noexcept {
        graph_.reset();
        space_.reset();
        slot_of_node_.clear();
        free_nodes_.clear();
        std::fill(slot_nodes_.begin(), slot_nodes_.end(), kNoNode);
    }

    // ensures: graph_ holds every row, node n = slot n. Built on threads_ threads: hnswlib's addPoint
    // is safe for concurrent insertions of distinct labels (what its Python add_items does), except
    // for the first element. ThreadSanitizer still reports hnswlib-internal races here (unlocked reads
    // of the entry point, per-node lock order); none between searches and writes, which mutex_ orders.
    void build_graph() {
        const std::size_t rows = size_locked();
        space_ = std::make_unique<DotProductSpace>(dimension());
        graph_ = std::make_unique<Graph>(space_.get(), std::max(rows + rows / 4, kMinGraphCapacity),
                                         static_cast<std::size_t>(options_.hnsw_m),
                                         static_cast<std::size_t>(options_.hnsw_ef_construction));
        graph_->setEf(static_cast<std::size_t>(options_.hnsw_ef_search));
        slot_of_node_.resize(rows);
        for (std::size_t slot = 0; slot < rows; ++slot) {
            slot_nodes_[slot] = slot;
            slot_of_node_[slot] = slot;
        }
        if (rows == 0) return;
        // hnswlib's concurrent insertion excludes the first element (it sets the entry point): alone.
        graph_->addPoint(row(0), 0);
        std::atomic<std::size_t> next{1};
        const unsigned workers = static_cast<unsigned>(std::min<std::size_t>(threads_, std::max<std::size_t>(1, rows / 64)));
        run_on_threads(workers, [&](unsigned) {
            for (std::size_t slot; (slot = next.fetch_add(1)) < rows;) graph_->addPoint(row(slot), slot);
        });
    }

    // requires: graph_; slot is the newly appended row.
    void insert_into_graph(std::size_t slot) {
        // A freed node is taken back first: hnswlib 0.6.2's addPoint on an existing label clears its
        // deleted mark and re-links it with the new vector (updatePoint), so the graph does not grow.
        const bool reuse = !free_nodes_.empty();
        const Node node = reuse ? free_nodes_.back() : slot_of_node_.size();
        if (!reuse && node >= graph_->max_elements_)
            graph_->resizeIndex(std::max(2 * graph_->max_elements_, kMinGraphCapacity));
        graph_->addPoint(row(slot), node);
        if (reuse)
            free_nodes_.pop_back();
        else
            slot_of_node_.push_back(kNoSlot);
        slot_of_node_[node] = slot;
        slot_nodes_[slot] = node;
    }

    void free_node(Node node) {
        graph_->markDelete(node);
        slot_of_node_[node] = kNoSlot;
        free_nodes_.push_back(node);
    }

    const GalleryIndexOptions options_;
    const unsigned threads_;
    // Searches share mutex_, add/remove own it; both queue at turnstile_ first (see Turnstile).
    mutable std::shared_mutex mutex_;
    Turnstile turnstile_;

    std::vector<float> matrix_;                // size() x dimension, row-major
    std::vector<std::int64_t> slot_ids_;       // slot -> template id
    std::vector<Node> slot_nodes_;             // slot -> graph node (kNoNode without a graph)
    std::unordered_map<std::int64_t, std::size_t> slot_of_id_;

    std::unique_ptr<DotProductSpace> space_;   // outlives graph_ (declared first, destroyed last)
    std::unique_ptr<Graph> graph_;             // null below approximate_from (or never, when 0)
    std::vector<std::size_t> slot_of_node_;    // node -> slot, kNoSlot when freed
    std::vector<Node> free_nodes_;             // marked deleted in graph_, waiting for reuse
};

}  // namespace

std::unique_ptr<GalleryIndex> GalleryIndex::create(const GalleryIndexOptions& options) {
    if (options.dimension == 0) throw Error(ErrorCode::invalid_argument, "gallery index: dimension must be > 0");
    // hnswlib needs a degree of at least 2 (its level generator divides by log(M)).
    if (options.hnsw_m < 2)
        throw Error(ErrorCode::invalid_argument, "gallery index: hnsw_m must be >= 2, got " + std::to_string(options.hnsw_m));
    if (options.hnsw_ef_construction < 0 || options.hnsw_ef_search < 0)
        throw Error(ErrorCode::invalid_argument, "gallery index: HNSW beam widths must not be negative");
    if (options.threads < 0) throw Error(ErrorCode::invalid_argument, "gallery index: threads must not be negative");
    return std::make_unique<GalleryIndexImpl>(options);
}

}  // namespace faceproof
