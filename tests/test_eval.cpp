// Tests for the evaluation module: LFW pairs parsing, accuracy / FMR / TAR statistics, ROC plot.
#include "faceproof/error.hpp"
#include "eval/lfw_pairs.hpp"
#include "eval/roc.hpp"

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

namespace fs = std::filesystem;
using namespace faceproof;

namespace {

// Private scratch directory per test, removed afterwards.
struct TempDir {
    fs::path path;
    TempDir() {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        path = fs::temp_directory_path() /
               ("faceproof_eval_" + std::to_string(::getpid()) + "_" + info->name());
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    fs::path write(const std::string& name, const std::string& content) const {
        std::ofstream(path / name, std::ios::binary) << content;
        return path / name;
    }
};

// Runs f and returns the message of the faceproof::Error it throws with the expected code.
template <class F>
std::string expect_error(ErrorCode code, F&& f) {
    try {
        f();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), code) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "expected faceproof::Error(" << to_string(code) << ")";
    return {};
}

double share_at_or_above(const std::vector<double>& v, double t) {
    return static_cast<double>(std::count_if(v.begin(), v.end(), [&](double s) { return s >= t; })) /
           static_cast<double>(v.size());
}

}  // namespace

// ---- LFW pairs -------------------------------------------------------------------------------

TEST(EvalPairs, ParsesSingleSetForm) {
    TempDir dir;
    const auto file = dir.write("pairs.txt", "2\nAlice 1 2\nBob\t3\t4\nAlice 1 Carol 2\nBob 2 Dave 15\n");
    const LfwPairs p = parse_lfw_pairs(file);
    EXPECT_EQ(p.folds, 1);
    ASSERT_EQ(p.pairs.size(), 4u);
    EXPECT_TRUE(p.pairs[0].same);
    EXPECT_EQ(p.pairs[0].name_a, "Alice");
    EXPECT_EQ(p.pairs[0].name_b, "Alice");
    EXPECT_EQ(p.pairs[0].index_a, 1);
    EXPECT_EQ(p.pairs[0].index_b, 2);
    EXPECT_TRUE(p.pairs[1].same);
    EXPECT_EQ(p.pairs[1].index_b, 4);
    EXPECT_FALSE(p.pairs[3].same);
    EXPECT_EQ(p.pairs[3].name_a, "Bob");
    EXPECT_EQ(p.pairs[3].index_a, 2);
    EXPECT_EQ(p.pairs[3].name_b, "Dave");
    EXPECT_EQ(p.pairs[3].index_b, 15);
    for (const auto& pair : p.pairs) EXPECT_EQ(pair.fold, 0);
}

TEST(EvalPairs, ParsesFoldedFormWithCrlfAndTrailingBlankLines) {
    TempDir dir;
    const auto file = dir.write("pairs.txt",
                                "2 1\r\nA 1 2\r\nA 1 B 2\r\nC 1 3\r\nC 2 D 4\r\n\r\n  \n");
    const LfwPairs p = parse_lfw_pairs(file);
    EXPECT_EQ(p.folds, 2);
    ASSERT_EQ(p.pairs.size(), 4u);
    const bool same[] = {true, false, true, false};
    const int fold[] = {0, 0, 1, 1};
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(p.pairs[i].same, same[i]) << i;
        EXPECT_EQ(p.pairs[i].fold, fold[i]) << i;
    }
    EXPECT_EQ(p.pairs[3].name_a, "C");
    EXPECT_EQ(p.pairs[3].name_b, "D");
    EXPECT_EQ(p.pairs[3].index_b, 4);
}

TEST(EvalPairs, MalformedFilesThrowInvalidArgumentWithLineNumber) {
    struct Case {
        const char* content;
        const char* where;  // expected "file:line"
    };
    const Case cases[] = {
        {"", ":1:"},                                      // no header
        {"x\nA 1 2\nA 1 B 2\n", ":1:"},                   // non-numeric header
        {"0\n", ":1:"},                                   // empty set
        {"1 2 3\nA 1 2\nA 1 B 2\n", ":1:"},               // three header fields
        {"2\nA 1 2\nB 1 2\nA 1 C 2\n", ":4:"},            // one mismatched line missing
        {"1\nA 1 2\nA 1 B 2\nC 1 D 2\n", ":4:"},          // one line too many
        {"1\nA 1 B 2\nA 1 B 2\n", ":2:"},                 // mismatched line among matched
        {"1\nA 1 2\nA 1 2\n", ":3:"},                     // matched line among mismatched
        {"1\nA 1x 2\nA 1 B 2\n", ":2:"},                  // index with junk
        {"1\nA 0 2\nA 1 B 2\n", ":2:"},                   // LFW indices start at 1
        {"1\nA 1 2\n..  1 B 2\n", ":3:"},                 // name escaping the image root
        {"2\nA 1 2\n\nA 1 B 2\nC 1 D 2\n", ":3:"},        // blank line inside the data
    };
    TempDir dir;
    for (const auto& c : cases) {
        const auto file = dir.write("bad.txt", c.content);
        const std::string msg = expect_error(ErrorCode::invalid_argument, [&] { parse_lfw_pairs(file); });
        EXPECT_NE(msg.find(file.string() + c.where), std::string::npos)
            << "content: " << c.content << "\n" << msg;
    }
}

