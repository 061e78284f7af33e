// A lean executor for the ONNX models faceproof ships: the graph is read once (Debian's
// libonnx protobuf types), its shape computations are folded for the input shape in use, and the
// remaining operators run as oneDNN primitives in oneDNN's own layouts — batch normalisation and
// constant scales folded into convolutions, ReLU and the residual Add fused into them — plus our
// NHWC depthwise convolution with (P)ReLU fused and plain loops for the few small operators oneDNN
// has no primitive for (Transpose, Slice, Softmax's shift and sum, box decoding arithmetic;
// cpu_kernels.hpp). Activations read once, by a convolution, concatenation or max pooling, share
// pooled buffers, so a run touches a small, cache-warm working set, not one buffer per activation.
//
// Supported: the operators of the six shipped models (opset 9) — any other operator, or an
// attribute outside what those models use, is refused with Error{internal} naming it, at load.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace faceproof {

class OnednnExecutor {
public:
    // requires: onnx holds a model of the supported operators; outputs names graph values (empty:
    //           the graph's outputs, in order).
    // ensures:  throws Error{internal} naming the first unsupported operator or a malformed graph.
    static std::unique_ptr<OnednnExecutor> create(const std::vector<std::uint8_t>& onnx, const std::string& model,
                                                  std::vector<std::string> outputs = {});
    virtual ~OnednnExecutor() = default;

    // requires: input is a continuous CV_32F blob (N-d) of the shape the graph takes (any batch).
    // ensures:  outputs[i] holds the i-th requested output (plain row-major, ONNX shape); the Mats
    //           stay valid until the next run. The plan for an input shape is built at its first run.
    // thread safety: one instance per thread (not reentrant); instances are independent.
    virtual void run(const cv::Mat& input, std::vector<cv::Mat>& outputs) = 0;

    // ensures: the plan's own input buffer for `shape` (the plan is built if new) as a CV_32F
    //          blob; run() on it skips the input copy. Its contents after a run are unspecified.
    virtual cv::Mat input_buffer(const std::vector<int>& shape) = 0;
};

}  // namespace faceproof
