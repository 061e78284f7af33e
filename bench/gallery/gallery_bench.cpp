// 1:N search at scale: faceproof's GalleryIndex (float scan, compact int8 scan, HNSW over int8 codes)
// against FAISS (IndexFlatIP, IndexScalarQuantizer 8-bit, IndexHNSWFlat with the same M /
// efConstruction / efSearch), on the same synthetic templates.
//
//   build/faceproof_gallery_bench [--sizes 10000,100000,1000000] [--queries 1000] [--lfw ROOT] [--json] ...
//
// exact_compact and hnsw keep no floats in memory (as the registry does with the store's sealed
// templates): their full-precision source here is the generated float array, standing in for the
// store; each row reports how many vectors a search fetched from it ("fetched/q"), which is what a
// store read per candidate multiplies. hnsw's startup_s is the time to read its sealed snapshot
// file, open it with the data key and restore a searchable index from it.
//   (--help lists every flag; scripts/bench_gallery.sh runs it with OpenMP threads set to sleep)
//
// Data: seeded 512-D unit vectors in clusters of look-alikes (members ~0.5 similar to each other);
// each query is a noisy copy (~0.8 similar) of one gallery member, as a fresh capture of an enrolled
// face is. Ground truth: the exact top-10 of every query, scored with the index's own kernel.
// Figures: build time and adds per second, single-query latency p50/p99 (one query at a time),
// recall@1 and recall@10 against the ground truth, resident memory per template (RSS delta / N).
// With --lfw: real templates of an LFW-style image tree; each image of an identity with >= 2 images
// is a query against all the others, HNSW's best hit compared with the exact best hit.
#include <malloc.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexScalarQuantizer.h>

#include "eval/template_batch.hpp"
#include "faceproof/crypto.hpp"
#include "faceproof/data_key.hpp"
#include "faceproof/engine.hpp"
#include "faceproof/error.hpp"
#include "faceproof/gallery_index.hpp"
#include "faceproof/models.hpp"
#include "gallery/dot_product.hpp"
#include "gallery/top_k.hpp"

namespace faceproof::bench {

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

// Human-readable output: stdout, or stderr with --json (stdout then holds the JSON array only).
FILE* g_out = stdout;

struct Options {
    std::vector<std::size_t> sizes{10000, 100000, 1000000};
    std::size_t queries = 1000;
    std::size_t dimension = 512;
    int threads = 0;
    int m = 16;
    int ef_construction = 200;
    int ef_search = 128;
    std::size_t large_from = 1000000;
    int large_ef_construction = 40;
    double exact_budget_seconds = 20;
    double faiss_hnsw_budget_seconds = 300;
    std::size_t incremental_adds = 1000;
    std::uint64_t seed = 1;
    bool skip_faiss = false;
    bool skip_hnsw = false;
    bool json = false;
    bool hnsw_floats = false;
    bool skip_float_exact = false;
    std::optional<fs::path> lfw_root, lfw_cache, models_dir;
};

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

std::size_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t pages_total = 0, pages_resident = 0;
    statm >> pages_total >> pages_resident;
    return pages_resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

// RSS now, after giving freed heap memory back to the system (so deltas measure what is held).
// main() also fixes glibc's mmap threshold: by default it rises to the size of the largest freed
// block, after which a later index's growing buffers come from the heap and the copies they leave
// behind stay resident, inflating the next measurement.
std::size_t settled_resident_bytes() {
    malloc_trim(0);
    return resident_bytes();
}

// --- data ------------------------------------------------------------------------------------

constexpr std::size_t kClusterSize = 8;
constexpr double kMemberNoise = 1.0;  // cos(member, centre) ~ 0.71, between members ~ 0.5
constexpr double kQueryNoise = 0.75;  // cos(query, its source) ~ 0.8

void add_noise_and_normalise(std::mt19937_64& rng, const float* base, double noise, std::size_t dimension, float* out) {
    std::normal_distribution<double> normal(0.0, noise / std::sqrt(static_cast<double>(dimension)));
    std::vector<double> v(dimension);
    double norm = 0;
    for (std::size_t i = 0; i < dimension; ++i) {
        v[i] = (base ? base[i] : 0.0) + normal(rng);
        norm += v[i] * v[i];
    }
    norm = std::sqrt(norm);
    for (std::size_t i = 0; i < dimension; ++i) out[i] = static_cast<float>(v[i] / norm);
}

// Rows [0, count) of clustered unit vectors, generated in parallel blocks of whole clusters (each
// block seeded by its number, so the data does not depend on the thread count).
std::vector<float> clustered_vectors(std::size_t count, std::size_t dimension, std::uint64_t seed, unsigned threads) {
    std::vector<float> rows(count * dimension);
    constexpr std::size_t kBlockRows = 64 * kClusterSize;
    const std::size_t blocks = (count + kBlockRows - 1) / kBlockRows;
    std::atomic<std::size_t> next{0};
    auto work = [&] {
        std::vector<float> centre(dimension);
        for (std::size_t block; (block = next.fetch_add(1)) < blocks;) {
            std::mt19937_64 rng(seed * 1'000'003 + block);
            for (std::size_t r = block * kBlockRows; r < std::min(count, (block + 1) * kBlockRows); ++r) {
                if (r % kClusterSize == 0) add_noise_and_normalise(rng, nullptr, 1.0, dimension, centre.data());
                add_noise_and_normalise(rng, centre.data(), kMemberNoise, dimension, rows.data() + r * dimension);
            }
        }
    };
    std::vector<std::jthread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    return rows;
}

struct Dataset {
    std::size_t size = 0, dimension = 0;
    std::vector<float> gallery;       // size x dimension
    std::vector<float> extra;         // more templates of the same kind, for incremental adds
    std::vector<float> queries;       // queries x dimension
    std::size_t query_count() const { return queries.size() / dimension; }
    const float* gallery_row(std::size_t i) const { return gallery.data() + i * dimension; }
    const float* query(std::size_t q) const { return queries.data() + q * dimension; }
};

Dataset make_dataset(std::size_t size, std::size_t dimension, std::size_t queries, std::size_t extra,
                     std::uint64_t seed, unsigned threads) {
    Dataset d;
    d.size = size;
    d.dimension = dimension;
    d.gallery = clustered_vectors(size, dimension, seed, threads);
    d.extra = clustered_vectors(extra, dimension, seed + 7777, threads);
    d.queries.resize(queries * dimension);
    std::mt19937_64 rng(seed + 4242);
    for (std::size_t q = 0; q < queries; ++q) {
        const std::size_t source = rng() % size;
        add_noise_and_normalise(rng, d.gallery_row(source), kQueryNoise, dimension, d.queries.data() + q * dimension);
    }
    return d;
}

// Exact top-k of every query, blocked so a slice of gallery rows stays in cache while all queries
// pass over it; threads take slices, each keeps its own heaps, merged at the end.
std::vector<std::vector<std::int64_t>> exact_truth(const Dataset& d, std::size_t k, unsigned threads) {
    constexpr std::size_t kSliceRows = 256;
    const std::size_t queries = d.query_count();
    const std::size_t slices = (d.size + kSliceRows - 1) / kSliceRows;
    std::vector<std::vector<gallery::TopK>> partial(threads);
    std::atomic<std::size_t> next{0};
    auto work = [&](unsigned t) {
        auto& tops = partial[t];
        tops.assign(queries, gallery::TopK(k, -2.0f));
        float scores[kSliceRows];
        for (std::size_t slice; (slice = next.fetch_add(1)) < slices;) {
            const std::size_t begin = slice * kSliceRows, count = std::min(kSliceRows, d.size - begin);
            for (std::size_t q = 0; q < queries; ++q) {
                gallery::dot_rows(d.query(q), d.gallery_row(begin), count, d.dimension, scores);
                for (std::size_t r = 0; r < count; ++r) tops[q].offer(static_cast<std::int64_t>(begin + r), scores[r]);
            }
        }
    };
    {
        std::vector<std::jthread> pool;
        for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work, t);
        work(0);
    }
    std::vector<std::vector<std::int64_t>> truth(queries);
    for (std::size_t q = 0; q < queries; ++q) {
        for (unsigned t = 1; t < threads; ++t) partial[0][q].merge(partial[t][q]);
        for (const IndexHit& hit : partial[0][q].take_sorted()) truth[q].push_back(hit.id);
    }
    return truth;
}

