// faceproof — the PAD evaluation behind `faceproof eval pad`: presentation-attack detection error
// rates (ISO/IEC 30107-3) of the passive liveness score on a labelled image set, and (when asked)
// the liveness threshold chosen on a subject-disjoint calibration part of the set.
//
// Rates: APCER per attack type = attacks of the type accepted as live / attacks of the type;
// APCER = the worst attack type's APCER; BPCER = bona fide rejected / bona fide; ACER = mean of the
// two. Images without a face (or that cannot be read) are rejected: an attack without a face is
// not accepted, a bona fide without a face is a BPCER error (kPadNoFaceRule).
// Thread safety: evaluate_pad is reentrant; it scores on `threads` worker threads of its own.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/pad_metrics.hpp"
#include "faceproof/models.hpp"
#include "liveness/passive_model.hpp"

namespace faceproof {

// Operating points reported as "BPCER at APCER x" (x = 5% is the BPCER20 of 30107-3 reporting).
inline constexpr std::pair<const char*, double> kPadApcerTargets[] = {{"0.01", 0.01}, {"0.05", 0.05}};
inline constexpr const char* kPadNoFaceRule =
    "an image without a detected face (or unreadable) is rejected: an attack without a face is not accepted, a "
    "bona fide without a face counts as rejected (a BPCER error)";

struct PadEvaluationOptions {
    std::filesystem::path root;    // image root; the labels' file column is relative to it
    std::filesystem::path labels;  // labels.csv (see eval/pad_labels.hpp)
    // Evaluate this calibration's threshold (default: the shipped one). Ignored when calibrating.
    std::optional<std::filesystem::path> calibration;
    // Choose the threshold on the calibration subjects; the result then carries the calibration
    // file's document, to be written to this path (named in its provenance).
    std::optional<std::filesystem::path> calibrate_out;
    std::optional<std::string> calibration_subjects;  // comma-separated; excludes split_seed
    std::optional<std::uint64_t> split_seed;          // calibration subjects by FNV-1a hash parity
    double target_apcer = 0.05;
    int threads = 0;  // <= 0: all cores
    PassiveOptions passive;
};

struct PadEvaluation {
    nlohmann::json report;  // the `eval pad --json` document
    std::vector<pad::Presentation> presentations;  // every image, in labels order (for the DET plot)
    double threshold = 0;
    std::string threshold_source;
    // When calibrating: the calibration file (format faceproof-liveness-calibration/1), already
    // checked to load back with LivenessCalibration::from_json.
    std::optional<nlohmann::json> calibration_file;
    std::vector<std::string> failures;  // "image: error" of each image that could not be read (rejected)
};

// requires: options.target_apcer in [0, 0.5]; with calibration_subjects or split_seed, calibrate_out.
// ensures:  every image scored once; report["held_out"] holds the held-out subjects' figures when
//           calibrating, or when the evaluated calibration was made from this labels file (same
//           SHA-256), else null. Calls progress(done, total) from worker threads (serialised).
// throws:   Error{invalid_argument} for malformed labels, an unknown listed subject or a split that
//           leaves no calibration or no held-out subject; io_error / calibration_invalid for files.
PadEvaluation evaluate_pad(std::shared_ptr<const ModelSet> models, const PadEvaluationOptions& options,
                           const std::function<void(std::size_t, std::size_t)>& progress = {});

// The figures of one set of presentations at threshold (rates, per attack type, BPCER at the
// kPadApcerTargets, equal-error point), as in the report.
nlohmann::json pad_metrics_json(const std::vector<pad::Presentation>& presentations, double threshold);

}  // namespace faceproof
