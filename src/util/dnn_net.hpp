// Loading an ONNX model from verified bytes into an OpenCV DNN network.
#pragma once

#include <string>

#include <opencv2/dnn.hpp>

#include "faceproof/models.hpp"

namespace faceproof {

// A network for one model of the manifest, on OpenCV's own CPU backend, with our depthwise
// convolution and block permute layers where OpenCV 4.6's are slow (see dnn_net.cpp); fr_detect
// and fr_landmark keep OpenCV's depthwise convolution so their outputs stay bit for bit.
// Throws Error{internal} when OpenCV cannot parse the file.
cv::dnn::Net load_network(const ModelSet& models, const std::string& name);

}  // namespace faceproof