TEST(EvalPairs, MissingFileIsIoError) {
    TempDir dir;
    expect_error(ErrorCode::io_error, [&] { parse_lfw_pairs(dir.path / "absent.txt"); });
    expect_error(ErrorCode::io_error, [&] { parse_lfw_pairs(dir.path); });
}

TEST(EvalPairs, ParsesRealDevTestFile) {
    const fs::path file = FACEPROOF_SOURCE_DIR "/../shared/data/lfw-dev/pairsDevTest.txt";
    if (!fs::exists(file)) GTEST_SKIP() << "LFW dev pairs not present at " << file;
    const LfwPairs p = parse_lfw_pairs(file);
    EXPECT_EQ(p.folds, 1);
    ASSERT_EQ(p.pairs.size(), 1000u);
    EXPECT_EQ(std::count_if(p.pairs.begin(), p.pairs.end(), [](const LfwPair& x) { return x.same; }), 500);
    EXPECT_TRUE(p.pairs.front().same);
    EXPECT_FALSE(p.pairs.back().same);
    EXPECT_NE(p.pairs.back().name_a, p.pairs.back().name_b);
}

TEST(EvalPairs, ImagePath) {
    EXPECT_EQ(lfw_image_path("/data/lfw", "Aaron_Peirsol", 3),
              fs::path("/data/lfw/Aaron_Peirsol/Aaron_Peirsol_0003.jpg"));
    EXPECT_EQ(lfw_image_path("lfw", "Zico", 12345), fs::path("lfw/Zico/Zico_12345.jpg"));
    expect_error(ErrorCode::invalid_argument, [] { lfw_image_path("lfw", "../etc", 1); });
}

// ---- accuracy ---------------------------------------------------------------------------------

TEST(EvalStats, BestThresholdSeparatesSeparableData) {
    const std::vector<ScoredPair> pairs = {{0.9, true}, {0.6, true}, {0.7, true},
                                           {0.1, false}, {0.5, false}, {0.2, false}};
    const double t = best_threshold(pairs);
    EXPECT_DOUBLE_EQ(t, 0.55);
    EXPECT_DOUBLE_EQ(accuracy_at(pairs, t), 1.0);
    EXPECT_DOUBLE_EQ(accuracy_at(pairs, 0.65), 5.0 / 6.0);
}

TEST(EvalStats, BestThresholdHandlesTiesAndOneClass) {
    // All genuine with tied scores: accepting everything is perfect.
    const std::vector<ScoredPair> genuine = {{0.3, true}, {0.3, true}, {0.8, true}};
    EXPECT_DOUBLE_EQ(accuracy_at(genuine, best_threshold(genuine)), 1.0);
    // A tie across classes cannot be split; the best is to put it on the majority side.
    const std::vector<ScoredPair> tied = {{0.5, true}, {0.5, true}, {0.5, false}, {0.1, false}};
    EXPECT_DOUBLE_EQ(accuracy_at(tied, best_threshold(tied)), 0.75);
    expect_error(ErrorCode::invalid_argument, [] { best_threshold({}); });
}

