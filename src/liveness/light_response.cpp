#include "liveness/light_response.hpp"

#include <cmath>

#include "faceproof/error.hpp"

namespace faceproof {

Chromaticity chromaticity(const std::array<double, 3>& rgb) {
    const double sum = rgb[0] + rgb[1] + rgb[2];
    if (!(sum > 0)) return {1.0 / 3, 1.0 / 3};
    return {rgb[0] / sum, rgb[1] / sum};
}

double correlation_at_lag(const std::vector<Chromaticity>& response, const std::vector<Chromaticity>& emitted,
                          std::size_t lag) {
    if (response.size() != emitted.size())
        throw Error(ErrorCode::invalid_argument, "light correlation: one response and one emission per frame needed");
    if (response.size() < lag + 3) return 0;
    const std::size_t n = response.size() - lag;
    std::array<double, 2> mean_response{}, mean_emitted{};
    for (std::size_t i = 0; i < n; ++i)
        for (int c = 0; c < 2; ++c) {
            mean_response[c] += response[i + lag][c] / double(n);
            mean_emitted[c] += emitted[i][c] / double(n);
        }
    double cross = 0, var_response = 0, var_emitted = 0;
    for (std::size_t i = 0; i < n; ++i)
        for (int c = 0; c < 2; ++c) {
            const double a = response[i + lag][c] - mean_response[c];
            const double b = emitted[i][c] - mean_emitted[c];
            cross += a * b;
            var_response += a * a;
            var_emitted += b * b;
        }
    // Below 1e-20 (chromaticity differences of 1e-10) a side is constant up to rounding.
    if (!(var_response > 1e-20) || !(var_emitted > 1e-20)) return 0;
    return cross / std::sqrt(var_response * var_emitted);
}

double light_correlation(const std::vector<Chromaticity>& face_minus_background,
                         const std::vector<Chromaticity>& emitted, int max_lag, int* best_lag) {
    if (face_minus_background.size() != emitted.size())
        throw Error(ErrorCode::invalid_argument, "light correlation: one response and one emission per frame needed");
    if (max_lag < 0) throw Error(ErrorCode::invalid_argument, "light correlation: negative lag");
    double best = 0;
    int lag_of_best = 0;
    bool first = true;
    for (int lag = 0; lag <= max_lag; ++lag) {
        if (face_minus_background.size() < std::size_t(lag) + 3) break;
        const double r = correlation_at_lag(face_minus_background, emitted, std::size_t(lag));
        if (first || r > best) {
            best = r;
            lag_of_best = lag;
            first = false;
        }
    }
    if (best_lag) *best_lag = lag_of_best;
    return best;
}

}  // namespace faceproof
