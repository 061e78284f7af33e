// Tests of the in-memory 1:N gallery index: exact search against a brute-force reference, incremental
// add/remove/re-add against a reference model (exact and HNSW modes), HNSW recall, concurrent use,
// validation. No models needed; all data is seeded random vectors.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "faceproof/error.hpp"
#include "faceproof/gallery_index.hpp"
#include "gallery/dot_product.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
using fp::ErrorCode;
using fp::GalleryIndex;
using fp::GalleryIndexOptions;
using fp::IndexHit;
using fptest::expect_error_code;
using Vector = std::vector<float>;

namespace {

using fptest::normalised;

Vector random_unit(std::mt19937_64& rng, std::size_t dimension) {
    std::normal_distribution<double> normal;
    std::vector<double> v(dimension);
    for (double& x : v) x = normal(rng);
    return normalised(v);
}

// base + noise of expected norm `noise`, renormalised: cos(base, result) ~ 1 / sqrt(1 + noise^2).
Vector noisy_copy(std::mt19937_64& rng, const Vector& base, double noise) {
    std::normal_distribution<double> normal(0.0, noise / std::sqrt(static_cast<double>(base.size())));
    std::vector<double> v(base.size());
    for (std::size_t i = 0; i < base.size(); ++i) v[i] = base[i] + normal(rng);
    return normalised(v);
}

double reference_dot(const Vector& a, const Vector& b) {
    double sum = 0;
    for (std::size_t i = 0; i < a.size(); ++i) sum += static_cast<double>(a[i]) * b[i];
    return sum;
}

struct ReferenceHit {
    std::int64_t id;
    double similarity;
};

// The contract's order, written out here independently of the implementation.
bool ranked_in_order(const IndexHit& before, const IndexHit& after) {
    return before.similarity > after.similarity || (before.similarity == after.similarity && before.id < after.id);
}

// Brute force over a reference model: every vector scored in double, sorted by the index's order.
std::vector<ReferenceHit> brute_force(const std::map<std::int64_t, Vector>& gallery, const Vector& probe, std::size_t k,
                                      double min_similarity) {
    std::vector<ReferenceHit> all;
    for (const auto& [id, v] : gallery) {
        const double s = reference_dot(probe, v);
        if (s >= min_similarity) all.push_back({id, s});
    }
    std::sort(all.begin(), all.end(), [](const ReferenceHit& a, const ReferenceHit& b) {
        return a.similarity > b.similarity || (a.similarity == b.similarity && a.id < b.id);
    });
    if (all.size() > k) all.resize(k);
    return all;
}

// A min_similarity at or above `wanted` in a gap of the gallery's scores at least 2e-5 wide (its
// middle), so float rounding cannot decide whether a hit passes it.
float clear_threshold(const std::map<std::int64_t, Vector>& gallery, const Vector& probe, float wanted) {
    std::vector<double> scores{wanted};
    for (const auto& [id, v] : gallery)
        if (reference_dot(probe, v) > wanted) scores.push_back(reference_dot(probe, v));
    std::sort(scores.begin(), scores.end());
    scores.push_back(scores.back() + 1.0);
    for (std::size_t i = 0;; ++i)
        if (scores[i + 1] - scores[i] > 2e-5) return static_cast<float>((scores[i] + scores[i + 1]) / 2);
}

// Float and double scores differ by rounding (~1e-7): a hit may swap places with a reference hit
// whose score is within this much, nothing more.
constexpr double kScoreTolerance = 2e-5;

// The index's answer equals the brute force one, up to rounding: same length, same scores per
// position, and the id at each position has (in double) a score within tolerance of the reference's.
void expect_same_ranking(const std::vector<IndexHit>& actual, const std::vector<ReferenceHit>& expected,
                         const std::map<std::int64_t, Vector>& gallery, const Vector& probe, const std::string& context) {
    ASSERT_EQ(actual.size(), expected.size()) << context;
    std::set<std::int64_t> seen;
    for (std::size_t i = 0; i < actual.size(); ++i) {
        EXPECT_TRUE(seen.insert(actual[i].id).second) << context << ": id " << actual[i].id << " returned twice";
        EXPECT_NEAR(actual[i].similarity, expected[i].similarity, kScoreTolerance) << context << " position " << i;
        const auto v = gallery.find(actual[i].id);
        ASSERT_NE(v, gallery.end()) << context << ": id " << actual[i].id << " is not in the gallery";
        EXPECT_NEAR(reference_dot(probe, v->second), expected[i].similarity, kScoreTolerance)
            << context << " position " << i << ": id " << actual[i].id << " instead of " << expected[i].id;
        if (i > 0) {
            EXPECT_TRUE(ranked_in_order(actual[i - 1], actual[i]))
                << context << ": positions " << i - 1 << " and " << i << " out of order";
        }
    }
}

GalleryIndexOptions options_for(std::size_t dimension, std::size_t approximate_from, int threads = 0) {
    GalleryIndexOptions options;
    options.dimension = dimension;
    options.approximate_from = approximate_from;
    options.threads = threads;
    return options;
}

}  // namespace

