// Light-response check of challenge liveness: does the face's colour follow the colours the screen
// showed?
//
// The screen lights the near face far more than the distant background, so the face's chromaticity
// minus the background's (which cancels the camera's white balance and the room's light, both of
// which shift the whole frame) moves with the emitted colour. A replayed video or an injected
// stream recorded under other colours does not.
//
// chromaticity(rgb): (r, g) = (R, G) / (R + G + B); (1/3, 1/3) for black.
// light_correlation(face_minus_background, emitted, max_lag)
//   requires: two sequences of the same length, one (r, g) pair per frame; max_lag >= 0.
//   ensures:  the best, over lags 0..max_lag, of the Pearson correlation between the response at
//             frame i and the emission at frame i - lag, pooled over both chromaticity channels
//             (each channel centred on its own mean); 0 when either side is constant or fewer than
//             3 frames remain at every lag. The lag is returned in *best_lag when given.
// correlation_at_lag(response, emitted, lag)
//   requires: as above; ensures: the correlation at that one lag (0 when fewer than 3 frames remain).
// Thread safety: pure and reentrant.
#pragma once

#include <array>
#include <vector>

namespace faceproof {

using Chromaticity = std::array<double, 2>;

Chromaticity chromaticity(const std::array<double, 3>& rgb);

double light_correlation(const std::vector<Chromaticity>& face_minus_background,
                         const std::vector<Chromaticity>& emitted, int max_lag, int* best_lag = nullptr);

double correlation_at_lag(const std::vector<Chromaticity>& response, const std::vector<Chromaticity>& emitted,
                          std::size_t lag);

}  // namespace faceproof
