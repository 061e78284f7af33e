#include "faceproof/calibration.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

#include "calibration_data.hpp"
#include "faceproof/error.hpp"
#include "util/input_file.hpp"
#include "util/text_file.hpp"

namespace faceproof {
namespace {

[[noreturn]] void invalid(const std::string& why) {
    throw Error(ErrorCode::calibration_invalid, "calibration: " + why);
}

bool same_rate(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(std::abs(a), std::abs(b)); }

}  // namespace

Calibration Calibration::from_json(const std::string& text) {
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        invalid(std::string("not valid JSON: ") + e.what());
    }
    if (!doc.is_object() || !doc.contains("format") || doc["format"] != "faceproof-calibration/1")
        invalid("missing or unknown \"format\" (expected faceproof-calibration/1)");
    Calibration c;
    c.json_ = text;
    try {
        c.model_id_ = doc.at("model_id").get<std::string>();
        if (doc.contains("model_sha256")) {
            c.model_sha256_ = doc.at("model_sha256").get<std::string>();
            const bool hex = c.model_sha256_.size() == 64 &&
                             std::all_of(c.model_sha256_.begin(), c.model_sha256_.end(),
                                         [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)); });
            if (!hex) invalid("\"model_sha256\" must be 64 hexadecimal characters");
            std::transform(c.model_sha256_.begin(), c.model_sha256_.end(), c.model_sha256_.begin(),
                           [](char ch) { return static_cast<char>(std::tolower(static_cast<unsigned char>(ch))); });
        }
        for (const auto& p : doc.at("operating_points")) {
            OperatingPoint op{p.at("fmr").get<double>(), p.at("threshold").get<double>(), p.value("tar", 0.0)};
            if (!(op.fmr > 0 && op.fmr < 1) || !std::isfinite(op.threshold)) invalid("operating point out of range");
            c.points_.push_back(op);
        }
    } catch (const nlohmann::json::exception& e) {
        invalid(std::string("malformed: ") + e.what());
    }
    if (c.points_.empty()) invalid("no operating points");
    std::sort(c.points_.begin(), c.points_.end(), [](auto& a, auto& b) { return a.fmr < b.fmr; });
    return c;
}

Calibration Calibration::load(const std::filesystem::path& file) {
    return from_json(read_text_file(file, "calibration file", input_limit::calibration));
}

const Calibration& Calibration::shipped() {
    static const Calibration calibration = [] {
        if (std::string_view(detail::kShippedCalibrationJson).empty())
            invalid("this build ships no calibration (calibration/default.json was absent); pass --calibration FILE");
        return from_json(detail::kShippedCalibrationJson);
    }();
    return calibration;
}

double Calibration::threshold_for(double fmr) const {
    for (const auto& p : points_)
        if (same_rate(p.fmr, fmr)) return p.threshold;
    if (!(fmr > points_.front().fmr && fmr < points_.back().fmr)) {
        std::ostringstream msg;
        msg << "fmr " << fmr << " is outside the calibrated range [" << points_.front().fmr << ", "
            << points_.back().fmr << "]";
        throw Error(ErrorCode::invalid_argument, msg.str());
    }
    const auto upper = std::find_if(points_.begin(), points_.end(), [&](auto& p) { return p.fmr > fmr; });
    const auto lower = upper - 1;
    const double t = (std::log(fmr) - std::log(lower->fmr)) / (std::log(upper->fmr) - std::log(lower->fmr));
    return lower->threshold + t * (upper->threshold - lower->threshold);
}

}  // namespace faceproof
