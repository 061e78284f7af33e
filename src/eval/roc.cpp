// Verification statistics over scores ("score >= threshold means same person") and the ROC plot.
#include "eval/roc.hpp"

#include "faceproof/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <numeric>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "util/plot_text.hpp"
namespace faceproof {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

[[noreturn]] void invalid(const std::string& what) { throw Error(ErrorCode::invalid_argument, what); }

// NaN would break the strict weak ordering the sorts rely on.
void require_finite(double score, const char* where) {
    if (!std::isfinite(score)) invalid(std::string(where) + ": score is not finite");
}

double share_at_or_above(const std::vector<double>& scores, double threshold) {
    const auto n = std::count_if(scores.begin(), scores.end(), [&](double s) { return s >= threshold; });
    return static_cast<double>(n) / static_cast<double>(scores.size());
}

}  // namespace

double accuracy_at(const std::vector<ScoredPair>& pairs, double threshold) {
    if (pairs.empty()) invalid("accuracy_at: no pairs");
    const auto correct = std::count_if(pairs.begin(), pairs.end(),
                                       [&](const ScoredPair& p) { return (p.score >= threshold) == p.same; });
    return static_cast<double>(correct) / static_cast<double>(pairs.size());
}

double best_threshold(const std::vector<ScoredPair>& pairs) {
    if (pairs.empty()) invalid("best_threshold: no pairs");
    std::vector<ScoredPair> s = pairs;
    for (const auto& p : s) require_finite(p.score, "best_threshold");
    std::sort(s.begin(), s.end(), [](const ScoredPair& a, const ScoredPair& b) { return a.score < b.score; });

    // Start below every score (all accepted: exactly the genuine pairs are right), then raise the
    // threshold past one group of equal scores at a time, updating the count of correct decisions.
    long long correct = std::count_if(s.begin(), s.end(), [](const ScoredPair& p) { return p.same; });
    long long best = correct;
    double best_t = std::nextafter(s.front().score, -kInf);
    for (std::size_t i = 0, j = 0; i < s.size(); i = j) {
        for (j = i; j < s.size() && s[j].score == s[i].score; ++j) correct += s[j].same ? -1 : 1;
        double t = std::nextafter(s[i].score, kInf);  // above the largest score: all rejected
        if (j < s.size()) {
            t = std::midpoint(s[i].score, s[j].score);
            if (t <= s[i].score) t = s[j].score;  // neighbouring doubles: the midpoint rounds down
        }
        // Strictly greater: among equally good thresholds the lowest wins, so the choice is stable.
        if (correct > best) {
            best = correct;
            best_t = t;
        }
    }
    return best_t;
}

FoldedAccuracy folded_accuracy(const std::vector<ScoredPair>& pairs, int folds) {
    if (folds < 1) invalid("folded_accuracy: folds must be >= 1");
    FoldedAccuracy r;
    if (folds == 1) {
        const double t = best_threshold(pairs);
        r.accuracy = accuracy_at(pairs, t);
        r.fold_accuracies = {r.accuracy};
        r.fold_thresholds = {t};
        return r;
    }
    for (const auto& p : pairs)
        if (p.fold < 0 || p.fold >= folds)
            invalid("folded_accuracy: pair fold " + std::to_string(p.fold) + " outside 0.." +
                    std::to_string(folds - 1));
    for (int k = 0; k < folds; ++k) {
        std::vector<ScoredPair> train, test;
        for (const auto& p : pairs) (p.fold == k ? test : train).push_back(p);
        if (test.empty() || train.empty())
            invalid("folded_accuracy: fold " + std::to_string(k) + " has no pairs");
        const double t = best_threshold(train);
        r.fold_thresholds.push_back(t);
        r.fold_accuracies.push_back(accuracy_at(test, t));
    }
    const auto& acc = r.fold_accuracies;
    r.accuracy = std::accumulate(acc.begin(), acc.end(), 0.0) / folds;
    double ss = 0;
    for (double a : acc) ss += (a - r.accuracy) * (a - r.accuracy);
    // Sample standard deviation (n - 1): the folds are a sample of possible test sets, and this is
    // what the LFW protocol reports as the standard error basis.
    r.accuracy_std = std::sqrt(ss / (folds - 1));
    r.cross_validated = true;
    return r;
}

