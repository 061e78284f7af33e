#include "faceproof/engine.hpp"
#include "image/capture_condition.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "align/aligner.hpp"
#include "attributes/eye_state.hpp"
#include "attributes/head_pose.hpp"
#include "detect/face_detector.hpp"
#include "align/rotation.hpp"
#include "embed/embedder.hpp"
#include "faceproof/error.hpp"
#include "landmarks/landmarker.hpp"

namespace faceproof {
namespace {

class Stopwatch {
public:
    double lap_ms() {
        const auto now = std::chrono::steady_clock::now();
        const double ms = std::chrono::duration<double, std::milli>(now - start_).count();
        start_ = now;
        return ms;
    }

private:
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

void add(StageTimings* timings, const char* stage, double ms) {
    if (timings) (*timings)[stage] += ms;
}

// The head-pose and eye-state networks behind FaceContext's attributes, loaded on first use (an
// evaluation that only needs templates never loads them).
class LazyAttributeEstimators final : public FaceContext::AttributeEstimators {
public:
    explicit LazyAttributeEstimators(const ModelSet& models) : models_(models) {}
    HeadPose head_pose(const cv::Mat& upright, const Face& upright_face) override {
        if (!pose_) pose_ = HeadPoseEstimator::create(models_);
        return pose_->estimate(upright, upright_face);
    }
    EyeState eye_state(const cv::Mat& upright, const Face& upright_face) override {
        if (!eyes_) eyes_ = EyeStateClassifier::create(models_);
        return eyes_->classify(upright, upright_face);
    }

private:
    const ModelSet& models_;
    std::unique_ptr<HeadPoseEstimator> pose_;
    std::unique_ptr<EyeStateClassifier> eyes_;
};

class PipelineEngine final : public Engine {
public:
    PipelineEngine(std::shared_ptr<const ModelSet> models, const EngineOptions& options)
        : models_(std::move(models)),
          detector_(FaceDetector::create(*models_, detector_options(options))),
          landmarker_(Landmarker::create(*models_)),
          embedder_(Embedder::create(*models_, {options.rgb_embedding, options.flip_fusion})),
          attributes_(*models_),
          options_(options) {}

    std::vector<Face> detect(const cv::Mat& bgr, StageTimings* timings) override {
        return detect_oriented(bgr, timings, LandmarksFor::every_face).faces;
    }

    Template embed(const cv::Mat& bgr, const Face& face, StageTimings* timings) override {
        return embed_face(bgr, face, timings).face_template;
    }

    FaceContext context(const cv::Mat& bgr) override {
        StageTimings timings;
        Oriented found = detect_oriented(bgr, &timings, LandmarksFor::primary_face);
        FaceContext context(bgr, std::move(found.faces), &attributes_);
        if (found.primary) {
            context.set_aligned(std::move(found.primary->aligned));
            context.set_template(std::move(found.primary->face_template));
        }
        context.timings() = std::move(timings);
        return context;
    }

    FaceContext context(const cv::Mat& bgr, std::vector<Face> faces) override {
        if (bgr.empty() || bgr.type() != CV_8UC3)
            throw Error(ErrorCode::invalid_argument, "expected a non-empty 8-bit BGR image");
        const bool landmarked = !faces.empty() && faces.front().has_landmarks;
        StageTimings timings;
        std::optional<Embedded> primary;
        if (landmarked) {
            try {
                primary = embed_face(bgr, faces.front(), &timings);
            } catch (const std::exception& e) {
                FaceContext context(bgr, std::move(faces), &attributes_);
                context.set_alignment_failure(std::string("alignment failed: ") + e.what());
                return context;
            }
        }
        FaceContext context(bgr, std::move(faces), &attributes_);
        if (primary) {
            context.set_aligned(std::move(primary->aligned));
            context.set_template(std::move(primary->face_template));
        }
        context.timings() = std::move(timings);
        return context;
    }

    const std::string& template_model_id() const override { return embedder_->model_id(); }

private:
    static constexpr double kConfidentUprightNorm = 3.0;
    static constexpr double kBetterOrientationRatio = 1.25;

    static DetectorOptions detector_options(const EngineOptions& o) {
        DetectorOptions d;
        d.score_threshold = o.detection_threshold;
        d.pad_tight_crops = d.tile_large_images = o.detection_fallbacks;
        return d;
    }

    // analyze() needs the landmarks of the face it analyses only: the others are counted (quality's
    // single-face check uses their boxes), and a group photo's extra faces cost a landmark run each.
    enum class LandmarksFor { every_face, primary_face };

    // A face's aligned crop and the template made from it (norm: before normalisation).
    struct Embedded {
        cv::Mat aligned;
        Template face_template;
        double norm = 0;
    };

    struct Oriented {
        std::vector<Face> faces;
        std::optional<Embedded> primary;  // of faces.front(), computed to check the orientation
    };

    // Upright first; the other quarter turns when nothing is found (a card photographed sideways).
    // The detector fires on sideways faces too (scores up to 0.9999 on LFW faces turned 90°), so a
    // face found upright may really lie on its side. A well-aligned upright face has a high
    // embedding norm (60 LFW faces: 2.5-4.6 upright, 1.2-3.0 turned); when the norm is low, the
    // other quarter turns are tried and one is kept only if its norm is clearly higher.
    Oriented detect_oriented(const cv::Mat& bgr, StageTimings* timings, LandmarksFor which) {
        if (bgr.empty() || bgr.type() != CV_8UC3)
            throw Error(ErrorCode::invalid_argument, "expected a non-empty 8-bit BGR image");
        Oriented best;
        for (int rotation : {0, 90, 270, 180}) {
            best.faces = detect_turned(bgr, rotation, timings, which);
            if (!best.faces.empty() || !options_.detection_fallbacks) break;
        }
        if (best.faces.empty()) return best;
        best.primary = embed_face(bgr, best.faces.front(), timings);
        if (!options_.detection_fallbacks || best.primary->norm >= kConfidentUprightNorm) return best;
        for (int rotation : {0, 90, 270, 180}) {
            if (rotation == best.faces.front().rotation) continue;
            std::vector<Face> turned = detect_turned(bgr, rotation, timings, which);
            if (turned.empty()) continue;
            Embedded turned_embedding = embed_face(bgr, turned.front(), timings);
            if (turned_embedding.norm > kBetterOrientationRatio * best.primary->norm)
                best = {std::move(turned), std::move(turned_embedding)};
        }
        return best;
    }

