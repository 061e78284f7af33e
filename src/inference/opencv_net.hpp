// Loading an ONNX model from verified bytes into an OpenCV DNN network.
#pragma once

#include <string>

#include <opencv2/dnn.hpp>

#include "faceproof/models.hpp"

namespace faceproof {

// A network for one model of the manifest, on OpenCV's own CPU backend, with our depthwise
// convolution, block permute and oneDNN dense convolution layers where OpenCV 4.6's are slow (see
// opencv_net.cpp). Outputs are within 1e-4 relative of OpenCV's own layers, not bit for bit.
// Throws Error{internal} when OpenCV cannot parse the file.
cv::dnn::Net load_network(const ModelSet& models, const std::string& name);

}  // namespace faceproof
