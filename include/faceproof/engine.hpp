// faceproof — the face pipeline: image -> faces -> the analysed face's context (upright frame,
// landmarks, aligned crop, template, attributes on first use). The Engine is the only place the
// stages are sequenced; everything downstream reads the FaceContext it makes.
//
// Engine::create(models, options)
//   requires: models opened with ModelSet::open (verified sums).
//   ensures:  the detection, landmark and embedding networks loaded once; the head-pose and
//             eye-state networks load on the first attribute a context asks for. create() is
//             cheap enough to call once per worker thread.
// Engine::detect(image)
//   ensures: every face with box, score, rotation and landmarks, most prominent first.
// Engine::context(image)
//   ensures: the context of the most prominent face (size and centrality): every face found (the
//            analysed one first, only it with landmarks), its upright frame, aligned crop and
//            template; a context without a face when there is none.
// Engine::context(image, faces)
//   requires: faces as detect() returns them (faces[0] is analysed; its landmarks give the crop
//             and template — without them the context has neither).
// Engine::analyze(image): context(image), but Error{no_face} when there is no face.
// verify(engine, calibration, reference, probe, fmr)
//   ensures: match == (similarity >= calibration.threshold_for(fmr)); throws as analyze does and
//            calibration_invalid when the calibration is for another template model.
// Thread safety: an Engine is NOT reentrant (networks keep state); use one per thread, with the
// contexts it made. ModelSet and Calibration are immutable and shared freely.
#pragma once

#include <memory>
#include <optional>

#include "faceproof/face_context.hpp"
#include "faceproof/image.hpp"
#include "faceproof/calibration.hpp"
#include "faceproof/template.hpp"
#include "faceproof/models.hpp"
#include "faceproof/types.hpp"

namespace faceproof {

struct EngineOptions {
    float detection_threshold = 0.7f;
    bool rgb_embedding = false;  // BGR input: measured choice, see README "Accuracy"
    bool flip_fusion = true;     // measured choice, see README "Accuracy"
    bool detection_fallbacks = true;  // padding, tiling and rotations for ID images
};

class Engine {
public:
    virtual ~Engine() = default;
    virtual std::vector<Face> detect(const cv::Mat& bgr, StageTimings* timings = nullptr) = 0;
    virtual FaceContext context(const cv::Mat& bgr) = 0;
    virtual FaceContext context(const cv::Mat& bgr, std::vector<Face> faces) = 0;
    FaceContext analyze(const cv::Mat& bgr);
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
    FaceContext reference;
    FaceContext probe;
};

VerifyResult verify(Engine& engine, const Calibration& calibration, const cv::Mat& reference,
                    const cv::Mat& probe, double fmr = kDefaultFmr);

}  // namespace faceproof
