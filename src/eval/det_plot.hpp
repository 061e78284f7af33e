// DET plot of a presentation-attack detector: BPCER against APCER on normal-deviate (probit) axes,
// as ISO/IEC 30107-3 and 19795-1 draw them.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "eval/pad_metrics.hpp"

namespace faceproof {

// Standard normal quantile (probit) of p in (0, 1).
double probit(double p);

// Draws the worst-type APCER curve (thick) and one thin curve per attack type, axes from 0.1% to
// 99% (rates of 0 or 1 are drawn on the axis edge), labelled ticks, axis titles, a legend (upper right) and the
// operating point at `threshold` marked. Throws io_error on write failure.
void write_det_png(const std::filesystem::path& out, const std::vector<pad::Presentation>& presentations,
                   double threshold, const std::string& title);

}  // namespace faceproof