// --- measurement -----------------------------------------------------------------------------

struct Row {
    std::string method;
    std::size_t n = 0;
    std::string parameters;
    double build_seconds = 0;
    double adds_per_second = 0;
    double incremental_adds_per_second = -1;  // < 0: not measured
    double p50_ms = 0, p99_ms = 0;
    std::size_t measured_queries = 0;
    double recall1 = 0, recall10 = 0;
    double bytes_per_template = 0;
    std::string json_method = {};   // empty: not in the JSON array (the one-thread variants)
    double startup_seconds = -1;    // < 0: not applicable
    double fetched_per_query = -1;  // full-precision vectors fetched per search; < 0: none needed
};

std::vector<Row> g_all_rows;  // every size's rows, for --json

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const std::size_t i = std::min(values.size() - 1, static_cast<std::size_t>(std::ceil(p * values.size())) - 1);
    return values[i];
}

// Runs search(q, ids_out) one query at a time, recording latency and recall against the truth.
// Exact methods on large galleries stop after `budget_seconds` (at least 30 queries).
template <class Search>
void measure_queries(const Dataset& d, const std::vector<std::vector<std::int64_t>>& truth, double budget_seconds,
                     Search search, Row& row) {
    std::vector<double> latencies_ms;
    std::size_t hits1 = 0, hits10 = 0;
    std::vector<std::int64_t> ids;
    const auto start = Clock::now();
    for (std::size_t q = 0; q < d.query_count(); ++q) {
        if (q >= 30 && seconds_since(start) > budget_seconds) break;
        ids.clear();
        const auto t0 = Clock::now();
        search(d.query(q), ids);
        latencies_ms.push_back(seconds_since(t0) * 1e3);
        const auto& expected = truth[q];
        hits1 += !ids.empty() && ids[0] == expected[0];
        for (std::size_t i = 0; i < std::min<std::size_t>(10, ids.size()); ++i)
            hits10 += std::find(expected.begin(), expected.begin() + std::min<std::size_t>(10, expected.size()), ids[i]) !=
                      expected.begin() + std::min<std::size_t>(10, expected.size());
    }
    row.measured_queries = latencies_ms.size();
    row.p50_ms = percentile(latencies_ms, 0.50);
    row.p99_ms = percentile(latencies_ms, 0.99);
    row.recall1 = static_cast<double>(hits1) / row.measured_queries;
    row.recall10 = static_cast<double>(hits10) / (10.0 * row.measured_queries);
}

void print_rows(const std::vector<Row>& rows) {
    std::fprintf(g_out, "%-22s %9s %-12s %9s %11s %11s %9s %9s %6s %9s %9s %10s\n", "method", "N", "params", "build s", "adds/s",
                "incr add/s", "p50 ms", "p99 ms", "q", "recall@1", "recall@10", "B/template");
    // (start-up from a snapshot and vectors fetched per search follow each row that has them)
    for (const Row& r : rows) {
        char incremental[32] = "-";
        if (r.incremental_adds_per_second >= 0) std::snprintf(incremental, sizeof incremental, "%.0f", r.incremental_adds_per_second);
        std::fprintf(g_out, "%-22s %9zu %-12s %9.2f %11.0f %11s %9.3f %9.3f %6zu %9.4f %9.4f %10.0f\n", r.method.c_str(), r.n,
                    r.parameters.c_str(), r.build_seconds, r.adds_per_second, incremental, r.p50_ms, r.p99_ms,
                    r.measured_queries, r.recall1, r.recall10, r.bytes_per_template);
        if (r.startup_seconds >= 0 || r.fetched_per_query >= 0)
            std::fprintf(g_out, "%-22s %9s start-up from snapshot %s s, full-precision vectors fetched per search %.1f\n", "", "",
                         r.startup_seconds >= 0 ? std::to_string(r.startup_seconds).c_str() : "-", r.fetched_per_query);
    }
    std::fflush(g_out);
}