// --- kernels ------------------------------------------------------------------------------------

TEST(GalleryIndexKernel, DispatchedDotEqualsPortableAndDouble) {
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<float> uniform(-1.f, 1.f);
    // Lengths around the 32-lane blocks, including tails and zero.
    for (std::size_t n : {0u, 1u, 7u, 31u, 32u, 33u, 100u, 512u, 515u}) {
        Vector a(n), b(n);
        for (std::size_t i = 0; i < n; ++i) a[i] = uniform(rng), b[i] = uniform(rng);
        const double expected = reference_dot(a, b);
        EXPECT_NEAR(fp::gallery::dot(a.data(), b.data(), n), expected, 1e-4) << "n=" << n << " kernel " << fp::gallery::dot_kernel_name();
        EXPECT_NEAR(fp::gallery::dot_portable(a.data(), b.data(), n), expected, 1e-4) << "n=" << n;
        // dot_rows scores each row as dot() does.
        Vector rows(3 * n);
        for (float& x : rows) x = uniform(rng);
        float out[3];
        fp::gallery::dot_rows(a.data(), rows.data(), 3, n, out);
        for (std::size_t r = 0; r < 3; ++r) EXPECT_EQ(out[r], fp::gallery::dot(a.data(), rows.data() + r * n, n));
    }
}

// --- exact search -------------------------------------------------------------------------------

TEST(GalleryIndexExact, EqualsBruteForceOnRandomUnitVectors) {
    constexpr std::size_t kDimension = 128;
    std::mt19937_64 rng(1);
    // 9000 rows crosses the threshold above which the scan is split across threads.
    for (std::size_t size : {0u, 1u, 7u, 300u, 9000u}) {
        for (int threads : {1, 0}) {
            auto index = GalleryIndex::create(options_for(kDimension, 0, threads));
            std::map<std::int64_t, Vector> gallery;
            std::uniform_int_distribution<std::int64_t> any_id(-1'000'000'000, 1'000'000'000);
            while (gallery.size() < size) {
                const std::int64_t id = any_id(rng);
                if (gallery.contains(id)) continue;
                gallery[id] = random_unit(rng, kDimension);
                index->add(id, gallery[id]);
            }
            ASSERT_EQ(index->size(), size);
            EXPECT_FALSE(index->approximate());
            for (int q = 0; q < 4; ++q) {
                // Half the probes near a gallery vector (a clear best hit), half unrelated.
                Vector probe = random_unit(rng, kDimension);
                if (q % 2 == 0 && !gallery.empty()) probe = noisy_copy(rng, std::next(gallery.begin(), q % gallery.size())->second, 0.5);
                for (std::size_t k : {std::size_t{1}, std::size_t{10}, size, size + 5}) {
                    for (float min_similarity : {-1.0f, clear_threshold(gallery, probe, 0.05f)}) {
                        const std::string context = "size " + std::to_string(size) + " threads " + std::to_string(threads) +
                                                    " k " + std::to_string(k) + " min " + std::to_string(min_similarity);
                        expect_same_ranking(index->search(probe, k, min_similarity), brute_force(gallery, probe, k, min_similarity),
                                            gallery, probe, context);
                    }
                }
            }
        }
    }
}

