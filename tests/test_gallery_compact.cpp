// Tests of the compact (int8) gallery index: the code kernels against the portable one, the
// quantisation error bound, compact searches identical to the float scan (hits and similarities, bit
// for bit; with the floats kept and fetched from a source), the graph over codes, and index images
// (save / restore, refusal of damaged or foreign images, removed vectors absent from later images).
// Seeded random vectors; the last test also real LFW templates (skipped without ../shared).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "eval/template_batch.hpp"
#include "faceproof/error.hpp"
#include "faceproof/gallery_index.hpp"
#include "gallery/int8_codes.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
namespace gal = faceproof::gallery;
namespace fs = std::filesystem;
using fp::ErrorCode;
using fp::GalleryIndex;
using fp::GalleryIndexOptions;
using fp::IndexHit;
using fptest::expect_error_code;
using Vector = std::vector<float>;

namespace {

using fptest::normalised;

Vector noisy_unit(std::mt19937_64& rng, const Vector* base, double noise, std::size_t dimension) {
    std::normal_distribution<double> normal(0.0, noise / std::sqrt(static_cast<double>(dimension)));
    std::vector<double> v(dimension);
    for (std::size_t i = 0; i < dimension; ++i) v[i] = (base ? (*base)[i] : 0.0) + normal(rng);
    return normalised(v);
}

// Clusters of look-alikes (members ~0.5 similar), some members stored twice under two ids (equal
// similarities: the tie order is part of what must be identical).
std::vector<Vector> clustered(std::mt19937_64& rng, std::size_t count, std::size_t dimension) {
    std::vector<Vector> out;
    while (out.size() < count) {
        const Vector centre = noisy_unit(rng, nullptr, 1.0, dimension);
        for (int m = 0; m < 6 && out.size() < count; ++m) {
            out.push_back(noisy_unit(rng, &centre, 1.0, dimension));
            if (m == 0 && out.size() < count) out.push_back(out.back());
        }
    }
    return out;
}

GalleryIndexOptions options(std::size_t dimension, bool compact, bool keep_floats, std::size_t approximate_from = 0,
                            int threads = 0) {
    GalleryIndexOptions o;
    o.dimension = dimension;
    o.compact = compact;
    o.keep_full_precision = keep_floats;
    o.approximate_from = approximate_from;
    o.threads = threads;
    return o;
}

// A FullPrecisionSource over a vector of vectors (id = position), counting what it was asked for.
struct CountingSource {
    const std::vector<Vector>* vectors = nullptr;
    std::size_t fetched = 0;
    fp::FullPrecisionSource function() {
        return [this](std::span<const std::int64_t> ids, std::span<float> out) {
            const std::size_t dimension = vectors->front().size();
            if (out.size() != ids.size() * dimension) throw std::logic_error("source: wrong output size");
            for (std::size_t i = 0; i < ids.size(); ++i)
                std::copy(vectors->at(static_cast<std::size_t>(ids[i])).begin(), vectors->at(static_cast<std::size_t>(ids[i])).end(),
                          out.begin() + static_cast<std::ptrdiff_t>(i * dimension));
            fetched += ids.size();
        };
    }
};

void expect_identical(const std::vector<IndexHit>& actual, const std::vector<IndexHit>& expected, const std::string& context) {
    ASSERT_EQ(actual.size(), expected.size()) << context;
    for (std::size_t i = 0; i < actual.size(); ++i) {
        EXPECT_EQ(actual[i].id, expected[i].id) << context << " position " << i;
        EXPECT_EQ(actual[i].similarity, expected[i].similarity) << context << " position " << i;
    }
}

// Restores the best kernel when a test forced another.
struct KernelGuard {
    ~KernelGuard() { gal::force_code_kernel(0); }
};

}  // namespace

// --- kernels and bound ----------------------------------------------------------------------------

