#include "quality/measures.hpp"

namespace faceproof {

const std::vector<std::unique_ptr<Measure>>& all_measures() {
    static const std::vector<std::unique_ptr<Measure>> measures = [] {
        std::vector<std::unique_ptr<Measure>> m;
        m.push_back(std::make_unique<FacePresent>());
        m.push_back(std::make_unique<SingleFace>());
        m.push_back(std::make_unique<InterEyeDistance>());
        m.push_back(std::make_unique<CropMargins>());
        m.push_back(std::make_unique<HeadPoseAngle>(HeadPoseAngle::Axis::yaw));
        m.push_back(std::make_unique<HeadPoseAngle>(HeadPoseAngle::Axis::pitch));
        m.push_back(std::make_unique<HeadPoseAngle>(HeadPoseAngle::Axis::roll));
        m.push_back(std::make_unique<EyesOpen>());
        m.push_back(std::make_unique<Sharpness>());
        m.push_back(std::make_unique<UnderExposure>());
        m.push_back(std::make_unique<OverExposure>());
        m.push_back(std::make_unique<DynamicRange>());
        m.push_back(std::make_unique<IlluminationUniformity>());
        return m;
    }();
    return measures;
}

}  // namespace faceproof