void print_ratio(const char* label, const Row* ours, const Row* faiss) {
    if (!ours || !faiss) return;
    auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
    std::fprintf(g_out, "  %-34s adds/s x%.2f  p50 x%.2f  p99 x%.2f  memory x%.2f  recall@1 %+.4f  recall@10 %+.4f\n", label,
                ratio(ours->adds_per_second, faiss->adds_per_second), ratio(ours->p50_ms, faiss->p50_ms),
                ratio(ours->p99_ms, faiss->p99_ms), ratio(ours->bytes_per_template, faiss->bytes_per_template),
                ours->recall1 - faiss->recall1, ours->recall10 - faiss->recall10);
}

// --- the contenders --------------------------------------------------------------------------

Row bench_ours_exact(const Dataset& d, const std::vector<std::vector<std::int64_t>>& truth, int threads,
                     const Options& options, const std::string& label) {
    Row row{label, d.size, "threads=" + std::to_string(threads)};
    const std::size_t before = settled_resident_bytes();
    GalleryIndexOptions index_options;
    index_options.dimension = d.dimension;
    index_options.approximate_from = 0;
    index_options.threads = threads;
    index_options.compact = false;
    auto index = GalleryIndex::create(index_options);
    const auto start = Clock::now();
    for (std::size_t i = 0; i < d.size; ++i) index->add(static_cast<std::int64_t>(i), {d.gallery_row(i), d.dimension});
    row.build_seconds = seconds_since(start);
    row.adds_per_second = d.size / row.build_seconds;
    row.bytes_per_template = (static_cast<double>(settled_resident_bytes()) - static_cast<double>(before)) / d.size;
    measure_queries(d, truth, options.exact_budget_seconds,
                    [&](const float* q, std::vector<std::int64_t>& ids) {
                        for (const IndexHit& hit : index->search({q, d.dimension}, 10)) ids.push_back(hit.id);
                    },
                    row);
    return row;
}

// Defined below, beside the HNSW row that also uses it.
double snapshot_startup_seconds(const GalleryIndex& index, const GalleryIndexOptions& index_options, std::size_t& snapshot_bytes);

// The full-precision source of the compact methods: rows of the generated array (the store's part).
struct ArraySource {
    const Dataset* d = nullptr;
    std::size_t fetched = 0;
    FullPrecisionSource function() {
        return [this](std::span<const std::int64_t> ids, std::span<float> out) {
            for (std::size_t i = 0; i < ids.size(); ++i) {
                const float* from = ids[i] < static_cast<std::int64_t>(d->size)
                                        ? d->gallery_row(static_cast<std::size_t>(ids[i]))
                                        : d->extra.data() + (static_cast<std::size_t>(ids[i]) - d->size) * d->dimension;
                std::copy_n(from, d->dimension, out.begin() + static_cast<std::ptrdiff_t>(i * d->dimension));
            }
            fetched += ids.size();
        };
    }
};

Row bench_ours_compact(const Dataset& d, const std::vector<std::vector<std::int64_t>>& truth, int threads,
                       const Options& options, const std::string& label) {
    Row row{label, d.size, "threads=" + std::to_string(threads)};
    const std::size_t before = settled_resident_bytes();
    GalleryIndexOptions index_options;
    index_options.dimension = d.dimension;
    index_options.approximate_from = 0;
    index_options.threads = threads;
    index_options.compact = true;
    index_options.keep_full_precision = false;
    auto index = GalleryIndex::create(index_options);
    const auto start = Clock::now();
    for (std::size_t i = 0; i < d.size; ++i) index->add(static_cast<std::int64_t>(i), {d.gallery_row(i), d.dimension});
    row.build_seconds = seconds_since(start);
    row.adds_per_second = d.size / row.build_seconds;
    row.bytes_per_template = (static_cast<double>(settled_resident_bytes()) - static_cast<double>(before)) / d.size;
    ArraySource source{&d};
    const FullPrecisionSource fetch = source.function();
    measure_queries(d, truth, options.exact_budget_seconds,
                    [&](const float* q, std::vector<std::int64_t>& ids) {
                        for (const IndexHit& hit : index->search({q, d.dimension}, 10, -1.0f, &fetch)) ids.push_back(hit.id);
                    },
                    row);
    row.fetched_per_query = static_cast<double>(source.fetched) / static_cast<double>(row.measured_queries);
    std::size_t snapshot_bytes = 0;
    row.startup_seconds = snapshot_startup_seconds(*index, index_options, snapshot_bytes);
    std::fprintf(stderr, "  exact_compact snapshot %.0f bytes per template sealed, start-up %.2f s\n",
                 static_cast<double>(snapshot_bytes) / d.size, row.startup_seconds);
    return row;
}

