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
#include <chrono>
#include <cstring>
#include <cmath>
#include <cstdlib>
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
#include "gallery/byte_io.hpp"
#include "gallery/dot_product.hpp"
#include "gallery/int8_codes.hpp"
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

// The same distance over the compact codes, without a copy of them in the graph: each element is
// the 8-byte node number, resolved through node -> slot to the index's own code rows (a copy would
// double the codes' 516 bytes per element). A query is an element whose high bit is set: the rest
// is the address of its QueryCodes (searches run concurrently, each with its own).
// Freed nodes (no slot) are at distance 1 (similarity 0): hnswlib still walks through them.
// requires: the context's vectors change only under the index's write lock (no search running),
// and a node's slot is set before hnswlib is given the node.
class CodeSpace final : public hnswlib::SpaceInterface<float> {
public:
    struct Context {
        std::size_t dimension = 0;
        const std::vector<std::int8_t>* codes = nullptr;
        const std::vector<gallery::CodeInfo>* infos = nullptr;
        const std::vector<std::size_t>* slot_of_node = nullptr;
    };
    struct QueryCodes {
        float scale = 0;
        const std::int8_t* codes = nullptr;
    };
    static constexpr std::uint64_t kQueryTag = std::uint64_t{1} << 63;

    explicit CodeSpace(const Context& context) : context_(context) {}
    std::size_t get_data_size() override { return sizeof(std::uint64_t); }
    hnswlib::DISTFUNC<float> get_dist_func() override { return &distance; }
    void* get_dist_func_param() override { return &context_; }

    static std::uint64_t element(std::size_t node) noexcept { return node; }
    static std::uint64_t query(const QueryCodes& codes) noexcept { return kQueryTag | reinterpret_cast<std::uintptr_t>(&codes); }

private:
    static bool resolve(const Context& c, const void* data, float& scale, const std::int8_t*& codes) noexcept {
        std::uint64_t value;
        std::memcpy(&value, data, sizeof value);
        if (value & kQueryTag) {
            const auto* q = reinterpret_cast<const QueryCodes*>(static_cast<std::uintptr_t>(value & ~kQueryTag));
            scale = q->scale;
            codes = q->codes;
            return true;
        }
        if (value >= c.slot_of_node->size()) return false;
        const std::size_t slot = (*c.slot_of_node)[value];
        if (slot >= c.infos->size()) return false;  // freed
        scale = (*c.infos)[slot].scale;
        codes = c.codes->data() + slot * c.dimension;
        return true;
    }
    static float distance(const void* a, const void* b, const void* param) {
        const Context& c = *static_cast<const Context*>(param);
        float scale_a, scale_b;
        const std::int8_t *codes_a, *codes_b;
        if (!resolve(c, a, scale_a, codes_a) || !resolve(c, b, scale_b, codes_b)) return 1.0f;
        return 1.0f - scale_a * scale_b * static_cast<float>(gallery::dot_codes(codes_a, codes_b, c.dimension));
    }
    Context context_;
};

using Graph = hnswlib::HierarchicalNSW<float>;

// --- index images ----------------------------------------------------------------------------

constexpr char kImageMagic[8] = {'F', 'P', 'G', 'I', 'D', 'X', '0', '1'};

using ImageWriter = gallery::ByteWriter;
using ImageReader = gallery::ByteReader;