double threshold_at_fmr(std::vector<double> impostor_scores, double fmr, bool* resolvable) {
    auto& s = impostor_scores;
    if (s.empty()) invalid("threshold_at_fmr: no impostor scores");
    if (!(fmr >= 0.0 && fmr <= 1.0)) invalid("threshold_at_fmr: fmr must be in [0, 1]");
    for (double v : s) require_finite(v, "threshold_at_fmr");
    const std::size_t n = s.size();
    const auto share = [n](std::size_t k) { return static_cast<double>(k) / static_cast<double>(n); };

    // Most false matches allowed, k / n <= fmr evaluated exactly as the share is computed later
    // (floor(fmr * n) alone can be off by one through rounding, e.g. 0.29 * 100).
    auto allowed = static_cast<std::size_t>(std::floor(fmr * static_cast<double>(n)));
    if (allowed < n && share(allowed + 1) <= fmr) ++allowed;
    while (allowed > 0 && share(allowed) > fmr) --allowed;
    if (resolvable) *resolvable = allowed > 0;
    if (allowed >= n) return *std::min_element(s.begin(), s.end());  // every impostor may match

    // With scores sorted descending, any t <= s[allowed] admits allowed + 1 impostors; any
    // t > s[allowed] admits only scores strictly above it, at most `allowed` of them, and ties move
    // together. So the smallest valid threshold is the next double above s[allowed].
    std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(allowed), s.end(), std::greater<>());
    return std::nextafter(s[allowed], kInf);
}

double tar_at_threshold(const std::vector<double>& genuine_scores, double threshold) {
    if (genuine_scores.empty()) invalid("tar_at_threshold: no genuine scores");
    return share_at_or_above(genuine_scores, threshold);
}

std::vector<RocPoint> roc_curve(const std::vector<double>& genuine, const std::vector<double>& impostor) {
    if (genuine.empty() || impostor.empty()) invalid("roc_curve: needs genuine and impostor scores");
    auto g = genuine, im = impostor;
    for (double v : g) require_finite(v, "roc_curve");
    for (double v : im) require_finite(v, "roc_curve");
    std::sort(g.begin(), g.end(), std::greater<>());
    std::sort(im.begin(), im.end(), std::greater<>());

    // Walk the distinct scores from the top; after consuming all scores >= v, the indices are the
    // counts of accepted genuine / impostor pairs at threshold v.
    std::vector<RocPoint> roc;
    std::size_t i = 0, j = 0;
    while (i < g.size() || j < im.size()) {
        const double v = std::max(i < g.size() ? g[i] : -kInf, j < im.size() ? im[j] : -kInf);
        while (i < g.size() && g[i] == v) ++i;
        while (j < im.size() && im[j] == v) ++j;
        roc.push_back({static_cast<double>(j) / static_cast<double>(im.size()),
                       static_cast<double>(i) / static_cast<double>(g.size()), v});
    }
    return roc;
}

// ---- plot -----------------------------------------------------------------------------------