// Seals the index image as a node would keep it, writes it, and times a cold start from the file:
// read, open with the key, restore.
double snapshot_startup_seconds(const GalleryIndex& index, const GalleryIndexOptions& index_options, std::size_t& snapshot_bytes) {
    std::vector<std::uint8_t> key_bytes(DataKey::kSize);
    for (std::size_t i = 0; i < key_bytes.size(); ++i) key_bytes[i] = static_cast<std::uint8_t>(i * 37 + 11);
    const DataKey key = DataKey::from_bytes(key_bytes);
    const std::string associated = "faceproof/gallery-snapshot|bench";
    const fs::path file = fs::temp_directory_path() / ("faceproof_gallery_bench_snapshot_" + std::to_string(getpid()));
    {
        IndexImage image = index.save();
        const std::vector<std::uint8_t> sealed = seal(key, image.bytes, associated);
        snapshot_bytes = sealed.size();
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(sealed.data()), static_cast<std::streamsize>(sealed.size()));
        if (!out.flush()) throw Error(ErrorCode::io_error, "bench: cannot write " + file.string());
    }
    const auto start = Clock::now();
    std::vector<std::uint8_t> sealed(fs::file_size(file));
    {
        std::ifstream in(file, std::ios::binary);
        in.read(reinterpret_cast<char*>(sealed.data()), static_cast<std::streamsize>(sealed.size()));
    }
    const std::vector<std::uint8_t> image = open(key, sealed, associated);
    auto restored = GalleryIndex::restore(index_options, image);
    const double seconds = seconds_since(start);
    fs::remove(file);
    if (restored->size() != index.size()) throw Error(ErrorCode::internal, "bench: the restored index differs");
    return seconds;
}

Row bench_ours_hnsw(const Dataset& d, const std::vector<std::vector<std::int64_t>>& truth, int ef_construction,
                    const Options& options) {
    Row row{"ours HNSW (int8)", d.size, "efC=" + std::to_string(ef_construction)};
    const std::size_t before = settled_resident_bytes();
    GalleryIndexOptions index_options;
    index_options.dimension = d.dimension;
    index_options.approximate_from = d.size;  // the N-th add builds the graph from the codes, on all threads
    index_options.hnsw_m = options.m;
    index_options.hnsw_ef_construction = ef_construction;
    index_options.hnsw_ef_search = options.ef_search;
    index_options.threads = options.threads;
    index_options.compact = !options.hnsw_floats;
    index_options.keep_full_precision = options.hnsw_floats;
    if (options.hnsw_floats) row.method = "ours HNSW (floats)";
    auto index = GalleryIndex::create(index_options);
    const auto start = Clock::now();
    for (std::size_t i = 0; i < d.size; ++i) index->add(static_cast<std::int64_t>(i), {d.gallery_row(i), d.dimension});
    row.build_seconds = seconds_since(start);
    row.adds_per_second = d.size / row.build_seconds;
    row.bytes_per_template = (static_cast<double>(settled_resident_bytes()) - static_cast<double>(before)) / d.size;
    if (!index->approximate()) throw Error(ErrorCode::internal, "bench: the index did not switch to HNSW");
    ArraySource source{&d};
    const FullPrecisionSource fetch = source.function();
    measure_queries(d, truth, 1e9,
                    [&](const float* q, std::vector<std::int64_t>& ids) {
                        for (const IndexHit& hit : index->search({q, d.dimension}, 10, -1.0f, &fetch)) ids.push_back(hit.id);
                    },
                    row);
    row.fetched_per_query = static_cast<double>(source.fetched) / static_cast<double>(row.measured_queries);
    std::size_t snapshot_bytes = 0;
    row.startup_seconds = snapshot_startup_seconds(*index, index_options, snapshot_bytes);
    std::fprintf(stderr, "  hnsw snapshot %.0f bytes per template sealed, start-up %.2f s\n",
                 static_cast<double>(snapshot_bytes) / d.size, row.startup_seconds);
    // One at a time into the built graph, as enrolments arrive.
    const std::size_t extra = d.extra.size() / d.dimension;
    const auto incremental_start = Clock::now();
    for (std::size_t i = 0; i < extra; ++i)
        index->add(static_cast<std::int64_t>(d.size + i), {d.extra.data() + i * d.dimension, d.dimension});
    if (extra) row.incremental_adds_per_second = extra / seconds_since(incremental_start);
    return row;
}

Row bench_faiss_sq8(const Dataset& d, const std::vector<std::vector<std::int64_t>>& truth, int threads,
                    const Options& options) {
    Row row{"FAISS SQ8", d.size, "omp=" + std::to_string(threads)};
    omp_set_num_threads(threads);
    const std::size_t before = settled_resident_bytes();
    faiss::IndexScalarQuantizer index(static_cast<int>(d.dimension), faiss::ScalarQuantizer::QT_8bit, faiss::METRIC_INNER_PRODUCT);
    const auto start = Clock::now();
    const std::size_t training = std::min<std::size_t>(d.size, 100000);
    index.train(static_cast<faiss::Index::idx_t>(training), d.gallery.data());
    index.add(static_cast<faiss::Index::idx_t>(d.size), d.gallery.data());
    row.build_seconds = seconds_since(start);
    row.adds_per_second = d.size / row.build_seconds;
    row.bytes_per_template = (static_cast<double>(settled_resident_bytes()) - static_cast<double>(before)) / d.size;
    float distances[10];
    faiss::Index::idx_t labels[10];
    measure_queries(d, truth, options.exact_budget_seconds,
                    [&](const float* q, std::vector<std::int64_t>& ids) {
                        index.search(1, q, 10, distances, labels);
                        for (auto label : labels)
                            if (label >= 0) ids.push_back(label);
                    },
                    row);
    return row;
}

Row bench_faiss_flat(const Dataset& d, const std::vector<std::vector<std::int64_t>>& truth, int threads,
                     const Options& options, const std::string& label) {
    Row row{label, d.size, "omp=" + std::to_string(threads)};
    omp_set_num_threads(threads);
    const std::size_t before = settled_resident_bytes();
    faiss::IndexFlatIP index(static_cast<faiss::Index::idx_t>(d.dimension));
    const auto start = Clock::now();
    index.add(static_cast<faiss::Index::idx_t>(d.size), d.gallery.data());
    row.build_seconds = seconds_since(start);
    row.adds_per_second = d.size / row.build_seconds;
    row.bytes_per_template = (static_cast<double>(settled_resident_bytes()) - static_cast<double>(before)) / d.size;
    float distances[10];
    faiss::Index::idx_t labels[10];
    measure_queries(d, truth, options.exact_budget_seconds,
                    [&](const float* q, std::vector<std::int64_t>& ids) {
                        index.search(1, q, 10, distances, labels);
                        for (auto label : labels)
                            if (label >= 0) ids.push_back(label);
                    },
                    row);
    return row;
}