TEST(GalleryCodes, EveryKernelEqualsThePortableOne) {
    KernelGuard guard;
    std::mt19937_64 rng(5);
    std::uniform_int_distribution<int> code(-127, 127);
    for (const std::size_t n : {1u, 7u, 64u, 100u, 128u, 512u, 515u}) {
        std::vector<std::int8_t> a(n), b(n);
        for (int trial = 0; trial < 50; ++trial) {
            for (std::size_t i = 0; i < n; ++i) {
                // Extremes too: the products and sums an 8- or 16-bit accumulator would overflow.
                a[i] = static_cast<std::int8_t>(trial < 2 ? (trial == 0 ? 127 : -127) : code(rng));
                b[i] = static_cast<std::int8_t>(trial < 2 ? -127 : code(rng));
            }
            const std::int32_t expected = gal::dot_codes_portable(a.data(), b.data(), n);
            std::int64_t reference = 0;
            for (std::size_t i = 0; i < n; ++i) reference += static_cast<std::int64_t>(a[i]) * b[i];
            ASSERT_EQ(expected, reference);
            for (int which = 0; which <= 2; ++which) {
                const std::string name(gal::force_code_kernel(which));
                EXPECT_EQ(gal::dot_codes(a.data(), b.data(), n), expected) << name << " n=" << n;
                // The scan kernel, with the probe's offset form and the row's stored code sum.
                std::vector<float> x(n);
                for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<float>(b[i]) / 127.0f;
                std::vector<std::int8_t> row(n);
                const gal::CodeInfo info = gal::quantise(x.data(), n, row.data());
                std::vector<float> q(n);
                for (std::size_t i = 0; i < n; ++i) q[i] = static_cast<float>(a[i]);
                const gal::QuantisedProbe probe = gal::quantise_probe(q.data(), n);
                std::int32_t scanned = 0;
                gal::dot_code_rows(probe, row.data(), &info, 1, n, &scanned);
                EXPECT_EQ(scanned, gal::dot_codes_portable(probe.codes.data(), row.data(), n)) << name << " n=" << n;
            }
        }
    }
}

TEST(GalleryCodes, ErrorBoundHoldsForUnitAndScaledProbes) {
    std::mt19937_64 rng(6);
    constexpr std::size_t kDimension = 512;
    double largest_ratio = 0;
    for (int trial = 0; trial < 2000; ++trial) {
        const Vector x = noisy_unit(rng, nullptr, 1.0, kDimension);
        Vector q = noisy_unit(rng, trial % 2 ? &x : nullptr, 0.7, kDimension);
        if (trial % 3 == 0)
            for (float& v : q) v *= 3.5f;  // probes are not required to be unit vectors
        std::vector<std::int8_t> codes(kDimension);
        const gal::CodeInfo info = gal::quantise(x.data(), kDimension, codes.data());
        const gal::QuantisedProbe probe = gal::quantise_probe(q.data(), kDimension);
        double exact = 0;
        for (std::size_t i = 0; i < kDimension; ++i) exact += static_cast<double>(q[i]) * x[i];
        const double approximate = static_cast<double>(probe.scale) * info.scale *
                                   gal::dot_codes_portable(probe.codes.data(), codes.data(), kDimension);
        const double bound = static_cast<double>(probe.norm) * info.residual_norm +
                             static_cast<double>(probe.residual_norm) * info.code_norm;
        ASSERT_LE(std::abs(exact - approximate), bound) << "trial " << trial;
        largest_ratio = std::max(largest_ratio, std::abs(exact - approximate) / bound);
    }
    // The bound is worst-case (Cauchy-Schwarz) but not vacuous: a looser one would re-rank more.
    EXPECT_GT(largest_ratio, 0.01);
}

// --- compact search equals the float scan -----------------------------------------------------