TEST(GalleryIndexExact, EqualSimilaritiesRankLowerIdFirstWhateverTheInsertionOrder) {
    constexpr std::size_t kDimension = 64;
    std::mt19937_64 rng(2);
    const Vector twin = random_unit(rng, kDimension);
    // Enough rows for the parallel scan, so the twins land in different threads' ranges.
    for (int threads : {1, 2}) {
        auto index = GalleryIndex::create(options_for(kDimension, 0, threads));
        std::vector<std::int64_t> twin_ids;
        for (std::int64_t id = 20000; id > 0; --id) {  // descending ids: slot order is the reverse of id order
            if (id % 2500 == 7) {
                index->add(id, twin);
                twin_ids.push_back(id);
            } else {
                index->add(id, random_unit(rng, kDimension));
            }
        }
        std::sort(twin_ids.begin(), twin_ids.end());
        const auto hits = index->search(twin, twin_ids.size());
        ASSERT_EQ(hits.size(), twin_ids.size());
        for (std::size_t i = 0; i < hits.size(); ++i) {
            EXPECT_EQ(hits[i].id, twin_ids[i]) << "threads " << threads << " position " << i;
            EXPECT_EQ(hits[i].similarity, hits[0].similarity);
        }
        // Cut inside the tie: the lowest ids win.
        const auto top3 = index->search(twin, 3);
        ASSERT_EQ(top3.size(), 3u);
        for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(top3[i].id, twin_ids[i]);
    }
}

TEST(GalleryIndexExact, MinSimilarityKeepsOnlyHitsAtOrAboveIt) {
    constexpr std::size_t kDimension = 32;
    std::mt19937_64 rng(3);
    auto index = GalleryIndex::create(options_for(kDimension, 0));
    const Vector base = random_unit(rng, kDimension);
    index->add(1, base);
    index->add(2, noisy_copy(rng, base, 0.3));
    index->add(3, random_unit(rng, kDimension));
    const auto all = index->search(base, 10);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].id, 1);
    EXPECT_NEAR(all[0].similarity, 1.0, 1e-5);
    // At exactly the second hit's similarity it is kept; just above, it is not.
    EXPECT_EQ(index->search(base, 10, all[1].similarity).size(), 2u);
    EXPECT_EQ(index->search(base, 10, std::nextafter(all[1].similarity, 2.0f)).size(), 1u);
    EXPECT_TRUE(index->search(base, 10, 1.5f).empty());
    EXPECT_TRUE(index->search(base, 0).empty());
}

// --- incremental consistency ---------------------------------------------------------------------

namespace {

// A random sequence of adds (new ids and re-adds of removed ids), removals (present and absent ids)
// and searches, checked against a std::map after every step. The phases grow the gallery past
// approximate_from, churn it, shrink it below (and free over a quarter of the graph's nodes) and
// grow it again.
void run_incremental_sequence(std::size_t approximate_from, std::uint64_t seed, bool compact = true) {
    constexpr std::size_t kDimension = 48;
    std::mt19937_64 rng(seed);
    GalleryIndexOptions options = options_for(kDimension, approximate_from);
    options.compact = compact;
    auto index = GalleryIndex::create(options);
    std::map<std::int64_t, Vector> model;
    std::vector<std::int64_t> removed;
    std::int64_t next_id = 1;
    std::size_t searches = 0, approximate_searches = 0, top1_misses = 0;

    struct Phase {
        std::size_t steps;
        double add_probability;
    };
    const Phase phases[] = {{700, 0.9}, {600, 0.5}, {900, 0.15}, {700, 0.85}};
    std::uniform_real_distribution<double> unit;
    for (const Phase& phase : phases) {
        for (std::size_t step = 0; step < phase.steps; ++step) {
            const double roll = unit(rng);
            if (roll < phase.add_probability || model.empty()) {
                std::int64_t id;
                if (!removed.empty() && unit(rng) < 0.3) {  // re-add a removed id, with a new vector
                    const std::size_t pick = rng() % removed.size();
                    id = removed[pick];
                    removed.erase(removed.begin() + static_cast<std::ptrdiff_t>(pick));
                } else {
                    id = next_id++;
                }
                model[id] = random_unit(rng, kDimension);
                index->add(id, model[id]);
            } else if (unit(rng) < 0.95) {
                auto it = std::next(model.begin(), static_cast<std::ptrdiff_t>(rng() % model.size()));
                const std::int64_t id = it->first;
                model.erase(it);
                removed.push_back(id);
                ASSERT_TRUE(index->remove(id)) << "id " << id;
                ASSERT_FALSE(index->remove(id)) << "second removal of " << id;
            } else {
                ASSERT_FALSE(index->remove(next_id + 1000)) << "never added";
            }
            ASSERT_EQ(index->size(), model.size());
            ASSERT_EQ(index->approximate(), approximate_from > 0 && model.size() >= approximate_from);

            if (step % 7 != 0 || model.empty()) continue;
            // Probe near a random live vector: its id must come first (exact: always).
            const auto target = std::next(model.begin(), static_cast<std::ptrdiff_t>(rng() % model.size()));
            ASSERT_TRUE(index->contains(target->first));
            const Vector probe = noisy_copy(rng, target->second, 0.3);
            const std::size_t k = 1 + rng() % 12;
            const auto hits = index->search(probe, k);
            const auto expected = brute_force(model, probe, k, -1.0);
            ++searches;
            if (!index->approximate()) {
                expect_same_ranking(hits, expected, model, probe, "exact step " + std::to_string(step));
                continue;
            }
            ++approximate_searches;
            // HNSW may miss hits, but never returns a removed id, a wrong score or a wrong order.
            ASSERT_FALSE(hits.empty());
            ASSERT_LE(hits.size(), k);
            for (std::size_t i = 0; i < hits.size(); ++i) {
                const auto v = model.find(hits[i].id);
                ASSERT_NE(v, model.end()) << "search returned id " << hits[i].id << ", not in the gallery";
                EXPECT_NEAR(hits[i].similarity, reference_dot(probe, v->second), kScoreTolerance);
                if (i > 0) {
                    EXPECT_TRUE(ranked_in_order(hits[i - 1], hits[i]));
                }
            }
            top1_misses += hits[0].id != expected[0].id;
        }
    }
    EXPECT_GT(searches, 300u);
    if (approximate_from > 0) {
        EXPECT_GT(approximate_searches, 100u) << "the sequence must exercise the graph";
        EXPECT_LE(top1_misses, approximate_searches / 50) << top1_misses << " top-1 misses in " << approximate_searches;
    }
    // Everything removed can be found again after a final re-add.
    for (std::int64_t id : removed) {
        model[id] = random_unit(rng, kDimension);
        index->add(id, model[id]);
        ASSERT_EQ(index->search(model[id], 1).at(0).id, id);
    }
    EXPECT_EQ(index->size(), model.size());
}

}  // namespace