namespace {

const cv::Scalar kBlack(0, 0, 0), kGrid(220, 220, 220), kMinorGrid(240, 240, 240);
const cv::Scalar kCurve(140, 60, 10), kMarker(40, 40, 210), kText(40, 40, 40), kMuted(110, 110, 110);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;

std::string fmt(const char* format, double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

std::string decade_label(int exponent) { return exponent == 0 ? "1" : "1e" + std::to_string(exponent); }

using plot::text;
using plot::vertical_text;

}  // namespace

void write_roc_png(const std::filesystem::path& out, const std::vector<double>& genuine,
                   const std::vector<double>& impostor, const std::string& title) {
    const auto roc = roc_curve(genuine, impostor);  // validates the inputs

    // x: log10 FMR from the decade at or below max(1e-4, 1/impostors) (nothing finer is measurable)
    // up to 1.
    const double smallest = std::max(1e-4, 1.0 / static_cast<double>(impostor.size()));
    // At least one decade wide, even for a single impostor.
    const int lo_exp = std::min(-1, static_cast<int>(std::floor(std::log10(smallest) + 1e-9)));
    const double x_lo = lo_exp, fmr_lo = std::pow(10.0, lo_exp);

    // Points left of the axis start (FMR 0 included) collapse onto it; only the best of them is
    // kept, so the curve does not begin with a meaningless vertical run up from TAR 0.
    std::vector<RocPoint> shown;
    for (const auto& p : roc) {
        if (p.fmr < fmr_lo && !shown.empty() && shown.back().fmr < fmr_lo)
            shown.back() = p;
        else
            shown.push_back(p);
    }
    // y: from the 0.05 step at or below the lowest TAR shown, so good systems get a readable zoom.
    const double y_lo = std::clamp(std::floor(shown.front().tar / 0.05 + 1e-9) * 0.05, 0.0, 0.95);
    const double y_step = 1.0 - y_lo <= 0.1 + 1e-9 ? 0.01 : 1.0 - y_lo <= 0.5 + 1e-9 ? 0.05 : 0.1;

    constexpr int W = 900, H = 700, left = 95, right = 870, top = 75, bottom = 610;
    cv::Mat img(H, W, CV_8UC3, cv::Scalar::all(255));
    const auto px = [&](double log_fmr) {
        return left + static_cast<int>(std::lround((log_fmr - x_lo) / -x_lo * (right - left)));
    };
    const auto py = [&](double tar) {
        const double f = (std::clamp(tar, y_lo, 1.0) - y_lo) / (1.0 - y_lo);
        return bottom - static_cast<int>(std::lround(f * (bottom - top)));
    };

    // Grid and tick labels.
    for (int e = lo_exp; e <= 0; ++e) {
        if (e < 0)
            for (int m = 2; m <= 9; ++m)
                cv::line(img, {px(e + std::log10(m)), top}, {px(e + std::log10(m)), bottom}, kMinorGrid);
        cv::line(img, {px(e), top}, {px(e), bottom}, kGrid);
        text(img, decade_label(e), {px(e), bottom + 24}, 0.5, kText, 0);
    }
    for (int k = static_cast<int>(std::ceil(y_lo / y_step - 1e-9));; ++k) {
        const double y = k * y_step;
        if (y > 1.0 + 1e-9) break;
        cv::line(img, {left, py(y)}, {right, py(y)}, kGrid);
        text(img, fmt("%.2f", y), {left - 8, py(y) + 5}, 0.5, kText, 1);
    }
    cv::rectangle(img, {left, top}, {right, bottom}, kBlack, 1);

    // Titles.
    text(img, title, {(left + right) / 2, 32}, 0.75, kBlack, 0, 2);
    const std::string counts =
        std::to_string(genuine.size()) + " genuine / " + std::to_string(impostor.size()) + " impostor pairs";
    text(img, counts, {(left + right) / 2, 56}, 0.45, kMuted, 0);
    text(img, "False match rate (log)", {(left + right) / 2, bottom + 60}, 0.6, kText, 0);
    vertical_text(img, "True accept rate", {25, (top + bottom) / 2}, 0.6);

    // Curve.
    std::vector<cv::Point> curve;
    for (const auto& p : shown) curve.emplace_back(px(std::log10(std::max(p.fmr, fmr_lo))), py(p.tar));
    cv::polylines(img, curve, false, kCurve, 2, cv::LINE_AA);
    if (curve.size() == 1) cv::circle(img, curve[0], 4, kCurve, cv::FILLED, cv::LINE_AA);  // a lone point

    // Operating points. The ROC rises to the right, so the space below-right of a point is free;
    // the bottom-right corner is free too and holds the note for points there is no data for.
    int notes = 0;
    for (const double fmr : {1e-2, 1e-3}) {
        const std::string name = "FMR " + decade_label(static_cast<int>(std::lround(std::log10(fmr))));
        bool ok = false;
        const double t = threshold_at_fmr(impostor, fmr, &ok);
        if (!ok) {
            text(img, name + ": too few impostor pairs to measure",
                 {right - 10, bottom - 12 - 20 * notes++}, 0.45, kMuted, 1);
            continue;
        }
        const double tar = tar_at_threshold(genuine, t);
        const cv::Point at(px(std::log10(fmr)), py(tar));
        cv::circle(img, at, 6, kMarker, 2, cv::LINE_AA);
        const std::string lines[] = {"TAR " + fmt("%.3f", tar), "@ " + name};
        int base = 0;
        const int width = cv::getTextSize(lines[1], kFont, 0.48, 1, &base).width;
        cv::Point pos(std::min(at.x + 10, right - width - 6), at.y + 24);
        if (pos.y + 24 > bottom) pos.y = at.y - 34;  // no room below: put it above
        cv::rectangle(img, {pos.x - 3, pos.y - 16}, {pos.x + width + 3, pos.y + 24}, cv::Scalar::all(255),
                      cv::FILLED);
        text(img, lines[0], pos, 0.48, kMarker);
        text(img, lines[1], {pos.x, pos.y + 19}, 0.48, kMarker);
    }

    bool written = false;
    try {
        written = cv::imwrite(out.string(), img);
    } catch (const cv::Exception& e) {
        throw Error(ErrorCode::io_error, "cannot write ROC plot " + out.string() + ": " + e.what());
    }
    if (!written) throw Error(ErrorCode::io_error, "cannot write ROC plot " + out.string());
}

}  // namespace faceproof