TEST(GalleryCompact, IdenticalHitsAndSimilaritiesToTheFloatScan) {
    KernelGuard guard;
    constexpr std::size_t kDimension = 512, kGallery = 12000;
    std::mt19937_64 rng(7);
    const std::vector<Vector> gallery = clustered(rng, kGallery, kDimension);
    CountingSource source{&gallery};
    const fp::FullPrecisionSource fetch = source.function();
    for (const int threads : {1, 2}) {
        auto floats = GalleryIndex::create(options(kDimension, false, true, 0, threads));
        auto compact = GalleryIndex::create(options(kDimension, true, true, 0, threads));
        auto codes_only = GalleryIndex::create(options(kDimension, true, false, 0, threads));
        for (std::size_t i = 0; i < kGallery; ++i) {
            floats->add(static_cast<std::int64_t>(i), gallery[i]);
            compact->add(static_cast<std::int64_t>(i), gallery[i]);
            codes_only->add(static_cast<std::int64_t>(i), gallery[i]);
        }
        EXPECT_STREQ(compact->method(), "exact_compact");
        EXPECT_STREQ(floats->method(), "exact");
        std::size_t searches = 0;
        source.fetched = 0;
        for (int q = 0; q < 60; ++q) {
            const std::size_t from = rng() % kGallery;
            // Near a member (a duplicate check), exactly a stored vector (ties of equal scores), or far.
            const Vector probe = q % 3 == 0 ? gallery[from] : noisy_unit(rng, q % 3 == 1 ? &gallery[from] : nullptr, 0.75, kDimension);
            for (const std::size_t k : {1u, 2u, 10u, 50u}) {
                for (const float min_similarity : {-1.0f, 0.3f, 0.6f}) {
                    const auto expected = floats->search(probe, k, min_similarity);
                    const std::string context = "threads " + std::to_string(threads) + " query " + std::to_string(q) +
                                                " k " + std::to_string(k) + " min " + std::to_string(min_similarity);
                    for (int which = 0; which <= 2; ++which) {
                        gal::force_code_kernel(which);
                        expect_identical(compact->search(probe, k, min_similarity), expected, context + " kept");
                        expect_identical(codes_only->search(probe, k, min_similarity, &fetch), expected, context + " fetched");
                        ++searches;
                    }
                    gal::force_code_kernel(0);
                }
            }
        }
        // The bound is tight enough that a search fetches a few vectors, not the gallery.
        EXPECT_LT(source.fetched, searches * kGallery / 50) << source.fetched << " vectors fetched in " << searches << " searches";
    }
}

TEST(GalleryCompact, CodesOnlyNeedsASourceAndPassesItsFailureOn) {
    constexpr std::size_t kDimension = 64;
    std::mt19937_64 rng(8);
    const std::vector<Vector> gallery = clustered(rng, 200, kDimension);
    auto index = GalleryIndex::create(options(kDimension, true, false));
    for (std::size_t i = 0; i < gallery.size(); ++i) index->add(static_cast<std::int64_t>(i), gallery[i]);
    expect_error_code(ErrorCode::invalid_argument, [&] { index->search(gallery[0], 3); });
    const fp::FullPrecisionSource empty;
    expect_error_code(ErrorCode::invalid_argument, [&] { index->search(gallery[0], 3, -1.0f, &empty); });
    const fp::FullPrecisionSource failing = [](std::span<const std::int64_t>, std::span<float>) {
        throw fp::Error(ErrorCode::store_error, "the store is gone");
    };
    expect_error_code(ErrorCode::store_error, [&] { index->search(gallery[0], 3, -1.0f, &failing); });
    expect_error_code(ErrorCode::invalid_argument, [&] { GalleryIndex::create(options(kDimension, false, false)); });
}