TEST(GalleryIndexIncremental, ExactModeMatchesReferenceModel) { run_incremental_sequence(0, 21); }
TEST(GalleryIndexIncremental, FloatOnlyExactModeMatchesReferenceModel) { run_incremental_sequence(0, 23, false); }
TEST(GalleryIndexIncremental, FloatOnlyApproximateModeMatchesReferenceModel) { run_incremental_sequence(200, 24, false); }

TEST(GalleryIndexIncremental, ApproximateModeMatchesReferenceModel) { run_incremental_sequence(200, 22); }

TEST(GalleryIndexIncremental, RemovedVectorsAreNeverReturned) {
    constexpr std::size_t kDimension = 32;
    for (std::size_t approximate_from : {std::size_t{0}, std::size_t{50}}) {
        std::mt19937_64 rng(23);
        auto index = GalleryIndex::create(options_for(kDimension, approximate_from));
        std::vector<Vector> vectors;
        for (std::int64_t id = 0; id < 400; ++id) {
            vectors.push_back(random_unit(rng, kDimension));
            index->add(id, vectors.back());
        }
        // Remove every other id, then search with each removed vector itself.
        for (std::int64_t id = 0; id < 400; id += 2) ASSERT_TRUE(index->remove(id));
        for (std::int64_t id = 0; id < 400; id += 2) {
            EXPECT_FALSE(index->contains(id));
            for (const IndexHit& hit : index->search(vectors[static_cast<std::size_t>(id)], 20))
                EXPECT_EQ(hit.id % 2, 1) << "removed id " << hit.id << " returned (approximate_from " << approximate_from << ")";
        }
        // Re-added with its old vector, an id is its own best hit again.
        index->add(10, vectors[10]);
        const auto hits = index->search(vectors[10], 1);
        ASSERT_EQ(hits.size(), 1u);
        EXPECT_EQ(hits[0].id, 10);
        EXPECT_NEAR(hits[0].similarity, 1.0, 1e-5);
    }
}

// --- HNSW recall ---------------------------------------------------------------------------------