TEST(EvalStats, FoldedAccuracyHandComputed) {
    // fold 0: genuine 0.8 0.3, impostor 0.45 0.2; fold 1: genuine 0.9 0.7, impostor 0.5 0.4.
    const std::vector<ScoredPair> pairs = {{0.8, true, 0}, {0.3, true, 0}, {0.45, false, 0}, {0.2, false, 0},
                                           {0.9, true, 1}, {0.7, true, 1}, {0.5, false, 1}, {0.4, false, 1}};
    const FoldedAccuracy r = folded_accuracy(pairs, 2);
    EXPECT_TRUE(r.cross_validated);
    ASSERT_EQ(r.fold_thresholds.size(), 2u);
    // Fold 0 is tested with fold 1's threshold: midpoint of 0.5 and 0.7, misses genuine 0.3.
    EXPECT_DOUBLE_EQ(r.fold_thresholds[0], 0.6);
    EXPECT_DOUBLE_EQ(r.fold_accuracies[0], 0.75);
    // Fold 0 has two equally good thresholds (0.25 and 0.625, 3 of 4 right); the lower wins and
    // accepts impostors 0.5 and 0.4 of fold 1.
    EXPECT_DOUBLE_EQ(r.fold_thresholds[1], 0.25);
    EXPECT_DOUBLE_EQ(r.fold_accuracies[1], 0.5);
    EXPECT_DOUBLE_EQ(r.accuracy, 0.625);
    EXPECT_NEAR(r.accuracy_std, std::sqrt(2 * 0.125 * 0.125 / 1), 1e-12);  // sample std

    const FoldedAccuracy single = folded_accuracy(pairs, 1);
    EXPECT_FALSE(single.cross_validated);
    EXPECT_EQ(single.accuracy_std, 0.0);
    EXPECT_DOUBLE_EQ(single.accuracy, 7.0 / 8.0);  // threshold 0.6 on all pairs misses only 0.3
    ASSERT_EQ(single.fold_accuracies.size(), 1u);

    expect_error(ErrorCode::invalid_argument, [&] { folded_accuracy(pairs, 3); });  // fold 2 empty
    expect_error(ErrorCode::invalid_argument, [&] { folded_accuracy(pairs, 0); });
}

// ---- FMR / TAR / ROC --------------------------------------------------------------------------

TEST(EvalStats, ThresholdAtFmrExactCasesWithTies) {
    const std::vector<double> imp = {0.3, 0.1, 0.3, 0.2};
    bool ok = false;
    // 2 of 4 may match: {0.3, 0.3}; t must exceed 0.2.
    EXPECT_EQ(threshold_at_fmr(imp, 0.5, &ok), std::nextafter(0.2, 1.0));
    EXPECT_TRUE(ok);
    // 1 of 4 may match, but the two 0.3s tie: no threshold admits only one, so none are admitted.
    EXPECT_EQ(threshold_at_fmr(imp, 0.25, &ok), std::nextafter(0.3, 1.0));
    EXPECT_TRUE(ok);
    EXPECT_EQ(threshold_at_fmr(imp, 0.75, &ok), std::nextafter(0.1, 1.0));
    EXPECT_EQ(threshold_at_fmr(imp, 1.0, &ok), 0.1);  // everything may match
    // Fewer than 1/fmr impostors: FMR 0 is honoured and flagged.
    EXPECT_EQ(threshold_at_fmr(imp, 0.2, &ok), std::nextafter(0.3, 1.0));
    EXPECT_FALSE(ok);
    EXPECT_EQ(threshold_at_fmr(imp, 0.0, &ok), std::nextafter(0.3, 1.0));
    EXPECT_FALSE(ok);
    EXPECT_EQ(threshold_at_fmr({0.5}, 0.5), std::nextafter(0.5, 1.0));  // pointer is optional

    // Exactly 1/fmr impostors is enough; floor(0.29 * 100) is 28 in doubles but 29 are allowed.
    std::vector<double> hundred(100);
    for (int i = 0; i < 100; ++i) hundred[i] = i;
    EXPECT_EQ(threshold_at_fmr(hundred, 0.01, &ok), std::nextafter(98.0, 1e9));
    EXPECT_TRUE(ok);
    EXPECT_EQ(threshold_at_fmr(hundred, 0.29), std::nextafter(70.0, 1e9));

    expect_error(ErrorCode::invalid_argument, [] { threshold_at_fmr({}, 0.1); });
    expect_error(ErrorCode::invalid_argument, [&] { threshold_at_fmr(imp, -0.1); });
    expect_error(ErrorCode::invalid_argument, [&] { threshold_at_fmr(imp, std::nan("")); });
    expect_error(ErrorCode::invalid_argument, [] { threshold_at_fmr({0.1, std::nan("")}, 0.5); });
}

TEST(EvalStats, ThresholdAtFmrGuaranteeOnRandomScores) {
    std::mt19937 rng(42);
    std::normal_distribution<double> dist(0.0, 0.2);
    std::vector<double> imp(10000);
    // Rounded to 3 decimals so that many scores tie.
    for (auto& s : imp) s = std::round(dist(rng) * 1000) / 1000;
    for (const double fmr : {1e-4, 5e-4, 1e-3, 1e-2, 0.05, 0.1, 0.29, 0.5, 0.999}) {
        bool ok = false;
        const double t = threshold_at_fmr(imp, fmr, &ok);
        EXPECT_TRUE(ok) << fmr;
        EXPECT_LE(share_at_or_above(imp, t), fmr) << fmr;
        // t is minimal: the next lower impostor score admits too many.
        double lower = -1e9;
        for (double s : imp)
            if (s < t) lower = std::max(lower, s);
        EXPECT_GT(share_at_or_above(imp, lower), fmr) << fmr;
        EXPECT_EQ(std::nextafter(lower, 1e9), t) << fmr;  // nothing representable in between
    }
    bool ok = true;
    threshold_at_fmr(imp, 1e-5, &ok);
    EXPECT_FALSE(ok);
}