Row bench_faiss_hnsw(const Dataset& d, const std::vector<std::vector<std::int64_t>>& truth, int ef_construction,
                     const Options& options, unsigned threads) {
    Row row{"FAISS HNSWFlat", d.size, "efC=" + std::to_string(ef_construction)};
    omp_set_num_threads(static_cast<int>(threads));
    const std::size_t before = settled_resident_bytes();
    faiss::IndexHNSWFlat index(static_cast<int>(d.dimension), options.m, faiss::METRIC_INNER_PRODUCT);
    index.hnsw.efConstruction = ef_construction;
    index.hnsw.efSearch = options.ef_search;
    const auto start = Clock::now();
    index.add(static_cast<faiss::Index::idx_t>(d.size), d.gallery.data());
    row.build_seconds = seconds_since(start);
    row.adds_per_second = d.size / row.build_seconds;
    row.bytes_per_template = (static_cast<double>(settled_resident_bytes()) - static_cast<double>(before)) / d.size;
    float distances[10];
    faiss::Index::idx_t labels[10];
    measure_queries(d, truth, 1e9,
                    [&](const float* q, std::vector<std::int64_t>& ids) {
                        index.search(1, q, 10, distances, labels);
                        for (auto label : labels)
                            if (label >= 0) ids.push_back(label);
                    },
                    row);
    const std::size_t extra = d.extra.size() / d.dimension;
    const auto incremental_start = Clock::now();
    for (std::size_t i = 0; i < extra; ++i) index.add(1, d.extra.data() + i * d.dimension);
    if (extra) row.incremental_adds_per_second = extra / seconds_since(incremental_start);
    return row;
}

// FAISS HNSWFlat build seconds per add, measured at some size (a build on the first rows when
// nothing was measured yet), projected to n with HNSW's ~log(n) growth per insertion.
struct BuildRate {
    std::size_t n = 0;
    double seconds = 0;
};

double projected_faiss_hnsw_seconds(const Dataset& d, int ef_construction, const Options& options, BuildRate& rate) {
    if (rate.n == 0 || rate.n > d.size) {
        rate.n = std::min<std::size_t>(d.size, 2000);
        faiss::IndexHNSWFlat probe(static_cast<int>(d.dimension), options.m, faiss::METRIC_INNER_PRODUCT);
        probe.hnsw.efConstruction = ef_construction;
        const auto start = Clock::now();
        probe.add(static_cast<faiss::Index::idx_t>(rate.n), d.gallery.data());
        rate.seconds = seconds_since(start);
    }
    const double log_ratio = std::log(static_cast<double>(d.size)) / std::log(static_cast<double>(std::max<std::size_t>(rate.n, 2)));
    return rate.seconds * (static_cast<double>(d.size) / rate.n) * std::max(1.0, log_ratio);
}

