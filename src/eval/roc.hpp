// faceproof — verification accuracy statistics (pure functions over scores): accuracy and its
// best threshold, cross-validated accuracy, the threshold at a target FMR, TAR, the ROC and its plot.
//
// Terms: a "genuine" pair shows the same person, an "impostor" pair two different people.
// FMR = share of impostor scores >= threshold; TAR = share of genuine scores >= threshold.
// Thread safety: all functions are pure and reentrant.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace faceproof {

struct ScoredPair {
    double score = 0;
    bool same = false;
    int fold = 0;
};

// Accuracy of "score >= threshold means same" on the given pairs.
double accuracy_at(const std::vector<ScoredPair>& pairs, double threshold);
// Threshold maximising accuracy on pairs (midpoint between neighbouring sorted scores).
double best_threshold(const std::vector<ScoredPair>& pairs);

struct FoldedAccuracy {
    double accuracy = 0;      // mean over folds (or plain accuracy when folds == 1)
    double accuracy_std = 0;  // standard deviation over folds (0 when folds == 1)
    std::vector<double> fold_accuracies;
    std::vector<double> fold_thresholds;
    bool cross_validated = false;  // false: threshold chosen and measured on the same pairs
};
// With folds > 1: for each fold k, threshold = best_threshold(all other folds), accuracy measured on
// fold k. With folds == 1: best-threshold accuracy on all pairs, cross_validated = false.
FoldedAccuracy folded_accuracy(const std::vector<ScoredPair>& pairs, int folds);

// Smallest threshold t such that the share of impostor scores >= t is <= fmr (ties counted as
// false matches). With too few impostors for the requested fmr, returns the value above the largest
// impostor score (so FMR = 0 is honoured) and sets *resolvable = false when the pointer is given.
double threshold_at_fmr(std::vector<double> impostor_scores, double fmr, bool* resolvable = nullptr);
// Share of genuine scores >= threshold.
double tar_at_threshold(const std::vector<double>& genuine_scores, double threshold);

struct RocPoint {
    double fmr = 0;
    double tar = 0;
    double threshold = 0;
};
// Full ROC, one point per distinct score, ordered by increasing FMR.
std::vector<RocPoint> roc_curve(const std::vector<double>& genuine, const std::vector<double>& impostor);

// Draws the ROC (TAR against FMR on a log10 axis from 1e-4 (or 1/impostors) to 1) as a PNG with
// axes, tick labels, title and the TAR at FMR 1e-2 / 1e-3 marked. Throws io_error on write failure.
void write_roc_png(const std::filesystem::path& out, const std::vector<double>& genuine,
                   const std::vector<double>& impostor, const std::string& title);

}  // namespace faceproof
