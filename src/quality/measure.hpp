// One quality measure: a class with one method that reads the shared context and returns the
// native value, its 0-100 score and the verdict against the profile's thresholds.
//
// Measure::assess
//   requires: context built for the image being assessed.
//   ensures:  a result named name(); assessed == false with a failure text when an input the
//             measure needs is missing (no face, no landmarks, a network that failed). May throw;
//             the assessor records an exception as a failure to assess of this measure only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "faceproof/quality.hpp"
#include "quality/profiles.hpp"
#include "quality/quality_session.hpp"

namespace faceproof {

class Measure {
public:
    explicit Measure(std::string name) : name_(std::move(name)) {}
    virtual ~Measure() = default;
    const std::string& name() const { return name_; }
    virtual MeasureResult assess(const QualitySession& context, const Thresholds& thresholds) const = 0;

protected:
    // A result that could not be assessed.
    MeasureResult failed_to_assess(std::string why) const {
        MeasureResult r;
        r.measure = name_;
        r.failure = std::move(why);
        return r;
    }
    // An assessed result; feedback is set only when it does not pass.
    MeasureResult judged(double native, std::string unit, double score, bool pass, const std::string& code) const {
        MeasureResult r;
        r.measure = name_;
        r.assessed = true;
        r.native = native;
        r.unit = std::move(unit);
        r.score = score;
        r.pass = pass;
        if (!pass) r.feedback = code;
        return r;
    }

private:
    std::string name_;
};

// Every measure, in the fixed order of reports (see measures.cpp for the list).
const std::vector<std::unique_ptr<Measure>>& all_measures();

}  // namespace faceproof