// Every read of an image is bounds-checked: a short or inconsistent image is Error{invalid_argument}.
[[noreturn]] void corrupt_image(const std::string& what) {
    throw Error(ErrorCode::invalid_argument, "gallery index image: " + what);
}

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
            if (keeps_floats()) reserve_one_more(matrix_, dimension());
            if (compact()) {
                reserve_one_more(codes_, dimension());
                reserve_one_more(infos_, 1);
            }
            reserve_one_more(slot_ids_, 1);
            reserve_one_more(slot_nodes_, 1);
        } catch (...) {
            slot_of_id_.erase(entry);
            throw;
        }
        if (keeps_floats()) matrix_.insert(matrix_.end(), vector.begin(), vector.end());
        if (compact()) {
            codes_.resize(codes_.size() + dimension());
            infos_.push_back(gallery::quantise(vector.data(), dimension(), codes_.data() + slot * dimension()));
        }
        slot_ids_.push_back(id);
        slot_nodes_.push_back(kNoNode);
        try {
            if (graph_)
                insert_into_graph(slot);
            else if (should_build_graph_locked())
                build_graph();
        } catch (...) {
            // The rows are the truth: undo the row and drop a graph that may be half-updated; the
            // next add that finds the gallery large enough rebuilds it.
            discard_graph();
            slot_of_id_.erase(id);
            pop_last_row();
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
            if (keeps_floats())
                std::copy_n(row(last), dimension(), matrix_.begin() + static_cast<std::ptrdiff_t>(slot * dimension()));
            if (compact()) {
                std::copy_n(codes(last), dimension(), codes_.begin() + static_cast<std::ptrdiff_t>(slot * dimension()));
                infos_[slot] = infos_[last];
            }
            slot_ids_[slot] = slot_ids_[last];
            slot_nodes_[slot] = slot_nodes_[last];
            slot_of_id_.at(slot_ids_[slot]) = slot;
            if (graph_) slot_of_node_[slot_nodes_[slot]] = slot;
        }
        // The removed vector's bytes must not linger in the buffers' spare capacity (deletion covers
        // memory, and an image saved later copies only live rows anyway).
        pop_last_row();
        // Give memory back after large removals (amortised: only when 3/4 of the capacity is unused).
        shrink_if_mostly_unused(matrix_);
        shrink_if_mostly_unused(codes_);

        if (graph_ && free_nodes_.size() > kRebuildWhenFreedShare * static_cast<double>(slot_of_node_.size())) {
            discard_graph();
            try {
                if (should_build_graph_locked()) build_graph();
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

    const char* method() const override {
        const auto lock = read_lock();
        return uses_graph_locked() ? "hnsw" : compact() ? "exact_compact" : "exact";
    }

    std::size_t memory_bytes() const override {
        const auto lock = read_lock();
        std::size_t bytes = matrix_.capacity() * sizeof(float) + codes_.capacity() + infos_.capacity() * sizeof(gallery::CodeInfo) +
                            slot_ids_.capacity() * sizeof(std::int64_t) + slot_nodes_.capacity() * sizeof(Node) +
                            slot_of_id_.size() * (sizeof(std::int64_t) + sizeof(std::size_t) + 2 * sizeof(void*)) +
                            slot_of_id_.bucket_count() * sizeof(void*);
        if (graph_) {
            const std::size_t capacity = graph_->max_elements_;
            bytes += capacity * (graph_->size_data_per_element_ + sizeof(std::mutex) + sizeof(int) + sizeof(void*)) +
                     graph_->label_lookup_.size() * (2 * sizeof(std::size_t) + 2 * sizeof(void*)) +
                     slot_of_node_.capacity() * sizeof(std::size_t);
            for (std::size_t i = 0; i < graph_->cur_element_count; ++i)
                if (graph_->element_levels_[i] > 0) bytes += graph_->size_links_per_element_ * graph_->element_levels_[i];
        }
        return bytes;
    }

    std::vector<std::int64_t> ids() const override {
        const auto lock = read_lock();
        return slot_ids_;
    }

    std::vector<IndexHit> search(std::span<const float> probe, std::size_t k, float min_similarity,
                                 const FullPrecisionSource* source) const override {
        check_probe(probe, dimension());
        if (!keeps_floats() && (source == nullptr || !*source))
            throw Error(ErrorCode::invalid_argument,
                        "gallery index: this index keeps no full-precision vectors; the search needs a source of them");
        const auto lock = read_lock();
        const std::size_t rows = size_locked();
        if (k == 0 || rows == 0) return {};
        const std::size_t candidates = std::max(k, static_cast<std::size_t>(options_.hnsw_ef_search));
        // With as many candidates as rows the graph cannot be cheaper than the scan, and the scan
        // is exact.
        if (uses_graph_locked() && candidates < rows) return search_graph(probe.data(), k, candidates, min_similarity, source);
        const auto start = std::chrono::steady_clock::now();
        std::vector<IndexHit> hits = compact() ? search_compact(probe.data(), k, min_similarity, source)
                                               : search_exact(probe.data(), k, min_similarity);
        if (rows >= kParallelScanFromRows) {
            const double elapsed_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
            const double previous = scan_ns_per_row_.load(std::memory_order_relaxed);
            const double measured = elapsed_ns / static_cast<double>(rows);
            // A moving average: one slow search (a busy machine) does not decide the method alone.
            scan_ns_per_row_.store(previous > 0 ? 0.8 * previous + 0.2 * measured : measured, std::memory_order_relaxed);
        }
        return hits;
    }

    IndexImage save() const override {
        const auto lock = read_lock();
        ImageWriter w;
        w.bytes(kImageMagic, sizeof kImageMagic);
        w.pod<std::uint64_t>(dimension());
        w.pod<std::uint8_t>(compact());
        w.pod<std::uint8_t>(keeps_floats());
        w.pod<std::uint8_t>(graph_ != nullptr);
        w.array(slot_ids_);
        w.array(slot_nodes_);
        if (compact()) {
            w.array(codes_);
            w.array(infos_);
        }
        if (keeps_floats()) w.array(matrix_);
        if (graph_) save_graph(w);
        return {std::move(w.out())};
    }

    // requires: a fresh index (called by GalleryIndex::restore only).
    void load(std::span<const std::uint8_t> image) {
        ImageReader r(image, "gallery index image");
        char magic[sizeof kImageMagic];
        r.bytes(magic, sizeof magic);
        if (std::memcmp(magic, kImageMagic, sizeof magic) != 0) corrupt_image("not an index image");
        if (r.pod<std::uint64_t>() != dimension()) corrupt_image("another dimension");
        const bool image_compact = r.pod<std::uint8_t>() != 0, image_floats = r.pod<std::uint8_t>() != 0;
        const bool image_graph = r.pod<std::uint8_t>() != 0;
        if (image_compact != compact() || image_floats != keeps_floats())
            corrupt_image("made with other options (compact / keep_full_precision)");
        const auto rows_count = r.pod<std::uint64_t>();
        if (rows_count > image.size() / sizeof(std::int64_t)) corrupt_image("truncated");
        slot_ids_.resize(rows_count);
        r.bytes(slot_ids_.data(), rows_count * sizeof(std::int64_t));
        const std::size_t rows = slot_ids_.size();
        slot_nodes_ = r.array<Node>(rows);
        if (compact()) {
            codes_ = r.array<std::int8_t>(rows * dimension());
            infos_ = r.array<gallery::CodeInfo>(rows);
        }
        if (keeps_floats()) matrix_ = r.array<float>(rows * dimension());
        slot_of_id_.reserve(rows);
        for (std::size_t slot = 0; slot < rows; ++slot)
            if (!slot_of_id_.try_emplace(slot_ids_[slot], slot).second) corrupt_image("a template id twice");
        if (image_graph) {
            load_graph(r);
        } else {
            std::fill(slot_nodes_.begin(), slot_nodes_.end(), kNoNode);
        }
        if (!r.done()) corrupt_image("bytes after the end");
        // An image saved below the graph threshold, restored with a lower one: build now.
        if (!graph_ && should_build_graph_locked()) build_graph();
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
    template <class Vector>
    static void shrink_if_mostly_unused(Vector& v) {
        if (v.capacity() > 4 * v.size() && v.capacity() * sizeof(v[0]) > (1u << 22)) {
            try {
                v.shrink_to_fit();
            } catch (const std::bad_alloc&) {  // only an optimisation: keep the larger buffer
            }
        }
    }

    // Drops the last row, zeroing its bytes first (they stay in the vectors' capacity otherwise).
    void pop_last_row() noexcept {
        if (keeps_floats()) {
            std::fill(matrix_.end() - static_cast<std::ptrdiff_t>(dimension()), matrix_.end(), 0.0f);
            matrix_.resize(matrix_.size() - dimension());
        }
        if (compact()) {
            std::fill(codes_.end() - static_cast<std::ptrdiff_t>(dimension()), codes_.end(), std::int8_t{0});
            codes_.resize(codes_.size() - dimension());
            infos_.pop_back();
        }
        slot_ids_.pop_back();
        slot_nodes_.pop_back();
    }

    std::size_t dimension() const noexcept { return options_.dimension; }
    bool compact() const noexcept { return options_.compact; }
    bool keeps_floats() const noexcept { return options_.keep_full_precision; }
    std::size_t size_locked() const noexcept { return slot_ids_.size(); }
    bool uses_graph_locked() const noexcept { return graph_ && size_locked() >= options_.approximate_from; }
    const float* row(std::size_t slot) const noexcept { return matrix_.data() + slot * dimension(); }
    const std::int8_t* codes(std::size_t slot) const noexcept { return codes_.data() + slot * dimension(); }

    // The method by measurement: a graph once the gallery is past approximate_from and (with a
    // budget) a scan is estimated to exceed it, from the measured scan cost per row.
    bool should_build_graph_locked() const {
        if (options_.approximate_from == 0 || size_locked() < options_.approximate_from) return false;
        if (options_.exact_budget_ms <= 0) return true;
        return estimated_scan_ms_locked() > options_.exact_budget_ms;
    }

    double estimated_scan_ms_locked() const {
        double per_row = scan_ns_per_row_.load(std::memory_order_relaxed);
        if (per_row <= 0) {
            // No search measured yet: time one scan of (up to) 64k rows, with the first row as the probe.
            const std::size_t rows = std::min<std::size_t>(size_locked(), 65536);
            if (rows == 0) return 0;
            std::vector<float> probe(dimension());
            if (keeps_floats()) {
                std::copy_n(row(0), dimension(), probe.begin());
            } else {
                for (std::size_t i = 0; i < dimension(); ++i) probe[i] = infos_[0].scale * codes(0)[i];
            }
            const auto start = std::chrono::steady_clock::now();
            if (compact()) {
                const gallery::QuantisedProbe quantised = gallery::quantise_probe(probe.data(), dimension());
                std::vector<std::int32_t> dots(kScanBlockRows);
                for (std::size_t block = 0; block < rows; block += kScanBlockRows)
                    gallery::dot_code_rows(quantised, codes(block), &infos_[block], std::min(kScanBlockRows, rows - block),
                                           dimension(), dots.data());
            } else {
                TopK top(1, -2.0f);
                scan_rows(probe.data(), 0, rows, top);
            }
            const double elapsed_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
            // One thread scanned; a search splits the rows over threads_ (at most ~2x on this kind of
            // memory-bound scan, measured).
            per_row = elapsed_ns / static_cast<double>(rows) / std::min(2.0, static_cast<double>(threads_));
            scan_ns_per_row_.store(per_row, std::memory_order_relaxed);
        }
        return per_row * static_cast<double>(size_locked()) / 1e6;
    }

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

    unsigned scan_workers(std::size_t rows) const noexcept {
        return rows >= kParallelScanFromRows
                   ? static_cast<unsigned>(std::min<std::size_t>(threads_, rows / (kParallelScanFromRows / 2)))
                   : 1u;
    }

    // --- exact, floats --------------------------------------------------------------------------

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
        const unsigned workers = scan_workers(rows);
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

    // --- exact, codes ---------------------------------------------------------------------------

    // Candidates of a code search: the k best lower bounds seen, and every row whose upper bound
    // reached the k-th best lower bound at the time it was seen (a superset of the final set: the
    // k-th best lower bound only rises).
    struct BoundedCandidates {
        TopK lower;
        std::vector<std::pair<std::size_t, float>> slots_with_upper;
        BoundedCandidates(std::size_t k) : lower(k, -std::numeric_limits<float>::infinity()) {}
    };

    // |q.x - q^.x^| <= |q| |x - x^| + |q - q^| |x^|, plus the float kernels' own rounding (the
    // full-precision similarity is a float sum of 512 products: ~1e-5; 2e-4 is far above it).
    struct BoundTerms {
        float probe_norm, probe_residual, slack;
    };
    static BoundTerms bound_terms(const gallery::QuantisedProbe& probe) noexcept {
        return {probe.norm, probe.residual_norm, 2e-4f * std::max(1.0f, probe.norm)};
    }

    void offer_bounded(const gallery::QuantisedProbe& probe, const BoundTerms& terms, std::size_t slot, std::int32_t dot,
                       float min_similarity, BoundedCandidates& out) const {
        const gallery::CodeInfo& info = infos_[slot];
        const float approximate = probe.scale * info.scale * static_cast<float>(dot);
        const float error = terms.probe_norm * info.residual_norm + terms.probe_residual * info.code_norm + terms.slack;
        const float upper = approximate + error;
        const float floor = out.lower.full() ? std::max(min_similarity, out.lower.worst_similarity()) : min_similarity;
        if (!(upper >= floor)) return;
        out.slots_with_upper.emplace_back(slot, upper);
        out.lower.offer(slot_ids_[slot], approximate - error);
    }

    void scan_codes(const gallery::QuantisedProbe& probe, std::size_t begin, std::size_t end, float min_similarity,
                    BoundedCandidates& out) const {
        const BoundTerms terms = bound_terms(probe);
        std::int32_t dots[kScanBlockRows];
        for (std::size_t block = begin; block < end; block += kScanBlockRows) {
            const std::size_t count = std::min(kScanBlockRows, end - block);
            gallery::dot_code_rows(probe, codes(block), &infos_[block], count, dimension(), dots);
            for (std::size_t r = 0; r < count; ++r) offer_bounded(probe, terms, block + r, dots[r], min_similarity, out);
        }
    }

    std::vector<IndexHit> search_compact(const float* probe, std::size_t k, float min_similarity,
                                         const FullPrecisionSource* source) const {
        const gallery::QuantisedProbe quantised = gallery::quantise_probe(probe, dimension());
        const std::size_t rows = size_locked();
        const unsigned workers = scan_workers(rows);
        std::vector<BoundedCandidates> partial(workers, BoundedCandidates(k));
        run_on_threads(workers, [&](unsigned worker) {
            const std::size_t begin = rows * worker / workers, end = rows * (worker + 1) / workers;
            scan_codes(quantised, begin, end, min_similarity, partial[worker]);
        });
        for (unsigned w = 1; w < workers; ++w) partial[0].lower.merge(partial[w].lower);
        return rerank(probe, partial, k, min_similarity, source);
    }

    // Re-scores in full precision every candidate whose upper bound reaches max(min_similarity, the
    // k-th best lower bound): any row of the exact top-k has a similarity >= that (k rows have
    // lower bounds >= it), so its upper bound does too, and it is re-scored; the float similarities
    // are the exact scan's (same kernel), hence the same top-k, ties included.
    std::vector<IndexHit> rerank(const float* probe, std::vector<BoundedCandidates>& partial, std::size_t k,
                                 float min_similarity, const FullPrecisionSource* source) const {
        const float floor = partial[0].lower.full() ? std::max(min_similarity, partial[0].lower.worst_similarity())
                                                    : min_similarity;
        std::vector<std::size_t> slots;
        for (const BoundedCandidates& p : partial)
            for (const auto& [slot, upper] : p.slots_with_upper)
                if (upper >= floor) slots.push_back(slot);
        TopK top(k, min_similarity);
        if (keeps_floats()) {
            for (const std::size_t slot : slots) top.offer(slot_ids_[slot], gallery::dot(probe, row(slot), dimension()));
            return top.take_sorted();
        }
        std::vector<std::int64_t> wanted(slots.size());
        for (std::size_t i = 0; i < slots.size(); ++i) wanted[i] = slot_ids_[slots[i]];
        std::vector<float> vectors(wanted.size() * dimension());
        (*source)(wanted, vectors);
        for (std::size_t i = 0; i < wanted.size(); ++i)
            top.offer(wanted[i], gallery::dot(probe, vectors.data() + i * dimension(), dimension()));
        return top.take_sorted();
    }

    // --- approximate --------------------------------------------------------------------------

    // Candidates from the graph, re-scored in full precision (so similarities equal the exact
    // path's, bit for bit), then ranked like the exact path. Over codes, only the candidates whose
    // bound can reach the top-k are re-scored (few: fewer full-precision fetches from a source).
    std::vector<IndexHit> search_graph(const float* probe, std::size_t k, std::size_t candidates, float min_similarity,
                                       const FullPrecisionSource* source) const {
        if (!compact()) {
            auto found = graph_->searchKnn(probe, candidates);
            TopK top(k, min_similarity);
            const gallery::DotFunction dot = gallery::dot_function();
            for (; !found.empty(); found.pop()) {
                const std::size_t slot = slot_of_found(found.top().second);
                if (slot != kNoSlot) top.offer(slot_ids_[slot], dot(probe, row(slot), dimension()));
            }
            return top.take_sorted();
        }
        const gallery::QuantisedProbe quantised = gallery::quantise_probe(probe, dimension());
        const CodeSpace::QueryCodes query_codes{quantised.scale, quantised.codes.data()};
        const std::uint64_t query = CodeSpace::query(query_codes);
        auto found = graph_->searchKnn(&query, candidates);
        std::vector<BoundedCandidates> partial(1, BoundedCandidates(k));
        const BoundTerms terms = bound_terms(quantised);
        for (; !found.empty(); found.pop()) {
            const std::size_t slot = slot_of_found(found.top().second);
            if (slot == kNoSlot) continue;
            offer_bounded(quantised, terms, slot, gallery::dot_codes(quantised.codes.data(), codes(slot), dimension()),
                          min_similarity, partial[0]);
        }
        return rerank(probe, partial, k, min_similarity, source);
    }

    std::size_t slot_of_found(Node node) const noexcept {
        return node < slot_of_node_.size() ? slot_of_node_[node] : kNoSlot;  // freed: hnswlib skips them already
    }

    // Room for adds before hnswlib must reallocate (resizeIndex doubles then): a quarter for small
    // graphs, 1/16 for large ones, where a quarter of unused elements would be ~40 bytes per template.
    static std::size_t headroom(std::size_t rows) noexcept { return rows >= (1u << 20) ? rows / 16 : rows / 4; }

    void discard_graph() noexcept {
        graph_.reset();
        float_space_.reset();
        code_space_.reset();
        slot_of_node_.clear();
        free_nodes_.clear();
        std::fill(slot_nodes_.begin(), slot_nodes_.end(), kNoNode);
    }

    hnswlib::SpaceInterface<float>* make_space() {
        if (compact()) {
            code_space_ = std::make_unique<CodeSpace>(CodeSpace::Context{dimension(), &codes_, &infos_, &slot_of_node_});
            return code_space_.get();
        }
        float_space_ = std::make_unique<DotProductSpace>(dimension());
        return float_space_.get();
    }

    // The graph element of a row at a node: the floats themselves, or the node number (CodeSpace).
    const void* graph_element(std::size_t slot, Node node, std::uint64_t& buffer) const {
        if (!compact()) return row(slot);
        buffer = CodeSpace::element(node);
        return &buffer;
    }

    // ensures: graph_ holds every row, node n = slot n. Built on threads_ threads: hnswlib's addPoint
    // is safe for concurrent insertions of distinct labels (what its Python add_items does), except
    // for the first element. ThreadSanitizer still reports hnswlib-internal races here (unlocked reads
    // of the entry point, per-node lock order); none between searches and writes, which mutex_ orders.
    void build_graph() {
        const std::size_t rows = size_locked();
        hnswlib::SpaceInterface<float>* space = make_space();
        graph_ = std::make_unique<Graph>(space, std::max(rows + headroom(rows), kMinGraphCapacity),
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
        std::uint64_t first;
        graph_->addPoint(graph_element(0, 0, first), 0);
        std::atomic<std::size_t> next{1};
        const unsigned workers = static_cast<unsigned>(std::min<std::size_t>(threads_, std::max<std::size_t>(1, rows / 64)));
        run_on_threads(workers, [&](unsigned) {
            std::uint64_t buffer;
            for (std::size_t slot; (slot = next.fetch_add(1)) < rows;) graph_->addPoint(graph_element(slot, slot, buffer), slot);
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
        // The node's slot first: the code space reads the row through it while hnswlib links the node.
        if (!reuse) slot_of_node_.push_back(kNoSlot);
        slot_of_node_[node] = slot;
        try {
            std::uint64_t buffer;
            graph_->addPoint(graph_element(slot, node, buffer), node);
        } catch (...) {
            slot_of_node_[node] = kNoSlot;
            if (!reuse) slot_of_node_.pop_back();
            throw;
        }
        if (reuse) free_nodes_.pop_back();
        slot_nodes_[slot] = node;
    }

    void free_node(Node node) {
        graph_->markDelete(node);
        slot_of_node_[node] = kNoSlot;
        free_nodes_.push_back(node);
        // A freed node keeps its element until reused: a float element is the removed template
        // itself, so it is overwritten (it leaves the graph's memory and any image saved from now
        // on). A code element is only the node number.
        if (!compact()) {
            const auto internal = graph_->label_lookup_.at(node);
            std::memset(graph_->getDataByInternalId(internal), 0, graph_->data_size_);
        }
    }

    // hnswlib 0.6.2 saves to and loads from a file path only; a snapshot must never be a plain file
    // (it is biometric data), so the same fields are written here into the image, to be sealed.
    void save_graph(ImageWriter& w) const {
        const Graph& g = *graph_;
        w.pod<std::uint64_t>(g.M_);
        w.pod<std::uint64_t>(g.ef_construction_);
        w.pod<std::uint64_t>(g.cur_element_count);
        w.pod<std::uint64_t>(g.size_data_per_element_);
        w.pod<std::int32_t>(g.maxlevel_);
        w.pod<std::uint32_t>(g.enterpoint_node_);
        w.array(slot_of_node_);
        w.array(free_nodes_);
        w.bytes(g.data_level0_memory_, g.cur_element_count * g.size_data_per_element_);
        for (std::size_t i = 0; i < g.cur_element_count; ++i) {
            const std::uint32_t levels = static_cast<std::uint32_t>(std::max(0, g.element_levels_[i]));
            w.pod(levels);
            if (levels) w.bytes(g.linkLists_[i], g.size_links_per_element_ * levels);
        }
    }

    void load_graph(ImageReader& r) {
        const auto m = r.pod<std::uint64_t>(), ef_construction = r.pod<std::uint64_t>();
        if (m != static_cast<std::uint64_t>(options_.hnsw_m) ||
            ef_construction != std::max<std::uint64_t>(static_cast<std::uint64_t>(options_.hnsw_ef_construction), m))
            corrupt_image("graph built with other HNSW parameters");
        const auto count = r.pod<std::uint64_t>(), data_per_element = r.pod<std::uint64_t>();
        const auto max_level = r.pod<std::int32_t>();
        const auto entry_point = r.pod<std::uint32_t>();
        const std::size_t rows = size_locked();
        if (count < rows || count > rows + count / 2 + kMinGraphCapacity) corrupt_image("graph size");
        hnswlib::SpaceInterface<float>* space = make_space();
        graph_ = std::make_unique<Graph>(space, std::max<std::size_t>(count + headroom(count), kMinGraphCapacity),
                                         static_cast<std::size_t>(options_.hnsw_m),
                                         static_cast<std::size_t>(options_.hnsw_ef_construction));
        Graph& g = *graph_;
        g.setEf(static_cast<std::size_t>(options_.hnsw_ef_search));
        if (data_per_element != g.size_data_per_element_) corrupt_image("graph element size");
        slot_of_node_ = r.array<std::size_t>(count);
        const auto free_count = r.pod<std::uint64_t>();
        if (free_count != count - rows) corrupt_image("free node count");
        free_nodes_.resize(free_count);
        r.bytes(free_nodes_.data(), free_count * sizeof(Node));
        r.bytes(g.data_level0_memory_, count * g.size_data_per_element_);
        g.cur_element_count = count;
        g.maxlevel_ = max_level;
        g.enterpoint_node_ = entry_point;
        if (count > 0 && (entry_point >= count || max_level < 0)) corrupt_image("graph entry point");
        for (std::size_t i = 0; i < count; ++i) {
            const auto levels = r.pod<std::uint32_t>();
            if (static_cast<std::int64_t>(levels) > max_level) corrupt_image("graph level");
            g.element_levels_[i] = static_cast<int>(levels);
            g.linkLists_[i] = nullptr;
            if (levels) {
                g.linkLists_[i] = static_cast<char*>(std::malloc(g.size_links_per_element_ * levels));
                if (!g.linkLists_[i]) throw std::bad_alloc();
                r.bytes(g.linkLists_[i], g.size_links_per_element_ * levels);
            }
        }
        // Every link must name an element, and every node a slot (or be free): a graph that
        // points outside itself would read out of bounds at the first search.
        auto check_links = [&](const unsigned int* list, std::size_t max_links) {
            const unsigned int links = *list & 0xFFFF;  // the low 16 bits count; 0.6.2 keeps its delete mark above
            if (links > max_links) corrupt_image("graph link count");
            for (unsigned int j = 1; j <= links; ++j)
                if (list[j] >= count) corrupt_image("graph link");
        };
        for (std::size_t i = 0; i < count; ++i) {
            check_links(g.get_linklist0(static_cast<hnswlib::tableint>(i)), g.maxM0_);
            for (int level = 1; level <= g.element_levels_[i]; ++level)
                check_links(g.get_linklist(static_cast<hnswlib::tableint>(i), level), g.maxM_);
            const Node label = g.getExternalLabel(static_cast<hnswlib::tableint>(i));
            if (label >= count || !g.label_lookup_.try_emplace(label, static_cast<hnswlib::tableint>(i)).second)
                corrupt_image("graph label");
            if (compact()) {  // a code element is its node number (CodeSpace); anything else would read astray
                std::uint64_t element;
                std::memcpy(&element, g.getDataByInternalId(static_cast<hnswlib::tableint>(i)), sizeof element);
                if (element != label) corrupt_image("graph element");
            }
            if (g.isMarkedDeleted(static_cast<hnswlib::tableint>(i))) ++g.num_deleted_;
        }
        for (std::size_t slot = 0; slot < rows; ++slot)
            if (slot_nodes_[slot] >= count || slot_of_node_[slot_nodes_[slot]] != slot) corrupt_image("graph node of a row");
        for (const Node node : free_nodes_)
            if (node >= count || slot_of_node_[node] != kNoSlot) corrupt_image("free graph node");
        if (g.num_deleted_ != free_count) corrupt_image("deleted graph nodes");
    }

    const GalleryIndexOptions options_;
    const unsigned threads_;
    // Searches share mutex_, add/remove own it; both queue at turnstile_ first (see Turnstile).
    mutable std::shared_mutex mutex_;
    Turnstile turnstile_;
    // Measured exact-scan cost (ns per row, moving average); 0 until measured.
    mutable std::atomic<double> scan_ns_per_row_{0};

    std::vector<float> matrix_;                // size() x dimension, row-major (keep_full_precision)
    std::vector<std::int8_t> codes_;           // size() x dimension (compact)
    std::vector<gallery::CodeInfo> infos_;     // per row (compact)
    std::vector<std::int64_t> slot_ids_;       // slot -> template id
    std::vector<Node> slot_nodes_;             // slot -> graph node (kNoNode without a graph)
    std::unordered_map<std::int64_t, std::size_t> slot_of_id_;

    std::unique_ptr<DotProductSpace> float_space_;  // outlive graph_ (declared first, destroyed last)
    std::unique_ptr<CodeSpace> code_space_;
    std::unique_ptr<Graph> graph_;             // null below approximate_from (or never, when 0)
    std::vector<std::size_t> slot_of_node_;    // node -> slot, kNoSlot when freed
    std::vector<Node> free_nodes_;             // marked deleted in graph_, waiting for reuse
};

void check_options(const GalleryIndexOptions& options) {
    if (options.dimension == 0) throw Error(ErrorCode::invalid_argument, "gallery index: dimension must be > 0");
    // hnswlib needs a degree of at least 2 (its level generator divides by log(M)).
    if (options.hnsw_m < 2)
        throw Error(ErrorCode::invalid_argument, "gallery index: hnsw_m must be >= 2, got " + std::to_string(options.hnsw_m));
    if (options.hnsw_ef_construction < 0 || options.hnsw_ef_search < 0)
        throw Error(ErrorCode::invalid_argument, "gallery index: HNSW beam widths must not be negative");
    if (options.threads < 0) throw Error(ErrorCode::invalid_argument, "gallery index: threads must not be negative");
    if (!options.keep_full_precision && !options.compact)
        throw Error(ErrorCode::invalid_argument, "gallery index: without full-precision vectors the index must be compact");
    if (!(options.exact_budget_ms >= 0))
        throw Error(ErrorCode::invalid_argument, "gallery index: exact_budget_ms must not be negative");
}

}  // namespace

std::unique_ptr<GalleryIndex> GalleryIndex::create(const GalleryIndexOptions& options) {
    check_options(options);
    return std::make_unique<GalleryIndexImpl>(options);
}

std::unique_ptr<GalleryIndex> GalleryIndex::restore(const GalleryIndexOptions& options, std::span<const std::uint8_t> image) {
    check_options(options);
    auto index = std::make_unique<GalleryIndexImpl>(options);
    try {
        index->load(image);
    } catch (const Error&) {
        throw;
    } catch (const std::bad_alloc&) {
        throw;
    } catch (const std::exception& e) {
        throw Error(ErrorCode::invalid_argument, std::string("gallery index image: ") + e.what());
    }
    return index;
}

}  // namespace faceproof