void run_size(std::size_t n, const Options& options, unsigned threads, BuildRate& faiss_hnsw_rate) {
    const int ef_construction = n >= options.large_from ? options.large_ef_construction : options.ef_construction;
    std::fprintf(g_out, "\n== N = %zu (dimension %zu, %zu queries, clusters of %zu, M=%d efConstruction=%d efSearch=%d, "
                "%u threads, dot kernel %s)\n",
                n, options.dimension, options.queries, kClusterSize, options.m, ef_construction, options.ef_search, threads,
                std::string(gallery::dot_kernel_name()).c_str());
    if (ef_construction != options.ef_construction && !options.skip_hnsw)
        std::fprintf(g_out, "   efConstruction reduced from %d to %d for N >= %zu (both HNSW builds), to keep the build feasible on "
                    "this machine: see --large-ef-construction\n",
                    options.ef_construction, ef_construction, options.large_from);
    std::fflush(g_out);
    auto start = Clock::now();
    const Dataset d = make_dataset(n, options.dimension, options.queries, options.incremental_adds, options.seed, threads);
    std::fprintf(stderr, "  data %.1f s", seconds_since(start));
    start = Clock::now();
    const auto truth = exact_truth(d, 10, threads);
    std::fprintf(stderr, ", ground truth %.1f s\n", seconds_since(start));

    std::vector<Row> rows;
    std::string skipped_note = options.skip_hnsw ? "HNSW rows skipped (--no-hnsw)\n" : "";
    auto run = [&](auto&& bench) {
        rows.push_back(bench());
        const Row& r = rows.back();
        std::fprintf(stderr, "  %-22s build %.1f s, p50 %.3f ms, recall@1 %.4f\n", r.method.c_str(), r.build_seconds, r.p50_ms,
                     r.recall1);
    };
    const std::string all_threads = std::to_string(threads) + "T";
    auto named = [&](const char* json_method) { rows.back().json_method = json_method; };
    if (!options.skip_float_exact) {
        run([&] { return bench_ours_exact(d, truth, 1, options, "ours exact 1T"); });
        if (threads > 1) run([&] { return bench_ours_exact(d, truth, static_cast<int>(threads), options, "ours exact " + all_threads); });
        named("exact");
    }
    run([&] { return bench_ours_compact(d, truth, static_cast<int>(threads), options, "ours exact_compact " + all_threads); });
    named("exact_compact");
    if (!options.skip_hnsw) {
        run([&] { return bench_ours_hnsw(d, truth, ef_construction, options); });
        named("hnsw");
    }
    if (!options.skip_faiss) {
        run([&] { return bench_faiss_flat(d, truth, 1, options, "FAISS FlatIP 1T"); });
        if (threads > 1) run([&] { return bench_faiss_flat(d, truth, static_cast<int>(threads), options, "FAISS FlatIP " + all_threads); });
        named("IndexFlatIP");
        run([&] { return bench_faiss_sq8(d, truth, static_cast<int>(threads), options); });
        named("IndexScalarQuantizer_8bit");
    }
    if (!options.skip_faiss && !options.skip_hnsw) {
        omp_set_num_threads(static_cast<int>(threads));
        const double projected = projected_faiss_hnsw_seconds(d, ef_construction, options, faiss_hnsw_rate);
        if (projected <= options.faiss_hnsw_budget_seconds) {
            run([&] { return bench_faiss_hnsw(d, truth, ef_construction, options, threads); });
            named("IndexHNSWFlat");
            faiss_hnsw_rate = {n, rows.back().build_seconds};
        } else {
            skipped_note = "FAISS HNSWFlat skipped at N=" + std::to_string(n) + ": its build is projected at " +
                           std::to_string(static_cast<long>(projected)) + " s > --faiss-hnsw-budget " +
                           std::to_string(static_cast<long>(options.faiss_hnsw_budget_seconds)) + " s\n";
        }
    }
    print_rows(rows);
    g_all_rows.insert(g_all_rows.end(), rows.begin(), rows.end());
    std::fprintf(g_out, "%s", skipped_note.c_str());
    auto find = [&](const std::string& method) -> const Row* {
        for (const Row& r : rows)
            if (r.method == method) return &r;
        return nullptr;
    };
    std::fprintf(g_out, "ours / FAISS (x > 1: ours larger; for adds/s larger is better, for latency and memory smaller is):\n");
    print_ratio("exact 1T vs FlatIP 1T", find("ours exact 1T"), find("FAISS FlatIP 1T"));
    print_ratio(("exact " + all_threads + " vs FlatIP " + all_threads).c_str(), find("ours exact " + all_threads),
                find("FAISS FlatIP " + all_threads));
    print_ratio("exact_compact vs SQ8", find("ours exact_compact " + all_threads), find("FAISS SQ8"));
    const Row* ours_hnsw = find(options.hnsw_floats ? "ours HNSW (floats)" : "ours HNSW (int8)");
    const Row* faiss_hnsw = find("FAISS HNSWFlat");
    print_ratio("HNSW vs HNSWFlat", ours_hnsw, faiss_hnsw);
    if (ours_hnsw && faiss_hnsw && faiss_hnsw->incremental_adds_per_second > 0)
        std::fprintf(g_out, "  %-34s incremental adds/s x%.2f  build time x%.2f\n", "HNSW vs HNSWFlat, one by one / bulk",
                    ours_hnsw->incremental_adds_per_second / faiss_hnsw->incremental_adds_per_second,
                    ours_hnsw->build_seconds / faiss_hnsw->build_seconds);
    std::fflush(g_out);
}

// --- LFW: real templates ---------------------------------------------------------------------

struct LfwTemplates {
    std::size_t images = 0, failed = 0, dimension = 0;
    std::vector<std::string> identity;  // per template
    std::vector<float> vectors;         // templates x dimension
};

constexpr const char* kCacheMagic = "faceproof-lfw-templates/1";

std::optional<LfwTemplates> read_cache(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::string magic;
    LfwTemplates t;
    std::size_t count = 0;
    in >> magic >> t.images >> t.failed >> count >> t.dimension;
    in.ignore(1);
    if (magic != kCacheMagic) throw Error(ErrorCode::invalid_argument, "--lfw-cache: not a template cache: " + file.string());
    t.identity.resize(count);
    t.vectors.resize(count * t.dimension);
    for (std::size_t i = 0; i < count; ++i) {
        std::getline(in, t.identity[i]);
        in.read(reinterpret_cast<char*>(t.vectors.data() + i * t.dimension), static_cast<std::streamsize>(t.dimension * sizeof(float)));
    }
    if (!in) throw Error(ErrorCode::invalid_argument, "--lfw-cache: truncated: " + file.string());
    return t;
}

void write_cache(const fs::path& file, const LfwTemplates& t) {
    std::ofstream out(file, std::ios::binary);
    out << kCacheMagic << ' ' << t.images << ' ' << t.failed << ' ' << t.identity.size() << ' ' << t.dimension << '\n';
    for (std::size_t i = 0; i < t.identity.size(); ++i) {
        out << t.identity[i] << '\n';
        out.write(reinterpret_cast<const char*>(t.vectors.data() + i * t.dimension), static_cast<std::streamsize>(t.dimension * sizeof(float)));
    }
    if (!out) throw Error(ErrorCode::io_error, "--lfw-cache: cannot write " + file.string());
}

// Templates of every ROOT/Name/*.jpg with the default engine options (as `faceproof eval lfw`).
LfwTemplates compute_lfw_templates(const Options& options, unsigned threads) {
    std::vector<fs::path> images;
    std::vector<std::string> names;
    std::vector<fs::path> people;
    for (const auto& entry : fs::directory_iterator(*options.lfw_root))
        if (entry.is_directory()) people.push_back(entry.path());
    std::sort(people.begin(), people.end());
    for (const fs::path& person : people) {
        std::vector<fs::path> files;
        for (const auto& entry : fs::directory_iterator(person))
            if (entry.is_regular_file() && entry.path().extension() == ".jpg") files.push_back(entry.path());
        std::sort(files.begin(), files.end());
        for (auto& f : files) {
            images.push_back(std::move(f));
            names.push_back(person.filename().string());
        }
    }
    if (images.empty()) throw Error(ErrorCode::invalid_argument, "--lfw: no ROOT/Name/*.jpg under " + options.lfw_root->string());
    const auto models = ModelSet::open(resolve_model_dir(options.models_dir));
    const auto start = Clock::now();
    const auto items = compute_templates(models, EngineOptions{}, images, static_cast<int>(threads),
                                         [&](std::size_t done, std::size_t total) {
                                             if (done % 250 == 0 || done == total)
                                                 std::fprintf(stderr, "\r  LFW templates %zu/%zu (%.0f s)", done, total, seconds_since(start));
                                         });
    std::fprintf(stderr, "\n");
    LfwTemplates t;
    t.images = images.size();
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (!items[i].face_template) {
            ++t.failed;
            continue;
        }
        const auto& values = items[i].face_template->values;
        if (t.dimension == 0) t.dimension = values.size();
        t.identity.push_back(names[i]);
        t.vectors.insert(t.vectors.end(), values.begin(), values.end());
    }
    return t;
}

