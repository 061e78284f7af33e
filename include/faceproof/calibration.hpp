// faceproof — calibrated decisions: the similarity threshold for a target false-match rate.
//
// Thread safety: Calibration is immutable after loading and may be shared by any number of threads.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace faceproof {

struct OperatingPoint {
    double fmr = 0;        // target false-match rate per comparison
    double threshold = 0;  // similarity >= threshold means "same person"
    double tar = 0;        // true-accept rate measured on the calibration's genuine pairs
};

// Thresholds for target FMRs, produced by `faceproof calibrate` from impostor pairs.
class Calibration {
public:
    // Parses the JSON calibration file format ("format": "faceproof-calibration/1").
    // "model_sha256" is optional; when present it must be 64 hex characters (calibration_invalid).
    static Calibration from_json(const std::string& text);
    // The file must be a regular file of at most 1 MiB (input_limit::calibration); anything else is
    // Error{io_error}, refused without blocking or reading.
    static Calibration load(const std::filesystem::path& file);
    // The calibration shipped with the library (calibration/default.json at build time).
    // Throws calibration_invalid when the build had none.
    static const Calibration& shipped();

    // Threshold for fmr: exact for the listed operating points, log-linear interpolation between
    // neighbours otherwise; invalid_argument outside the calibrated range.
    double threshold_for(double fmr) const;
    const std::string& model_id() const { return model_id_; }
    // Lower-case hex SHA-256 of the model file whose templates were calibrated; empty when the file
    // does not record it. Templates of another model file must not be judged by these thresholds.
    const std::string& model_sha256() const { return model_sha256_; }
    const std::vector<OperatingPoint>& points() const { return points_; }
    const std::string& json() const { return json_; }

private:
    std::string model_id_;
    std::string model_sha256_;
    std::vector<OperatingPoint> points_;  // increasing fmr
    std::string json_;
};

constexpr double kDefaultFmr = 1e-4;

}  // namespace faceproof