    // Faces of the image turned by rotation, most prominent first, with landmarks (in the image's
    // own coordinates) for every face or the most prominent one only.
    std::vector<Face> detect_turned(const cv::Mat& bgr, int rotation, StageTimings* timings, LandmarksFor which) {
        Stopwatch watch;
        std::vector<Face> faces = detector_->detect(bgr, rotation);
        add(timings, "detect", watch.lap_ms());
        if (faces.empty()) return faces;
        const int primary = most_prominent_face(faces, bgr.size());
        if (primary > 0) std::rotate(faces.begin(), faces.begin() + primary, faces.begin() + primary + 1);
        const cv::Mat upright = rotate_clockwise(bgr, rotation);
        const size_t landmarked = which == LandmarksFor::every_face ? faces.size() : 1;
        for (size_t k = 0; k < landmarked; ++k) {
            Face& face = faces[k];
            const Points68 points = landmarker_->locate(upright, box_to_rotated(face.box, bgr.size(), rotation));
            for (int i = 0; i < 68; ++i) face.landmarks68[i] = from_rotated(points[i], bgr.size(), rotation);
            face.landmarks5 = five_points_from_68(face.landmarks68);
            face.has_landmarks = true;
        }
        add(timings, "landmarks", watch.lap_ms());
        return faces;
    }

    // The one alignment of a face: its crop feeds the embedding and, through the FaceContext, the
    // quality measures.
    Embedded embed_face(const cv::Mat& bgr, const Face& face, StageTimings* timings) {
        if (!face.has_landmarks) throw Error(ErrorCode::invalid_argument, "embed: face has no landmarks");
        Stopwatch watch;
        Embedded e;
        e.aligned = align_face(bgr, face.landmarks5, FaceContext::kAlignedSide);
        add(timings, "align", watch.lap_ms());
        e.face_template = embedder_->embed(e.aligned, &e.norm);
        add(timings, "embed", watch.lap_ms());
        return e;
    }

    std::shared_ptr<const ModelSet> models_;
    std::unique_ptr<FaceDetector> detector_;
    std::unique_ptr<Landmarker> landmarker_;
    std::unique_ptr<Embedder> embedder_;
    LazyAttributeEstimators attributes_;
    EngineOptions options_;
};

}  // namespace

std::unique_ptr<Engine> Engine::create(std::shared_ptr<const ModelSet> models, const EngineOptions& options) {
    if (!models) throw Error(ErrorCode::invalid_argument, "Engine::create: no models");
    return std::make_unique<PipelineEngine>(std::move(models), options);
}

int most_prominent_face(const std::vector<Face>& faces, cv::Size size) {
    int best = -1;
    double best_score = -1;
    const cv::Point2f centre(size.width / 2.f, size.height / 2.f);
    const double half_diagonal = std::hypot(size.width, size.height) / 2.0;
    for (int i = 0; i < static_cast<int>(faces.size()); ++i) {
        const cv::Rect2f& b = faces[i].box;
        const cv::Point2f c(b.x + b.width / 2, b.y + b.height / 2);
        const double off_centre = half_diagonal > 0 ? cv::norm(c - centre) / half_diagonal : 0;
        const double score = std::sqrt(b.area()) * (1.0 - 0.5 * off_centre);
        if (score > best_score) {
            best_score = score;
            best = i;
        }
    }
    return best;
}

FaceContext Engine::analyze(const cv::Mat& bgr) {
    FaceContext found = context(bgr);
    if (!found.has_face()) {
        // Say why when the image shows it, so the person can fix it (and not just retake it).
        const std::string why = describe_capture_condition(capture_condition(bgr));
        throw Error(ErrorCode::no_face, "no face found in the image" + (why.empty() ? "" : ": " + why));
    }
    return found;
}

namespace {
// Errors name the image they concern, so a user knows which photo to retake.
FaceContext analyze_as(Engine& engine, const cv::Mat& image, const char* role) {
    try {
        return engine.analyze(image);
    } catch (const Error& e) {
        throw Error(e.code(), std::string(role) + " image: " + e.what());
    }
}
}  // namespace

VerifyResult verify(Engine& engine, const Calibration& calibration, const cv::Mat& reference, const cv::Mat& probe,
                    double fmr) {
    if (calibration.model_id() != engine.template_model_id())
        throw Error(ErrorCode::calibration_invalid, "calibration is for template model '" + calibration.model_id() +
                                                        "', the engine makes '" + engine.template_model_id() + "'");
    VerifyResult result;
    result.fmr = fmr;
    result.threshold = calibration.threshold_for(fmr);
    result.reference = analyze_as(engine, reference, "reference");
    result.probe = analyze_as(engine, probe, "probe");
    result.similarity = similarity(result.reference.face_template(), result.probe.face_template());
    result.match = result.similarity >= result.threshold;
    return result;
}

}  // namespace faceproof