TEST(GalleryIndexApproximate, RecallAtOneOnClusteredTemplates) {
    constexpr std::size_t kDimension = 512, kGallery = 5000, kQueries = 500, kClusterSize = 5;
    std::mt19937_64 rng(31);
    // Clusters of look-alikes (members ~0.5 similar to each other), queries noisy copies of one
    // member (~0.8 similar to it), as templates of the same face are.
    std::vector<Vector> gallery;
    while (gallery.size() < kGallery) {
        const Vector centre = random_unit(rng, kDimension);
        for (std::size_t m = 0; m < kClusterSize && gallery.size() < kGallery; ++m) gallery.push_back(noisy_copy(rng, centre, 1.0));
    }
    // The graph is built in bulk at 2,000 vectors, the rest are added to it one by one.
    auto approximate = GalleryIndex::create(options_for(kDimension, 2000));
    auto exact = GalleryIndex::create(options_for(kDimension, 0));
    for (std::size_t i = 0; i < kGallery; ++i) {
        approximate->add(static_cast<std::int64_t>(i), gallery[i]);
        exact->add(static_cast<std::int64_t>(i), gallery[i]);
    }
    ASSERT_TRUE(approximate->approximate());
    std::size_t agree = 0, source_first = 0;
    for (std::size_t q = 0; q < kQueries; ++q) {
        const std::size_t source = rng() % kGallery;
        const Vector probe = noisy_copy(rng, gallery[source], 0.75);
        const auto truth = exact->search(probe, 1);
        const auto found = approximate->search(probe, 1);
        ASSERT_EQ(truth.size(), 1u);
        ASSERT_EQ(found.size(), 1u);
        source_first += truth[0].id == static_cast<std::int64_t>(source);
        if (found[0].id == truth[0].id) {
            ++agree;
            // Re-scored from the matrix: the very same similarity as the exact scan.
            EXPECT_EQ(found[0].similarity, truth[0].similarity);
        }
    }
    const double recall = static_cast<double>(agree) / kQueries;
    std::printf("[          ] HNSW recall@1 vs exact: %.4f (%zu queries; exact finds the source first in %zu)\n", recall,
                kQueries, source_first);
    EXPECT_GE(recall, 0.95);
    EXPECT_GE(source_first, kQueries * 95 / 100) << "the data set must make the true neighbour clear";
}

// --- concurrency ---------------------------------------------------------------------------------

namespace {

// Readers search for vectors that are never removed while a writer adds and removes others (random,
// so never closer): every answer must put the stable id first with its exact similarity.
void run_concurrent_readers_and_writer(std::size_t approximate_from) {
    constexpr std::size_t kDimension = 64, kStable = 1500;
    constexpr auto kDuration = std::chrono::milliseconds(1500);
    std::mt19937_64 rng(41);
    auto index = GalleryIndex::create(options_for(kDimension, approximate_from, 2));
    std::vector<Vector> stable;
    for (std::size_t i = 0; i < kStable; ++i) {
        stable.push_back(random_unit(rng, kDimension));
        index->add(static_cast<std::int64_t>(i), stable.back());
    }
    std::vector<Vector> churn;
    for (int i = 0; i < 500; ++i) churn.push_back(random_unit(rng, kDimension));

    std::atomic<bool> stop{false};
    std::atomic<std::size_t> searches{0}, wrong{0}, misses{0}, writes{0};
    auto reader = [&](std::uint64_t seed) {
        std::mt19937_64 local(seed);
        while (!stop.load()) {
            const std::size_t target = local() % kStable;
            const auto hits = index->search(stable[target], 5);
            ++searches;
            if (hits.empty() || hits[0].id != static_cast<std::int64_t>(target)) {
                ++misses;
                continue;
            }
            const bool exact_score = std::abs(hits[0].similarity - reference_dot(stable[target], stable[target])) <= kScoreTolerance;
            bool ordered = true;
            for (std::size_t i = 1; i < hits.size(); ++i) ordered = ordered && ranked_in_order(hits[i - 1], hits[i]);
            if (!exact_score || !ordered || !index->contains(static_cast<std::int64_t>(target))) ++wrong;
        }
    };
    auto writer = [&] {
        std::mt19937_64 local(43);
        std::vector<std::int64_t> live;
        std::int64_t next_id = 1'000'000;
        while (!stop.load()) {
            if (live.size() < 400 && (live.empty() || local() % 3 != 0)) {
                const std::int64_t id = next_id++;
                index->add(id, churn[static_cast<std::size_t>(id) % churn.size()]);
                live.push_back(id);
            } else {
                const std::size_t pick = local() % live.size();
                if (!index->remove(live[pick])) ++wrong;
                live[pick] = live.back();
                live.pop_back();
            }
            ++writes;
        }
    };
    std::vector<std::thread> threads;
    threads.emplace_back(writer);
    for (std::uint64_t r = 0; r < 3; ++r) threads.emplace_back(reader, 100 + r);
    std::this_thread::sleep_for(kDuration);
    stop = true;
    for (auto& t : threads) t.join();

    std::printf("[          ] %zu searches, %zu adds/removes in %lld ms (approximate_from %zu)\n", searches.load(), writes.load(),
                static_cast<long long>(kDuration.count()), approximate_from);
    // Neither side may starve the other.
    EXPECT_GT(searches.load(), 100u);
    EXPECT_GT(writes.load(), 100u);
    EXPECT_EQ(wrong.load(), 0u);
    if (approximate_from == 0)
        EXPECT_EQ(misses.load(), 0u);
    else
        EXPECT_LE(misses.load(), searches.load() / 100) << misses.load() << " of " << searches.load();
    EXPECT_GE(index->size(), kStable);
}

}  // namespace

