// Presentation-attack-detection error rates (ISO/IEC 30107-3), pure functions over scores.
//
// A presentation is accepted as live when it has a score and score >= threshold. A presentation
// without a score (no face detected, image unreadable) is rejected at every threshold: an attack
// without a face cannot be accepted; a bona fide without a face is a BPCER error.
//   APCER(type)  = accepted attacks of that type / attacks of that type
//   APCER        = max over attack types of APCER(type) (30107-3: the worst PAI species)
//   BPCER        = rejected bona fide / bona fide
//   ACER         = (APCER + BPCER) / 2
// threshold_at_apcer(p, target): the smallest threshold at which every attack type's APCER <=
// target (ties count as accepted). `resolvable` is false when some type has so few presentations
// that the target allows none of them to pass (then the threshold is just above that type's
// highest score and the achieved APCER is 0 for it).
// Thread safety: pure and reentrant.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "faceproof/error.hpp"

namespace faceproof::pad {

struct Presentation {
    bool bona_fide = false;
    std::string attack_type;      // ignored for bona fide
    std::optional<double> score;  // empty: no face / not scored -> rejected at every threshold
};

inline bool accepted(const Presentation& p, double threshold) { return p.score && *p.score >= threshold; }

struct AttackTypeRate {
    int presentations = 0;
    int accepted = 0;
    double apcer = 0;
};

struct PadRates {
    double threshold = 0;
    std::map<std::string, AttackTypeRate> per_attack_type;
    double apcer = 0;                 // worst attack type
    std::string worst_attack_type;
    int attacks = 0;
    int attacks_accepted = 0;
    double apcer_pooled = 0;          // all attacks together (for reference; not the 30107-3 APCER)
    int bona_fide = 0;
    int bona_fide_rejected = 0;
    double bpcer = 0;
    double acer = 0;
};

inline PadRates pad_rates(const std::vector<Presentation>& presentations, double threshold) {
    PadRates r;
    r.threshold = threshold;
    for (const auto& p : presentations) {
        if (p.score && !std::isfinite(*p.score)) throw Error(ErrorCode::invalid_argument, "pad_rates: score not finite");
        const bool acc = accepted(p, threshold);
        if (p.bona_fide) {
            ++r.bona_fide;
            r.bona_fide_rejected += !acc;
        } else {
            auto& t = r.per_attack_type[p.attack_type];
            ++t.presentations;
            t.accepted += acc;
            ++r.attacks;
            r.attacks_accepted += acc;
        }
    }
    if (r.bona_fide == 0 || r.attacks == 0)
        throw Error(ErrorCode::invalid_argument, "pad_rates: needs bona fide and attack presentations");
    r.apcer = -1;
    for (auto& [type, t] : r.per_attack_type) {
        t.apcer = static_cast<double>(t.accepted) / t.presentations;
        if (t.apcer > r.apcer) {  // ties: the first type by name
            r.apcer = t.apcer;
            r.worst_attack_type = type;
        }
    }
    r.apcer_pooled = static_cast<double>(r.attacks_accepted) / r.attacks;
    r.bpcer = static_cast<double>(r.bona_fide_rejected) / r.bona_fide;
    r.acer = (r.apcer + r.bpcer) / 2;
    return r;
}

inline double threshold_at_apcer(const std::vector<Presentation>& presentations, double target,
                                 bool* resolvable = nullptr) {
    if (!(target >= 0 && target <= 1)) throw Error(ErrorCode::invalid_argument, "threshold_at_apcer: target outside [0, 1]");
    std::map<std::string, std::vector<double>> scores;  // scored attacks per type
    std::map<std::string, std::size_t> counts;          // all attacks per type
    for (const auto& p : presentations) {
        if (p.bona_fide) continue;
        ++counts[p.attack_type];
        if (p.score) {
            if (!std::isfinite(*p.score)) throw Error(ErrorCode::invalid_argument, "threshold_at_apcer: score not finite");
            scores[p.attack_type].push_back(*p.score);
        }
    }
    if (counts.empty()) throw Error(ErrorCode::invalid_argument, "threshold_at_apcer: no attack presentations");
    bool ok = true;
    double threshold = -std::numeric_limits<double>::infinity();
    for (const auto& [type, n] : counts) {
        auto s = scores[type];
        // A copy of the binding: clang before 16 cannot capture a structured binding.
        const auto share = [n = n](std::size_t k) { return static_cast<double>(k) / static_cast<double>(n); };
        // Most accepted attacks of this type with share <= target (exactly as the share is computed).
        auto allowed = static_cast<std::size_t>(std::floor(target * static_cast<double>(n)));
        if (allowed < n && share(allowed + 1) <= target) ++allowed;
        while (allowed > 0 && share(allowed) > target) --allowed;
        if (allowed == 0 && target > 0) ok = false;
        if (allowed >= s.size()) continue;  // even accepting every scored attack of the type is fine
        // Scores sorted descending: t just above s[allowed] lets at most `allowed` through.
        std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(allowed), s.end(), std::greater<>());
        threshold = std::max(threshold, std::nextafter(s[allowed], std::numeric_limits<double>::infinity()));
    }
    if (resolvable) *resolvable = ok;
    if (!std::isfinite(threshold)) {  // no attack needs rejecting: accept everything that was scored
        double lowest = std::numeric_limits<double>::infinity();
        for (const auto& p : presentations)
            if (p.score) lowest = std::min(lowest, *p.score);
        threshold = std::isfinite(lowest) ? lowest : 0.0;
    }
    return threshold;
}

struct DetPoint {
    double threshold = 0;
    double apcer = 0;  // worst attack type
    double bpcer = 0;
    std::map<std::string, double> apcer_per_type;
};

// One point per distinct operating point, by increasing threshold: first the lowest score (every
// scored presentation accepted), then just above each distinct score (the lowest threshold that
// rejects it), so each point's threshold is the lowest one giving its rates.
inline std::vector<DetPoint> det_curve(const std::vector<Presentation>& presentations) {
    std::vector<double> scores;
    for (const auto& p : presentations)
        if (p.score) scores.push_back(*p.score);
    std::sort(scores.begin(), scores.end());
    scores.erase(std::unique(scores.begin(), scores.end()), scores.end());
    std::vector<double> thresholds;
    if (!scores.empty()) thresholds.push_back(scores.front());
    for (double s : scores) thresholds.push_back(std::nextafter(s, std::numeric_limits<double>::infinity()));
    if (thresholds.empty()) thresholds.push_back(0.0);  // nothing scored: everything is rejected anyway
    std::vector<DetPoint> curve;
    for (double t : thresholds) {
        const PadRates r = pad_rates(presentations, t);
        DetPoint d{t, r.apcer, r.bpcer, {}};
        for (const auto& [type, rate] : r.per_attack_type) d.apcer_per_type[type] = rate.apcer;
        curve.push_back(std::move(d));
    }
    return curve;
}

// Equal-error point of the worst-type APCER and BPCER: the curve point minimising |APCER - BPCER|
// (lowest threshold on ties); its error is reported as (APCER + BPCER) / 2.
inline DetPoint equal_error_point(const std::vector<DetPoint>& curve) {
    if (curve.empty()) throw Error(ErrorCode::invalid_argument, "equal_error_point: empty curve");
    return *std::min_element(curve.begin(), curve.end(), [](const DetPoint& a, const DetPoint& b) {
        return std::abs(a.apcer - a.bpcer) < std::abs(b.apcer - b.bpcer);
    });
}

}  // namespace faceproof::pad