TEST(GalleryCompact, GraphOverCodesReturnsExactSimilaritiesAndFindsTheSource) {
    constexpr std::size_t kDimension = 512, kGallery = 6000;
    std::mt19937_64 rng(9);
    const std::vector<Vector> gallery = clustered(rng, kGallery, kDimension);
    CountingSource source{&gallery};
    const fp::FullPrecisionSource fetch = source.function();
    // One thread: a deterministic graph (a parallel build's depends on the scheduling).
    auto graph = GalleryIndex::create(options(kDimension, true, false, 2000, 1));
    auto exact = GalleryIndex::create(options(kDimension, false, true));
    for (std::size_t i = 0; i < kGallery; ++i) {
        graph->add(static_cast<std::int64_t>(i), gallery[i]);
        exact->add(static_cast<std::int64_t>(i), gallery[i]);
    }
    ASSERT_STREQ(graph->method(), "hnsw");
    std::size_t agree = 0;
    constexpr int kQueries = 300;
    for (int q = 0; q < kQueries; ++q) {
        const Vector probe = noisy_unit(rng, &gallery[rng() % kGallery], 0.75, kDimension);
        const auto truth = exact->search(probe, 5);
        const auto found = graph->search(probe, 5, -1.0f, &fetch);
        ASSERT_FALSE(found.empty());
        for (const IndexHit& hit : found) {
            // Every similarity is the float one, whichever rows the graph offered.
            const auto same = std::find_if(truth.begin(), truth.end(), [&](const IndexHit& t) { return t.id == hit.id; });
            if (same != truth.end()) {
                EXPECT_EQ(hit.similarity, same->similarity);
            }
        }
        agree += found[0].id == truth[0].id && found[0].similarity == truth[0].similarity;
    }
    EXPECT_GE(agree, static_cast<std::size_t>(kQueries * 0.98)) << agree << " of " << kQueries;
}

TEST(GalleryCompact, BudgetDecidesTheMethod) {
    constexpr std::size_t kDimension = 128;
    std::mt19937_64 rng(10);
    const std::vector<Vector> gallery = clustered(rng, 3000, kDimension);
    GalleryIndexOptions generous = options(kDimension, true, true, 1000), tight = generous;
    generous.exact_budget_ms = 1e6;  // a scan of 3,000 rows never takes 1,000 s
    tight.exact_budget_ms = 1e-9;    // nor less than a picosecond
    auto scan = GalleryIndex::create(generous), graph = GalleryIndex::create(tight);
    for (std::size_t i = 0; i < gallery.size(); ++i) {
        scan->add(static_cast<std::int64_t>(i), gallery[i]);
        graph->add(static_cast<std::int64_t>(i), gallery[i]);
    }
    EXPECT_STREQ(scan->method(), "exact_compact");
    EXPECT_FALSE(scan->approximate());
    EXPECT_STREQ(graph->method(), "hnsw");
    EXPECT_TRUE(graph->approximate());
    GalleryIndexOptions negative = generous;
    negative.exact_budget_ms = -1;
    expect_error_code(ErrorCode::invalid_argument, [&] { GalleryIndex::create(negative); });
}

// --- images -----------------------------------------------------------------------------------------

namespace {

struct ImageCase {
    bool compact, keep_floats;
    std::size_t approximate_from;
};

std::string describe(const ImageCase& c) {
    return std::string(c.compact ? "compact" : "floats") + (c.keep_floats ? "+floats" : "") +
           (c.approximate_from ? " graph" : " scan");
}

}  // namespace

