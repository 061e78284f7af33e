// faceproof — templates, comparison and calibrated decisions.
//
// Template binary format (version 1, little-endian):
//   "FPTM" | u16 version=1 | u16 id_length | model id (UTF-8) | 32-byte SHA-256 of the model file |
//   u32 dimension | dimension x f32 | 8-byte checksum = first 8 bytes of SHA-256(all bytes before)
// parse_template rejects anything else with Error{template_invalid}.
//
// Thread safety: all functions are reentrant; Calibration is immutable after loading.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace faceproof {

struct Template {
    std::string model_id;             // names the model and the preprocessing that made the vector
    std::string model_sha256;         // hex SHA-256 of the embedding model file
    std::vector<float> values;        // L2-normalised
};

std::vector<std::uint8_t> serialize_template(const Template& t);
Template parse_template(std::span<const std::uint8_t> bytes);

// Cosine similarity in [-1, 1].
// requires: nothing (templates may come from files of unknown origin).
// throws:   template_mismatch when the model ids, the model files' SHA-256 or the dimensions differ:
//           vectors of two model files are not comparable even under one model id.
double similarity(const Template& a, const Template& b);

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