TEST(EvalStats, TarAtThreshold) {
    const std::vector<double> gen = {0.1, 0.5, 0.5, 0.9};
    EXPECT_DOUBLE_EQ(tar_at_threshold(gen, 0.5), 0.75);  // ties count as accepted
    EXPECT_DOUBLE_EQ(tar_at_threshold(gen, 0.51), 0.25);
    EXPECT_DOUBLE_EQ(tar_at_threshold(gen, -1.0), 1.0);
    EXPECT_DOUBLE_EQ(tar_at_threshold(gen, 2.0), 0.0);
    expect_error(ErrorCode::invalid_argument, [] { tar_at_threshold({}, 0.5); });
}

TEST(EvalStats, RocCurveSmallExact) {
    const auto roc = roc_curve({0.9, 0.6, 0.4}, {0.6, 0.2});
    ASSERT_EQ(roc.size(), 4u);  // distinct scores 0.9 0.6 0.4 0.2
    EXPECT_EQ(roc[0].threshold, 0.9);
    EXPECT_DOUBLE_EQ(roc[0].fmr, 0.0);
    EXPECT_DOUBLE_EQ(roc[0].tar, 1.0 / 3);
    EXPECT_EQ(roc[1].threshold, 0.6);
    EXPECT_DOUBLE_EQ(roc[1].fmr, 0.5);
    EXPECT_DOUBLE_EQ(roc[1].tar, 2.0 / 3);
    EXPECT_DOUBLE_EQ(roc[3].fmr, 1.0);
    EXPECT_DOUBLE_EQ(roc[3].tar, 1.0);
}

TEST(EvalStats, RocCurveMonotonic) {
    std::mt19937 rng(7);
    std::normal_distribution<double> g(0.6, 0.15), i(0.1, 0.15);
    std::vector<double> gen(3000), imp(5000);
    for (auto& s : gen) s = std::round(g(rng) * 500) / 500;
    for (auto& s : imp) s = std::round(i(rng) * 500) / 500;
    const auto roc = roc_curve(gen, imp);
    std::vector<double> all = gen;
    all.insert(all.end(), imp.begin(), imp.end());
    std::sort(all.begin(), all.end());
    EXPECT_EQ(roc.size(), static_cast<std::size_t>(std::unique(all.begin(), all.end()) - all.begin()));
    for (std::size_t k = 1; k < roc.size(); ++k) {
        EXPECT_GE(roc[k].fmr, roc[k - 1].fmr);
        EXPECT_GE(roc[k].tar, roc[k - 1].tar);
        EXPECT_LT(roc[k].threshold, roc[k - 1].threshold);
    }
    EXPECT_DOUBLE_EQ(roc.back().fmr, 1.0);
    EXPECT_DOUBLE_EQ(roc.back().tar, 1.0);
    // Each point agrees with the direct definitions.
    const auto& mid = roc[roc.size() / 2];
    EXPECT_DOUBLE_EQ(mid.tar, tar_at_threshold(gen, mid.threshold));
    EXPECT_DOUBLE_EQ(mid.fmr, share_at_or_above(imp, mid.threshold));
}

// ---- plot -------------------------------------------------------------------------------------

TEST(EvalPlot, WritesReadablePng) {
    std::mt19937 rng(3);
    std::normal_distribution<double> g(0.55, 0.12), i(0.05, 0.1);
    std::vector<double> gen(2000), imp(20000);
    for (auto& s : gen) s = g(rng);
    for (auto& s : imp) s = i(rng);
    TempDir dir;
    const fs::path out = dir.path / "roc.png";
    write_roc_png(out, gen, imp, "Synthetic ROC");
    const cv::Mat img = cv::imread(out.string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(img.empty());
    EXPECT_EQ(img.cols, 900);
    EXPECT_EQ(img.rows, 700);
    EXPECT_LT(cv::mean(img)[0], 254.0);  // something was drawn
}

TEST(EvalPlot, UnwritablePathIsIoError) {
    TempDir dir;
    const std::vector<double> gen = {0.9, 0.8}, imp = {0.1, 0.2};
    expect_error(ErrorCode::io_error,
                 [&] { write_roc_png(dir.path / "missing" / "roc.png", gen, imp, "x"); });
    expect_error(ErrorCode::io_error, [&] { write_roc_png(dir.path / "roc.unknownext", gen, imp, "x"); });
}
