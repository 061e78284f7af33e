// faceproof — one analysed face of one image: what the Engine found and computed, once, for
// everything downstream (quality measures, passive and burst liveness, the template, reports).
//
// Made only by the Engine (Engine::context / Engine::analyze). Holds:
//   - the image as given and every face found in it, the analysed (most prominent) face first;
//     only that one has landmarks;
//   - the upright frame: the image turned by the face's rotation (a card photographed sideways) and
//     the face in that frame's coordinates — shared with the image when the rotation is 0, so
//     nothing downstream turns the image again;
//   - the 112x112 aligned crop (ArcFace geometry) and the template made from it, so nothing
//     downstream aligns again;
//   - attributes of the face — head pose and eye state — computed on first use by the Engine's
//     networks and kept: pose and eyes belong to the face, not to a quality report.
// A context may have no face (has_face() false): the quality of an image without a face is still
// reported (NO_FACE).
//
// Contract (dlib style):
//   face(), upright_face(), upright(): require has_face().
//   aligned(): the crop, or empty when the face has no landmarks or could not be aligned (then
//              alignment_failure() says why); face_template(): requires has_template().
//   head_pose(), eye_state(): never throw; a value, or the reason it could not be computed.
//              require the Engine that made the context to be alive (its networks run on first
//              use); after that the values are kept.
// Thread safety: a FaceContext is used by one thread at a time (lazy attributes), the one that owns
// its Engine; copies share the image and the attribute cache.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "faceproof/template.hpp"
#include "faceproof/types.hpp"

namespace faceproof {

struct HeadPose {
    // Measured conventions (fr_pose): yaw > 0 when the face turns towards the image's left edge
    // (subject's right); pitch > 0 when looking up; roll > 0 when rotated clockwise. Degrees.
    double yaw_deg = 0;
    double pitch_deg = 0;
    double roll_deg = 0;
};

struct EyeState {
    double left_open = 0;   // probability the eye on the left of the upright face is open
    double right_open = 0;  // likewise the eye on the right
};

// A value computed on first use, or the reason it could not be.
template <class T>
struct Attribute {
    std::optional<T> value;
    std::string failure;  // set when value is empty
};

class FaceContext {
public:
    static constexpr int kAlignedSide = 112;

    bool has_face() const { return !faces_.empty(); }
    const cv::Mat& image() const { return image_; }
    const std::vector<Face>& faces() const { return faces_; }
    const Face& face() const { return faces_.front(); }

    const cv::Mat& upright() const { return upright_; }
    const Face& upright_face() const { return upright_face_; }

    const cv::Mat& aligned() const { return aligned_; }
    const std::string& alignment_failure() const { return alignment_failure_; }

    bool has_template() const { return face_template_.has_value(); }
    const Template& face_template() const { return *face_template_; }
    // Engine stages that made the context (ms): detect, landmarks, align, embed.
    const StageTimings& timings() const { return timings_; }
    StageTimings& timings() { return timings_; }

    const Attribute<HeadPose>& head_pose() const;
    const Attribute<EyeState>& eye_state() const;

    // The networks behind head_pose() and eye_state(), implemented by the Engine.
    class AttributeEstimators {
    public:
        virtual ~AttributeEstimators() = default;
        virtual HeadPose head_pose(const cv::Mat& upright, const Face& upright_face) = 0;
        virtual EyeState eye_state(const cv::Mat& upright, const Face& upright_face) = 0;
    };

    FaceContext() = default;  // no image, no face
    // For the Engine: faces (analysed one first, may be empty), the alignment and the template.
    FaceContext(cv::Mat image, std::vector<Face> faces, AttributeEstimators* estimators);
    void set_aligned(cv::Mat aligned) { aligned_ = std::move(aligned); }
    void set_alignment_failure(std::string why) { alignment_failure_ = std::move(why); }
    void set_template(Template t) { face_template_ = std::move(t); }

private:
    struct Cache {
        std::optional<Attribute<HeadPose>> pose;
        std::optional<Attribute<EyeState>> eyes;
    };

    cv::Mat image_;
    std::vector<Face> faces_;
    cv::Mat upright_;
    Face upright_face_;
    cv::Mat aligned_;
    std::string alignment_failure_;
    std::optional<Template> face_template_;
    StageTimings timings_;
    AttributeEstimators* estimators_ = nullptr;
    std::shared_ptr<Cache> cache_ = std::make_shared<Cache>();
};

}  // namespace faceproof