void run_lfw_recall(const Options& options, unsigned threads) {
    std::optional<LfwTemplates> cached;
    if (options.lfw_cache) cached = read_cache(*options.lfw_cache);
    const LfwTemplates t = cached ? std::move(*cached) : compute_lfw_templates(options, threads);
    if (options.lfw_cache && !cached) write_cache(*options.lfw_cache, t);
    const std::size_t n = t.identity.size();
    if (n < 2) throw Error(ErrorCode::invalid_argument, "--lfw: fewer than 2 templates");

    std::map<std::string, std::size_t> per_identity;
    for (const auto& name : t.identity) ++per_identity[name];

    // Exact; HNSW grown one add at a time from the first template (the incremental path); HNSW built
    // in bulk from the matrix at the last add.
    auto make = [&](std::size_t approximate_from) {
        GalleryIndexOptions o;
        o.dimension = t.dimension;
        o.approximate_from = approximate_from;
        o.hnsw_m = options.m;
        o.hnsw_ef_construction = options.ef_construction;
        o.hnsw_ef_search = options.ef_search;
        o.threads = static_cast<int>(threads);
        auto index = GalleryIndex::create(o);
        for (std::size_t i = 0; i < n; ++i) index->add(static_cast<std::int64_t>(i), {t.vectors.data() + i * t.dimension, t.dimension});
        return index;
    };
    const auto exact = make(0);
    const auto incremental = make(1);
    const auto bulk = make(n);

    // Best hit other than the query itself.
    auto best_other = [&](const GalleryIndex& index, std::size_t q) -> std::int64_t {
        for (const IndexHit& hit : index.search({t.vectors.data() + q * t.dimension, t.dimension}, 2))
            if (hit.id != static_cast<std::int64_t>(q)) return hit.id;
        return -1;
    };
    std::size_t queries = 0, agree_incremental = 0, agree_bulk = 0, rank1_exact = 0, rank1_incremental = 0, rank1_bulk = 0;
    for (std::size_t q = 0; q < n; ++q) {
        if (per_identity[t.identity[q]] < 2) continue;
        ++queries;
        const std::int64_t e = best_other(*exact, q), i = best_other(*incremental, q), b = best_other(*bulk, q);
        agree_incremental += i == e;
        agree_bulk += b == e;
        auto same = [&](std::int64_t hit) { return hit >= 0 && t.identity[static_cast<std::size_t>(hit)] == t.identity[q]; };
        rank1_exact += same(e);
        rank1_incremental += same(i);
        rank1_bulk += same(b);
    }
    const auto share = [&](std::size_t count) { return queries ? static_cast<double>(count) / queries : 0.0; };
    std::fprintf(g_out, "\n== LFW %s: %zu images, %zu templates (%zu without one), %zu identities, %zu queries "
                "(images of identities with >= 2 templates, each against all other templates)\n",
                options.lfw_root ? options.lfw_root->string().c_str() : "(cache)", t.images, n, t.failed, per_identity.size(),
                queries);
    std::fprintf(g_out, "%-28s %10s %14s\n", "method", "recall@1", "rank-1 ident.");
    std::fprintf(g_out, "%-28s %10.4f %14.4f\n", "exact", 1.0, share(rank1_exact));
    std::fprintf(g_out, "%-28s %10.4f %14.4f\n", "HNSW, grown add by add", share(agree_incremental), share(rank1_incremental));
    std::fprintf(g_out, "%-28s %10.4f %14.4f\n", "HNSW, built in bulk", share(agree_bulk), share(rank1_bulk));
    std::fprintf(g_out, "(recall@1: HNSW's best other hit is exact's; rank-1 ident.: the best other hit is the same person; "
                "M=%d efConstruction=%d efSearch=%d)\n",
                options.m, options.ef_construction, options.ef_search);
    std::fflush(g_out);
}

// --- JSON ------------------------------------------------------------------------------------

void print_json(const std::vector<Row>& rows) {
    auto number = [](double v, const char* format) {
        char text[64];
        std::snprintf(text, sizeof text, format, v);
        return std::string(text);
    };
    std::string out = "[\n";
    bool first = true;
    for (const Row& r : rows) {
        if (r.json_method.empty()) continue;
        if (!first) out += ",\n";
        first = false;
        out += "  {\"size\": " + std::to_string(r.n) + ", \"method\": \"" + r.json_method + "\"" +
               ", \"p50_ms\": " + number(r.p50_ms, "%.4f") + ", \"p99_ms\": " + number(r.p99_ms, "%.4f") +
               ", \"recall_at_1\": " + number(r.recall1, "%.4f") + ", \"recall_at_10\": " + number(r.recall10, "%.4f") +
               ", \"build_s\": " + number(r.build_seconds, "%.3f") +
               ", \"startup_s\": " + (r.startup_seconds >= 0 ? number(r.startup_seconds, "%.3f") : std::string("null")) +
               ", \"bytes_per_template\": " + number(r.bytes_per_template, "%.0f") +
               ", \"queries\": " + std::to_string(r.measured_queries) + ", \"params\": \"" + r.parameters + "\"" +
               ", \"fetched_per_query\": " + (r.fetched_per_query >= 0 ? number(r.fetched_per_query, "%.2f") : std::string("null")) + "}";
    }
    out += "\n]\n";
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
}

