#include "util/dnn_net.hpp"

#include "faceproof/error.hpp"

namespace faceproof {

cv::dnn::Net load_network(const ModelSet& models, const std::string& name) {
    const auto& bytes = models.bytes(name);
    try {
        cv::dnn::Net net = cv::dnn::readNetFromONNX(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        return net;
    } catch (const cv::Exception& e) {
        throw Error(ErrorCode::internal, "OpenCV DNN could not load model " + name + ": " + e.what());
    }
}

}  // namespace faceproof
