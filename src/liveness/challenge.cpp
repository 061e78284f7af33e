#include "liveness/challenge.hpp"

#include <algorithm>
#include <cmath>

#include "faceproof/error.hpp"

namespace faceproof {

ChallengeResult evaluate_challenge(const std::vector<double>& left_eye_open, const std::vector<double>& right_eye_open,
                                   const std::vector<double>& yaw_deg) {
    const std::size_t n = left_eye_open.size();
    if (right_eye_open.size() != n || yaw_deg.size() != n)
        throw Error(ErrorCode::invalid_argument, "challenge: one eye-open value per eye and one yaw per frame needed");
    for (std::size_t i = 0; i < n; ++i) {
        for (double p : {left_eye_open[i], right_eye_open[i]})
            if (!(p >= 0.0 && p <= 1.0))
                throw Error(ErrorCode::invalid_argument, "challenge: eye-open probability outside [0, 1] in frame " +
                                                             std::to_string(i));
        if (!std::isfinite(yaw_deg[i]))
            throw Error(ErrorCode::invalid_argument, "challenge: yaw not finite in frame " + std::to_string(i));
    }
    ChallengeResult r;
    r.assessed = true;
    bool seen_closed = false;
    for (std::size_t i = 0; i < n && !r.blink; ++i) {
        const bool closed = left_eye_open[i] < kEyeClosedBelow && right_eye_open[i] < kEyeClosedBelow;
        const bool open = left_eye_open[i] > kEyeOpenAbove && right_eye_open[i] > kEyeOpenAbove;
        if (open && seen_closed) r.blink = true;
        seen_closed = seen_closed || closed;
    }
    if (n > 0) {
        const auto [lo, hi] = std::minmax_element(yaw_deg.begin(), yaw_deg.end());
        r.yaw_range_deg = *hi - *lo;
    }
    r.head_turn = r.yaw_range_deg >= kHeadTurnMinDeg;
    return r;
}

std::pair<double, bool> same_face_check(const std::vector<Template>& templates) {
    if (templates.empty()) throw Error(ErrorCode::invalid_argument, "same-face check: no templates");
    double lowest = 1.0;
    for (std::size_t i = 1; i < templates.size(); ++i) lowest = std::min(lowest, similarity(templates[0], templates[i]));
    return {lowest, lowest >= kSameFaceMinSimilarity};
}

double median_of(std::vector<double> values) {
    if (values.empty()) throw Error(ErrorCode::invalid_argument, "median of no values");
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace faceproof