TEST(GalleryIndexConcurrency, ExactSearchesDuringAddsAndRemoves) { run_concurrent_readers_and_writer(0); }

TEST(GalleryIndexConcurrency, ApproximateSearchesDuringAddsAndRemoves) { run_concurrent_readers_and_writer(1000); }

// --- validation ----------------------------------------------------------------------------------

TEST(GalleryIndexValidation, RejectsBadVectorsAndDuplicateIds) {
    constexpr std::size_t kDimension = 16;
    std::mt19937_64 rng(51);
    auto index = GalleryIndex::create(options_for(kDimension, 0));
    const Vector good = random_unit(rng, kDimension);
    index->add(7, good);

    expect_error_code(ErrorCode::invalid_argument, [&] { index->add(1, Vector(kDimension - 1, 0.25f)); });
    expect_error_code(ErrorCode::invalid_argument, [&] { index->add(1, Vector(kDimension + 1, 0.25f)); });
    expect_error_code(ErrorCode::invalid_argument, [&] { index->add(1, Vector{}); });
    Vector bad = good;
    bad[3] = std::numeric_limits<float>::quiet_NaN();
    expect_error_code(ErrorCode::invalid_argument, [&] { index->add(1, bad); });
    bad[3] = std::numeric_limits<float>::infinity();
    expect_error_code(ErrorCode::invalid_argument, [&] { index->add(1, bad); });
    expect_error_code(ErrorCode::invalid_argument, [&] { index->add(1, Vector(kDimension, 0.0f)); });
    Vector scaled = good;
    for (float& x : scaled) x *= 1.002f;  // norm 1.002: outside 1e-3
    expect_error_code(ErrorCode::invalid_argument, [&] { index->add(1, scaled); });
    Vector nearly = good;
    for (float& x : nearly) x *= 1.0005f;  // norm 1.0005: accepted
    index->add(2, nearly);

    expect_error_code(ErrorCode::conflict, [&] { index->add(7, good); });
    expect_error_code(ErrorCode::conflict, [&] { index->add(2, good); });
    // Failed adds leave the index as it was.
    EXPECT_EQ(index->size(), 2u);
    EXPECT_FALSE(index->contains(1));
    EXPECT_TRUE(index->contains(7));

    expect_error_code(ErrorCode::invalid_argument, [&] { index->search(Vector(kDimension + 1, 0.f), 1); });
    bad = good;
    bad[0] = std::numeric_limits<float>::quiet_NaN();
    expect_error_code(ErrorCode::invalid_argument, [&] { index->search(bad, 1); });
    EXPECT_FALSE(index->remove(12345));
}

TEST(GalleryIndexValidation, RejectsImpossibleOptions) {
    GalleryIndexOptions zero_dimension;
    zero_dimension.dimension = 0;
    expect_error_code(ErrorCode::invalid_argument, [&] { GalleryIndex::create(zero_dimension); });
    for (int GalleryIndexOptions::*field : {&GalleryIndexOptions::hnsw_m, &GalleryIndexOptions::hnsw_ef_construction,
                                            &GalleryIndexOptions::hnsw_ef_search, &GalleryIndexOptions::threads}) {
        GalleryIndexOptions negative;
        negative.*field = -1;
        expect_error_code(ErrorCode::invalid_argument, [&] { GalleryIndex::create(negative); });
    }
    GalleryIndexOptions defaults;
    auto index = GalleryIndex::create(defaults);
    EXPECT_EQ(index->size(), 0u);
    EXPECT_FALSE(index->approximate());
    EXPECT_TRUE(index->search(Vector(512, 0.f), 5).empty());
}
