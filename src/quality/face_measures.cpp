// Measures of the detection geometry: face_present, single_face, inter_eye_distance, crop_margins.
#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "align/aligner.hpp"
#include "faceproof/error.hpp"
#include "quality/measures.hpp"
#include "quality/scoring.hpp"

namespace faceproof {

MeasureResult FacePresent::assess(const QualitySession& context, const Thresholds&) const {
    const double count = static_cast<double>(context.faces().size());
    const bool pass = count >= 1;
    return judged(count, "faces", pass ? 100 : 0, pass, "NO_FACE");
}

MeasureResult SingleFace::assess(const QualitySession& context, const Thresholds& t) const {
    const Face* primary = context.primary();
    if (!primary) return failed_to_assess("no face");
    const double primary_area = primary->box.area();
    int count = 0;
    for (const Face& f : context.faces())
        if (&f == primary || f.box.area() >= t.significant_face_area * primary_area) ++count;
    return judged(count, "faces", 100.0 / count, count <= t.max_significant_faces, "MULTIPLE_FACES");
}

MeasureResult InterEyeDistance::assess(const QualitySession& context, const Thresholds& t) const {
    const Face* primary = context.primary();
    if (!primary) return failed_to_assess("no face");
    if (!primary->has_landmarks) return failed_to_assess("the face has no landmarks");
    const double distance = cv::norm(primary->landmarks5[1] - primary->landmarks5[0]);
    return judged(distance, "px", scoring::rising(distance, 0, 90), distance >= t.min_inter_eye_px,
                  "FACE_TOO_SMALL");
}

namespace {

// Free space between a rectangle and the image border, relative to the rectangle's size.
double margin_of(const cv::Rect2f& b, cv::Size size) {
    return std::min({b.x / b.width, (size.width - b.x - b.width) / b.width, b.y / b.height,
                     (size.height - b.y - b.height) / b.height});
}

// The median detector box of LFW faces in the coordinates of the aligned 112x112 crop (measured on
// 204 faces): the whole face from the landmarks, whatever part of it the detector saw.
constexpr float kFaceLeft = 17.5f, kFaceTop = 5.f, kFaceRight = 95.f, kFaceBottom = 120.f;
// The landmark-placed face decides only beyond this margin (see CropMargins::assess).
constexpr double kCutTolerance = -0.10;

cv::Rect2f face_from_landmarks(const Face& face) {
    const cv::Matx23d to_aligned =
        similarity_transform(face.landmarks5.data(), arcface_template_112().data(), 5);
    cv::Matx23d to_image;
    cv::invertAffineTransform(to_aligned, to_image);
    float x1 = 1e30f, y1 = 1e30f, x2 = -1e30f, y2 = -1e30f;
    for (const cv::Point2f corner : {cv::Point2f(kFaceLeft, kFaceTop), cv::Point2f(kFaceRight, kFaceTop),
                                     cv::Point2f(kFaceLeft, kFaceBottom), cv::Point2f(kFaceRight, kFaceBottom)}) {
        const float x = static_cast<float>(to_image(0, 0) * corner.x + to_image(0, 1) * corner.y + to_image(0, 2));
        const float y = static_cast<float>(to_image(1, 0) * corner.x + to_image(1, 1) * corner.y + to_image(1, 2));
        x1 = std::min(x1, x), y1 = std::min(y1, y), x2 = std::max(x2, x), y2 = std::max(y2, y);
    }
    return {x1, y1, x2 - x1, y2 - y1};
}

}  // namespace

MeasureResult CropMargins::assess(const QualitySession& context, const Thresholds& t) const {
    const Face* primary = context.primary();
    if (!primary) return failed_to_assess("no face");
    if (primary->box.width <= 0 || primary->box.height <= 0) return failed_to_assess("the face box is empty");
    const cv::Size size = context.image().size();
    double margin = margin_of(primary->box, size);
    // The detector only boxes the visible part of a cut face; the landmarks place the whole face.
    // That placement is coarse (a frontal template fitted to five points drifts sideways with
    // yaw), so it only counts when it clearly crosses the border: faces cut through the eye or
    // cheek measured -0.22 to -0.30, a 20-degree yaw drifts it by up to ~0.25 of a face inward.
    if (primary->has_landmarks) {
        try {
            const cv::Rect2f whole = face_from_landmarks(*primary);
            if (whole.width > 0 && whole.height > 0) {
                const double whole_margin = margin_of(whole, size);
                if (whole_margin < kCutTolerance) margin = std::min(margin, whole_margin);
            }
        } catch (const Error&) {
            // degenerate landmarks: the box alone decides
        }
    }
    return judged(margin, "ratio", scoring::rising(margin, 0, 0.5), margin >= t.min_crop_margin, "FACE_CUT_OFF");
}

}  // namespace faceproof
