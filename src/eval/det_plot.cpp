#include "eval/det_plot.hpp"

#include <cmath>
#include <cstdio>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceproof/error.hpp"
#include "util/plot_text.hpp"

namespace faceproof {

double probit(double p) {
    if (!(p > 0 && p < 1)) throw Error(ErrorCode::invalid_argument, "probit: p outside (0, 1)");
    // Bisection on the normal CDF: plenty fast for a plot, and exact to double precision.
    double lo = -40, hi = 40;
    for (int i = 0; i < 200 && hi - lo > 1e-12; ++i) {
        const double mid = (lo + hi) / 2;
        (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
    }
    return (lo + hi) / 2;
}

namespace {

const cv::Scalar kBlack(0, 0, 0), kGrid(225, 225, 225), kText(40, 40, 40), kMuted(110, 110, 110);
const cv::Scalar kMain(140, 60, 10), kMarker(40, 40, 210);
const cv::Scalar kTypeColours[] = {{60, 160, 60}, {0, 140, 230}, {180, 80, 180}, {120, 120, 0}, {80, 80, 80}};
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr double kLo = 0.001, kHi = 0.99;

using plot::text;
using plot::vertical_text;

std::string percent_label(double p) {
    char buf[16];
    const double v = 100 * p;
    std::snprintf(buf, sizeof buf, v < 1 ? "%.1f" : "%.0f", v);
    return buf;
}

}  // namespace

void write_det_png(const std::filesystem::path& out, const std::vector<pad::Presentation>& presentations,
                   double threshold, const std::string& title) {
    const auto curve = pad::det_curve(presentations);  // validates: needs bona fide and attacks
    const pad::PadRates at = pad::pad_rates(presentations, threshold);

    constexpr int W = 900, H = 710, left = 95, right = 870, top = 75, bottom = 640;
    const double z_lo = probit(kLo), z_hi = probit(kHi);
    const auto axis = [&](double p, int a, int b) {
        const double z = probit(std::clamp(p, kLo, kHi));
        return a + static_cast<int>(std::lround((z - z_lo) / (z_hi - z_lo) * (b - a)));
    };
    const auto px = [&](double apcer) { return axis(apcer, left, right); };
    const auto py = [&](double bpcer) { return axis(bpcer, bottom, top); };

    cv::Mat img(H, W, CV_8UC3, cv::Scalar::all(255));
    const double ticks[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.99};
    for (double t : ticks) {
        cv::line(img, {px(t), top}, {px(t), bottom}, kGrid);
        cv::line(img, {left, py(t)}, {right, py(t)}, kGrid);
        text(img, percent_label(t), {px(t), bottom + 22}, 0.45, kText, 0);
        text(img, percent_label(t), {left - 8, py(t) + 5}, 0.45, kText, 1);
    }
    // APCER = BPCER diagonal: where it crosses the curve is the equal-error point.
    cv::line(img, {px(kLo), py(kLo)}, {px(kHi), py(kHi)}, cv::Scalar::all(190), 1, cv::LINE_AA);
    cv::rectangle(img, {left, top}, {right, bottom}, kBlack, 1);

    text(img, title, {(left + right) / 2, 30}, 0.7, kBlack, 0, 2);
    const std::string counts = std::to_string(at.bona_fide) + " bona fide / " + std::to_string(at.attacks) +
                               " attack presentations (no face = rejected; rates of 0 drawn on the 0.1% edge)";
    text(img, counts, {(left + right) / 2, 55}, 0.45, kMuted, 0);
    text(img, "APCER (%, probit scale): attacks accepted as live", {(left + right) / 2, bottom + 52}, 0.55, kText, 0);
    vertical_text(img, "BPCER (%, probit scale): bona fide rejected", {25, (top + bottom) / 2}, 0.55);

    // Per attack type (thin), then the worst type (thick).
    std::vector<std::pair<std::string, cv::Scalar>> legend;
    int colour = 0;
    for (const auto& [type, rate] : at.per_attack_type) {
        const cv::Scalar c = kTypeColours[colour++ % std::size(kTypeColours)];
        std::vector<cv::Point> pts;
        for (const auto& d : curve) pts.emplace_back(px(d.apcer_per_type.at(type)), py(d.bpcer));
        cv::polylines(img, pts, false, c, 1, cv::LINE_AA);
        legend.emplace_back(type + " (" + std::to_string(rate.presentations) + ")", c);
    }
    std::vector<cv::Point> pts;
    for (const auto& d : curve) pts.emplace_back(px(d.apcer), py(d.bpcer));
    cv::polylines(img, pts, false, kMain, 3, cv::LINE_AA);
    legend.insert(legend.begin(), {"worst attack type (30107-3 APCER)", kMain});

    // Legend in the upper-right corner: a DET curve of a usable detector stays near the lower left.
    int legend_width = 0, base_line = 0;
    for (const auto& [name, c] : legend)
        legend_width = std::max(legend_width, cv::getTextSize(name, kFont, 0.45, 1, &base_line).width);
    const int lx = right - legend_width - 58;
    int y = top + 24;
    cv::rectangle(img, {lx - 6, top + 6}, {right - 6, top + 12 + 20 * static_cast<int>(legend.size())},
                  cv::Scalar::all(255), cv::FILLED);
    cv::rectangle(img, {lx - 6, top + 6}, {right - 6, top + 12 + 20 * static_cast<int>(legend.size())}, kGrid, 1);
    for (const auto& [name, c] : legend) {
        cv::line(img, {lx, y - 5}, {lx + 30, y - 5}, c, name.rfind("worst", 0) == 0 ? 3 : 2, cv::LINE_AA);
        text(img, name, {lx + 38, y}, 0.45, kText);
        y += 20;
    }

    // Operating point.
    const cv::Point op(px(at.apcer), py(at.bpcer));
    cv::circle(img, op, 7, kMarker, 2, cv::LINE_AA);
    char label[96];
    std::snprintf(label, sizeof label, "threshold %.4f: APCER %.1f%%, BPCER %.1f%%", threshold, 100 * at.apcer,
                  100 * at.bpcer);
    int base = 0;
    const int width = cv::getTextSize(label, kFont, 0.5, 1, &base).width;
    cv::Point pos(std::min(op.x + 12, right - width - 6), op.y - 12);
    if (pos.y < top + 20) pos.y = op.y + 26;
    cv::rectangle(img, {pos.x - 3, pos.y - 16}, {pos.x + width + 3, pos.y + 6}, cv::Scalar::all(255), cv::FILLED);
    text(img, label, pos, 0.5, kMarker);

    bool written = false;
    try {
        written = cv::imwrite(out.string(), img);
    } catch (const cv::Exception& e) {
        throw Error(ErrorCode::io_error, "cannot write DET plot " + out.string() + ": " + e.what());
    }
    if (!written) throw Error(ErrorCode::io_error, "cannot write DET plot " + out.string());
}

}  // namespace faceproof
