// Monotone maps from a native value to the 0-100 quality score (100 = best). Scores are for
// display and ranking; pass/fail always compares the native value with the profile's threshold.
#pragma once

#include <algorithm>
#include <cmath>
#include <numbers>

namespace faceproof::scoring {

// 0 at or below lo, 100 at or above hi, linear in between (lo < hi): non-decreasing in x.
inline double rising(double x, double lo, double hi) { return 100.0 * std::clamp((x - lo) / (hi - lo), 0.0, 1.0); }
// 100 at or below lo, 0 at or above hi, linear in between: non-increasing in x.
inline double falling(double x, double lo, double hi) { return 100.0 - rising(x, lo, hi); }
// 100 * cos^2 of the angle, 0 from 90 degrees on: non-increasing in |degrees|.
inline double angle(double degrees) {
    const double a = std::min(std::abs(degrees), 90.0) * std::numbers::pi / 180.0;
    return 100.0 * std::cos(a) * std::cos(a);
}

}  // namespace faceproof::scoring