TEST(GalleryImage, RestoredIndexSearchesAndChangesLikeTheOriginal) {
    constexpr std::size_t kDimension = 96, kGallery = 1500;
    std::mt19937_64 rng(11);
    std::vector<Vector> gallery = clustered(rng, kGallery + 100, kDimension);
    CountingSource source{&gallery};
    const fp::FullPrecisionSource fetch = source.function();
    for (const ImageCase c : {ImageCase{true, true, 0}, ImageCase{true, false, 0}, ImageCase{true, false, 500},
                              ImageCase{false, true, 500}, ImageCase{true, true, 500}}) {
        const GalleryIndexOptions o = options(kDimension, c.compact, c.keep_floats, c.approximate_from);
        auto original = GalleryIndex::create(o);
        for (std::size_t i = 0; i < kGallery; ++i) original->add(static_cast<std::int64_t>(i), gallery[i]);
        for (std::int64_t id = 0; id < 200; id += 3) original->remove(id);  // freed graph nodes too
        const fp::IndexImage image = original->save();
        auto restored = GalleryIndex::restore(o, image.bytes);
        EXPECT_EQ(restored->size(), original->size()) << describe(c);
        EXPECT_STREQ(restored->method(), original->method()) << describe(c);
        auto ids = restored->ids(), original_ids = original->ids();
        std::sort(ids.begin(), ids.end());
        std::sort(original_ids.begin(), original_ids.end());
        EXPECT_EQ(ids, original_ids) << describe(c);
        for (int q = 0; q < 100; ++q) {
            const Vector probe = noisy_unit(rng, &gallery[rng() % kGallery], 0.75, kDimension);
            expect_identical(restored->search(probe, 10, -1.0f, &fetch), original->search(probe, 10, -1.0f, &fetch),
                             describe(c) + " query " + std::to_string(q));
        }
        // Both go on changing alike: re-adds into freed nodes, new ids, removals.
        for (std::int64_t id = 0; id < 200; id += 3) {
            gallery[static_cast<std::size_t>(id)] = gallery[kGallery + static_cast<std::size_t>(id) % 100];
            original->add(id, gallery[static_cast<std::size_t>(id)]);
            restored->add(id, gallery[static_cast<std::size_t>(id)]);
        }
        for (std::int64_t id = 1; id < 100; id += 5) {
            original->remove(id);
            restored->remove(id);
        }
        for (int q = 0; q < 50; ++q) {
            const Vector probe = noisy_unit(rng, &gallery[rng() % kGallery], 0.75, kDimension);
            expect_identical(restored->search(probe, 10, -1.0f, &fetch), original->search(probe, 10, -1.0f, &fetch),
                             describe(c) + " after changes, query " + std::to_string(q));
        }
    }
}

TEST(GalleryImage, DamagedOrForeignImagesAreRefused) {
    constexpr std::size_t kDimension = 64;
    std::mt19937_64 rng(12);
    const std::vector<Vector> gallery = clustered(rng, 600, kDimension);
    const GalleryIndexOptions o = options(kDimension, true, true, 300);
    auto index = GalleryIndex::create(o);
    for (std::size_t i = 0; i < gallery.size(); ++i) index->add(static_cast<std::int64_t>(i), gallery[i]);
    const std::vector<std::uint8_t> image = index->save().bytes;
    ASSERT_NO_THROW(GalleryIndex::restore(o, image));
    // Every truncation (sampled) and one byte too many.
    for (std::size_t length = 0; length < image.size(); length += 1 + image.size() / 997) {
        const std::span<const std::uint8_t> prefix(image.data(), length);
        expect_error_code(ErrorCode::invalid_argument, [&] { GalleryIndex::restore(o, prefix); });
    }
    std::vector<std::uint8_t> longer = image;
    longer.push_back(0);
    expect_error_code(ErrorCode::invalid_argument, [&] { GalleryIndex::restore(o, longer); });
    std::vector<std::uint8_t> not_an_image = image;
    not_an_image[0] ^= 0xFF;
    expect_error_code(ErrorCode::invalid_argument, [&] { GalleryIndex::restore(o, not_an_image); });
    // Options the image was not made with.
    GalleryIndexOptions other = o;
    other.dimension = 128;
    expect_error_code(ErrorCode::invalid_argument, [&] { GalleryIndex::restore(other, image); });
    other = o;
    other.keep_full_precision = false;
    expect_error_code(ErrorCode::invalid_argument, [&] { GalleryIndex::restore(other, image); });
    other = o;
    other.hnsw_m = 24;
    expect_error_code(ErrorCode::invalid_argument, [&] { GalleryIndex::restore(other, image); });
}

