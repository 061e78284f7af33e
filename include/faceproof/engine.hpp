// faceproof — the verification engine: image -> faces -> template -> decision.
//
// Engine::create(models, options)
//   requires: models opened with ModelSet::open (verified sums).
//   ensures:  networks loaded once; create() is cheap enough to call once per worker thread.
// Engine::detect(image)
//   ensures: every face with box, score, rotation and landmarks, most prominent first.
// Engine::analyze(image)
//   ensures: every face (as detect), the most prominent (size and centrality) first, and its template;
//            throws Error{no_face} when there is none.
// verify(engine, calibration, reference, probe, fmr)
//   ensures: match == (similarity >= calibration.threshold_for(fmr)); throws as analyze does and
//            calibration_invalid when the calibration is for another template model.
// Thread safety: an Engine is NOT reentrant (OpenCV DNN networks keep state); use one per thread.
// ModelSet and Calibration are immutable and shared freely.
#pragma once

#include <memory>

#include "faceproof/image.hpp"
#include "faceproof/match.hpp"
#include "faceproof/models.hpp"
#include "faceproof/types.hpp"

namespace faceproof {

struct EngineOptions {
    float detection_threshold = 0.7f;
    bool rgb_embedding = false;  // BGR input: measured choice, see README "Accuracy"
    bool flip_fusion = true;     // measured choice, see README "Accuracy"
    bool detection_fallbacks = true;  // padding, tiling and rotations for ID images
};

struct FaceAnalysis {
    // Every face of the image, the most prominent (the one analysed) first; only that one has
    // landmarks (Engine::detect gives every face its landmarks).
    std::vector<Face> faces;
    Template face_template;   // of faces.front()
    StageTimings timings;    // detect, landmarks, align, embed (ms)
    const Face& primary() const { return faces.front(); }
};

class Engine {
public:
    virtual ~Engine() = default;
    virtual std::vector<Face> detect(const cv::Mat& bgr, StageTimings* timings = nullptr) = 0;
    virtual FaceAnalysis analyze(const cv::Mat& bgr) = 0;
    // Template of one given face (landmarks must be filled, as detect() does).
    virtual Template embed(const cv::Mat& bgr, const Face& face, StageTimings* timings = nullptr) = 0;
    virtual const std::string& template_model_id() const = 0;
    static std::unique_ptr<Engine> create(std::shared_ptr<const ModelSet> models, const EngineOptions& options = {});
};

// Index of the most prominent face: largest and most central (score = sqrt(area) weighted down
// by the distance of its centre from the image centre). -1 when faces is empty.
int most_prominent_face(const std::vector<Face>& faces, cv::Size image_size);

struct VerifyResult {
    bool match = false;
    double similarity = 0;
    double threshold = 0;
    double fmr = 0;
    FaceAnalysis reference;
    FaceAnalysis probe;
};

VerifyResult verify(Engine& engine, const Calibration& calibration, const cv::Mat& reference,
                    const cv::Mat& probe, double fmr = kDefaultFmr);

}  // namespace faceproof