// --- arguments -------------------------------------------------------------------------------

const char* const kUsage = R"(faceproof_gallery_bench: GalleryIndex (exact, exact_compact, HNSW over int8) against FAISS (FlatIP, SQ8, HNSWFlat)
  --sizes LIST                 gallery sizes, comma-separated (default 10000,100000,1000000)
  --queries N                  queries per size (default 1000)
  --dimension D                vector dimension (default 512)
  --threads T                  threads for builds and the multi-threaded exact rows (default: all cores)
  --m M                        HNSW degree (default 16)
  --ef-construction E          HNSW build beam (default 200)
  --ef-search E                HNSW search beam (default 128)
  --large-from N               sizes >= N use --large-ef-construction (default 1000000)
  --large-ef-construction E    build beam for those sizes (default 40: 200 would take too long on 2 cores)
  --exact-budget S             stop timing an exact method after S seconds of queries (default 20; >= 30 queries)
  --faiss-hnsw-budget S        skip FAISS HNSWFlat where its build is projected to take longer (default 300)
  --incremental-adds N         vectors added one by one to each built HNSW graph (default 1000)
  --seed S                     data seed (default 1)
  --no-faiss                   only our index
  --no-float-exact             skip the float scan rows (at 5M its 10 GB matrix and the data do not fit in 23 GB together)
  --hnsw-floats                the graph over floats, floats kept (the index before int8 codes), for comparison
  --json                       print a JSON array (one object per size and method) on stdout, the tables on stderr
  --no-hnsw                    only the exact methods (HNSW builds of 1M x 512 take long on few cores)
  --lfw ROOT                   also: HNSW vs exact recall on real templates of ROOT/Name/*.jpg
  --lfw-cache FILE             read the LFW templates from FILE if present, else compute and write them
  --models DIR                 model directory for --lfw (default: as the faceproof CLI resolves it)
)";

std::size_t parse_count(const std::string& flag, const std::string& text) {
    std::size_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size())
        throw Error(ErrorCode::invalid_argument, flag + ": not a non-negative integer: " + text);
    return value;
}

Options parse_arguments(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string flag = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw Error(ErrorCode::invalid_argument, flag + " needs a value");
            return argv[++i];
        };
        if (flag == "--help" || flag == "-h") {
            std::cout << kUsage;
            std::exit(0);
        } else if (flag == "--sizes") {
            o.sizes.clear();
            std::stringstream list(value());
            for (std::string item; std::getline(list, item, ',');) o.sizes.push_back(parse_count(flag, item));
        } else if (flag == "--queries") {
            o.queries = parse_count(flag, value());
        } else if (flag == "--dimension") {
            o.dimension = parse_count(flag, value());
        } else if (flag == "--threads") {
            o.threads = static_cast<int>(parse_count(flag, value()));
        } else if (flag == "--m") {
            o.m = static_cast<int>(parse_count(flag, value()));
        } else if (flag == "--ef-construction") {
            o.ef_construction = static_cast<int>(parse_count(flag, value()));
        } else if (flag == "--ef-search") {
            o.ef_search = static_cast<int>(parse_count(flag, value()));
        } else if (flag == "--large-from") {
            o.large_from = parse_count(flag, value());
        } else if (flag == "--large-ef-construction") {
            o.large_ef_construction = static_cast<int>(parse_count(flag, value()));
        } else if (flag == "--exact-budget") {
            o.exact_budget_seconds = static_cast<double>(parse_count(flag, value()));
        } else if (flag == "--faiss-hnsw-budget") {
            o.faiss_hnsw_budget_seconds = static_cast<double>(parse_count(flag, value()));
        } else if (flag == "--incremental-adds") {
            o.incremental_adds = parse_count(flag, value());
        } else if (flag == "--seed") {
            o.seed = parse_count(flag, value());
        } else if (flag == "--no-faiss") {
            o.skip_faiss = true;
        } else if (flag == "--no-float-exact") {
            o.skip_float_exact = true;
        } else if (flag == "--hnsw-floats") {
            o.hnsw_floats = true;
        } else if (flag == "--json") {
            o.json = true;
        } else if (flag == "--no-hnsw") {
            o.skip_hnsw = true;
        } else if (flag == "--lfw") {
            o.lfw_root = value();
        } else if (flag == "--lfw-cache") {
            o.lfw_cache = value();
        } else if (flag == "--models") {
            o.models_dir = value();
        } else {
            throw Error(ErrorCode::invalid_argument, "unknown flag " + flag + " (see --help)");
        }
    }
    if (o.queries == 0 || o.dimension == 0) throw Error(ErrorCode::invalid_argument, "--queries and --dimension must be > 0");
    for (std::size_t n : o.sizes)
        if (n < 10) throw Error(ErrorCode::invalid_argument, "--sizes: each size must be >= 10");
    return o;
}

}  // namespace

int run(int argc, char** argv) {
    try {
        mallopt(M_MMAP_THRESHOLD, 1 << 20);  // see settled_resident_bytes()
        const Options options = parse_arguments(argc, argv);
        if (options.json) g_out = stderr;
        const unsigned threads =
            options.threads > 0 ? static_cast<unsigned>(options.threads) : std::max(1u, std::thread::hardware_concurrency());
        const auto start = Clock::now();
        BuildRate faiss_hnsw_rate;
        for (std::size_t n : options.sizes) run_size(n, options, threads, faiss_hnsw_rate);
        if (options.lfw_root) run_lfw_recall(options, threads);
        std::fprintf(g_out, "\ntotal %.0f s\n", seconds_since(start));
        if (options.json) print_json(g_all_rows);
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "faceproof_gallery_bench: " << e.what() << '\n';
        return 1;
    }
}

}  // namespace faceproof::bench

int main(int argc, char** argv) { return faceproof::bench::run(argc, argv); }