TEST(GalleryImage, ARemovedVectorLeavesLaterImages) {
    constexpr std::size_t kDimension = 128;
    std::mt19937_64 rng(13);
    const std::vector<Vector> gallery = clustered(rng, 800, kDimension);
    for (const ImageCase c : {ImageCase{true, true, 0}, ImageCase{true, true, 300}, ImageCase{false, true, 300},
                              ImageCase{true, false, 300}}) {
        auto index = GalleryIndex::create(options(kDimension, c.compact, c.keep_floats, c.approximate_from));
        // Distinct vectors only (the clustered set stores some twice).
        std::vector<std::size_t> kept;
        for (std::size_t i = 0; i < gallery.size(); ++i)
            if (i == 0 || gallery[i] != gallery[i - 1]) kept.push_back(i);
        for (const std::size_t i : kept) index->add(static_cast<std::int64_t>(i), gallery[i]);
        const std::size_t victim = kept[kept.size() / 3];
        const Vector& removed = gallery[victim];
        std::vector<std::int8_t> removed_codes(kDimension);
        gal::quantise(removed.data(), kDimension, removed_codes.data());
        auto holds = [](const std::vector<std::uint8_t>& bytes, const void* data, std::size_t size) {
            const auto* p = static_cast<const std::uint8_t*>(data);
            return std::search(bytes.begin(), bytes.end(), p, p + size) != bytes.end();
        };
        const std::vector<std::uint8_t> before = index->save().bytes;
        if (c.keep_floats) {
            EXPECT_TRUE(holds(before, removed.data(), kDimension * sizeof(float))) << describe(c);  // the check can fail
        }
        if (c.compact) {
            EXPECT_TRUE(holds(before, removed_codes.data(), kDimension)) << describe(c);
        }
        ASSERT_TRUE(index->remove(static_cast<std::int64_t>(victim)));
        const std::vector<std::uint8_t> after = index->save().bytes;
        EXPECT_FALSE(holds(after, removed.data(), kDimension * sizeof(float))) << describe(c);
        EXPECT_FALSE(holds(after, removed_codes.data(), kDimension)) << describe(c);
    }
}

// --- real templates -----------------------------------------------------------------------------------

// LFW templates (the first 400 images in name order): every template as a probe against all,
// compact (floats kept, and fetched) against the float scan: identical hits and similarities.
TEST(GalleryCompactLfw, IdenticalToTheFloatScanOnRealTemplates) {
    const fs::path root = fptest::lfw_dev_dir();
    if (!fs::exists(root)) GTEST_SKIP() << "LFW dev set not found at " << root << "; this test needs ../shared/data/lfw-dev";
    if (const auto problem = fptest::engine_prerequisites_problem(); !problem.empty()) FAIL() << problem;
    std::vector<fs::path> images;
    std::vector<fs::path> identities;
    for (const auto& entry : fs::directory_iterator(root))
        if (entry.is_directory()) identities.push_back(entry.path());
    std::sort(identities.begin(), identities.end());
    for (const auto& identity : identities) {
        std::vector<fs::path> files;
        for (const auto& f : fs::directory_iterator(identity))
            if (f.path().extension() == ".jpg") files.push_back(f.path());
        std::sort(files.begin(), files.end());
        for (const auto& f : files)
            if (images.size() < 400) images.push_back(f);
    }
    const std::vector<fp::BatchItem> items = fp::compute_templates(fptest::shared_models(), {}, images, 0);
    std::vector<Vector> templates;
    for (const auto& item : items)
        if (item.face_template) templates.push_back(item.face_template->values);
    ASSERT_GE(templates.size(), 300u);
    const std::size_t dimension = templates.front().size();
    CountingSource source{&templates};
    const fp::FullPrecisionSource fetch = source.function();
    auto floats = GalleryIndex::create(options(dimension, false, true));
    auto compact = GalleryIndex::create(options(dimension, true, true));
    auto codes_only = GalleryIndex::create(options(dimension, true, false));
    for (std::size_t i = 0; i < templates.size(); ++i) {
        floats->add(static_cast<std::int64_t>(i), templates[i]);
        compact->add(static_cast<std::int64_t>(i), templates[i]);
        codes_only->add(static_cast<std::int64_t>(i), templates[i]);
    }
    for (std::size_t i = 0; i < templates.size(); ++i) {
        for (const float min_similarity : {-1.0f, 0.25f}) {
            const auto expected = floats->search(templates[i], 5, min_similarity);
            const std::string context = "template " + std::to_string(i) + " min " + std::to_string(min_similarity);
            expect_identical(compact->search(templates[i], 5, min_similarity), expected, context);
            expect_identical(codes_only->search(templates[i], 5, min_similarity, &fetch), expected, context);
        }
    }
}
