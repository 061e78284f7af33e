// The quality measures. Each reads the QualitySession and one profile's Thresholds; natives,
// units, scores and feedback codes are documented at each class.
#pragma once

#include "quality/measure.hpp"

namespace faceproof {

// --- face_measures.cpp ---------------------------------------------------------------------------

// face_present: number of detected faces (unit "faces"); fails with NO_FACE when there is none.
// Score 100 with a face, 0 without.
class FacePresent final : public Measure {
public:
    FacePresent() : Measure("face_present") {}
    MeasureResult assess(const QualitySession& context, const Thresholds& thresholds) const override;
};

// single_face: number of significant faces (unit "faces"): the primary face plus every other face
// whose box area is at least thresholds.significant_face_area (25 %) of the primary's, i.e. whose
// side is at least half the primary's. A ghost portrait on an ID card (about a third of the
// main portrait's side) or a person far behind does not count. MULTIPLE_FACES above
// max_significant_faces. Score 100 / count.
class SingleFace final : public Measure {
public:
    SingleFace() : Measure("single_face") {}
    MeasureResult assess(const QualitySession& context, const Thresholds& thresholds) const override;
};

// inter_eye_distance: pixels between the two eye centres (landmarks5[0], [1]) in the image (unit
// "px"). FACE_TOO_SMALL below min_inter_eye_px. Score rising linearly from 0 px to 90 px, the
// ISO/IEC 19794-5 minimum for a full-frontal portrait.
class InterEyeDistance final : public Measure {
public:
    InterEyeDistance() : Measure("inter_eye_distance") {}
    MeasureResult assess(const QualitySession& context, const Thresholds& thresholds) const override;
};

// crop_margins: the smallest free space between the face and the image border, as a share of the
// face's size (left/right sides relative to its width, top/bottom to its height; unit "ratio");
// negative when the face sticks out of the image. The face is the detection box, and with
// landmarks also the whole face placed from the five points when that reaches more than 10 % of
// its size beyond the border (the detector boxes only the visible part of a cut face); the smaller
// margin counts. FACE_CUT_OFF below min_crop_margin. Score rising from 0 (touching) to 100 at half
// a face.
class CropMargins final : public Measure {
public:
    CropMargins() : Measure("crop_margins") {}
    MeasureResult assess(const QualitySession& context, const Thresholds& thresholds) const override;
};

// --- attribute_measures.cpp ----------------------------------------------------------------------

// head_pose_yaw / head_pose_pitch / head_pose_roll: the angle from the head pose network (unit
// "deg", signed; conventions in attributes/head_pose.hpp). LOOK_STRAIGHT when |angle| exceeds the
// profile's limit. Score 100 cos^2(angle).
class HeadPoseAngle final : public Measure {
public:
    enum class Axis { yaw, pitch, roll };
    explicit HeadPoseAngle(Axis axis);
    MeasureResult assess(const QualitySession& context, const Thresholds& thresholds) const override;

private:
    Axis axis_;
};

// eyes_open: probability that the more open of the two eyes is open (unit "probability").
// The more open eye, not the less open one: single-eye readings of fr_eye are noisy (15 % of open
// LFW eyes read closed), while a blink closes both. EYES_CLOSED below min_eye_open. Score 100 p.
class EyesOpen final : public Measure {
public:
    EyesOpen() : Measure("eyes_open") {}
    MeasureResult assess(const QualitySession& context, const Thresholds& thresholds) const override;
};

// --- photometric_measures.cpp --------------------------------------------------------------------
// All read the luminance of the aligned 112x112 crop inside the face outline (context.face_mask()),
// so they compare across face sizes.

// sharpness: fine-detail (Laplacian) variance over band-pass variance of the aligned face (unit
// "ratio", details in photometric_measures.cpp). BLURRY below min_sharpness. Score rising from
// 0.03 to 0.25.
class Sharpness final : public Measure {
public:
    Sharpness() : Measure("sharpness") {}
    MeasureResult assess(const QualitySession& context, const Thresholds& thresholds) const override;
};

// under_exposure: the 90th percentile of face luminance (unit "grey levels"): how bright the lit
// parts of the face are. TOO_DARK below min_highlight_level. Not the share of dark pixels: that
// flagged well-lit dark-skinned and bearded faces (a quarter of their pixels are below 50 while
// their highlights reach 120-140), the highlights do not. Score rising from 40 to 140.
class UnderExposure final : public Measure {
public:
    UnderExposure() : Measure("under_exposure") {}
    MeasureResult assess(const QualitySession& context, const Thresholds& thresholds) const override;
};

// over_exposure: share of face pixels brighter than kBrightLevel (unit "ratio"). TOO_BRIGHT above
// max_bright_share. Score falling from 100 at 0 to 0 at 0.5.
class OverExposure final : public Measure {
public:
    static constexpr int kBrightLevel = 235;
    OverExposure() : Measure("over_exposure") {}
    MeasureResult assess(const QualitySession& context, const Thresholds& thresholds) const override;
};

// dynamic_range: 95th minus 5th percentile of face luminance (unit "grey levels").
// LOW_CONTRAST below min_dynamic_range. Score rising from 0 to 100 at 128 grey levels.
class DynamicRange final : public Measure {
public:
    DynamicRange() : Measure("dynamic_range") {}
    MeasureResult assess(const QualitySession& context, const Thresholds& thresholds) const override;
};

// illumination_uniformity: mean luminance of the darker half of the face (left or right of the
// aligned crop's vertical centre line) over that of the brighter half (unit "ratio", 1 = even).
// UNEVEN_LIGHTING below min_illumination_ratio. Score 100 ratio.
class IlluminationUniformity final : public Measure {
public:
    IlluminationUniformity() : Measure("illumination_uniformity") {}
    MeasureResult assess(const QualitySession& context, const Thresholds& thresholds) const override;
};

}  // namespace faceproof
