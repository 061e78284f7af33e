// One model's network, on the inference backend in force: faceproof's oneDNN executor (default)
// or OpenCV DNN 4.6 with faceproof's layers (the reference, `--backend opencv`).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "faceproof/models.hpp"

namespace faceproof {

enum class InferenceBackend { onednn, opencv };

// The backend networks opened from now on use: the one set by set_inference_backend(), else
// $FACEPROOF_BACKEND ("onednn" or "opencv"), else onednn.
// thread safety: set before the engines are created; reading is safe from any thread.
InferenceBackend inference_backend();
void set_inference_backend(InferenceBackend backend);
// "onednn" or "opencv"; anything else is Error{invalid_argument}.
InferenceBackend parse_inference_backend(const std::string& name);
const char* to_string(InferenceBackend backend);

class Network {
public:
    virtual ~Network() = default;

    // requires: input is a continuous CV_32F blob of the shape the model takes (any batch).
    // ensures:  outputs[i] is the i-th output named at open_network (the model's outputs when none
    //           were named), plain row-major in the model's shape, valid until the next run; a
    //           failure inside the backend is Error{internal}.
    // thread safety: one instance per thread.
    virtual void run(const cv::Mat& input, std::vector<cv::Mat>& outputs) = 0;

    // ensures: a CV_32F blob of `shape` to write the next input into; run() on it spares copying
    //          the input (the oneDNN executor hands out its plan's own input buffer). Valid until
    //          input_buffer or run is called with another shape; its contents after a run are
    //          unspecified.
    virtual cv::Mat input_buffer(const std::vector<int>& shape) = 0;

    virtual InferenceBackend backend() const = 0;
};

// ensures: a network for model `name` of models (its bytes already verified), on `backend`.
std::unique_ptr<Network> open_network(const ModelSet& models, const std::string& name,
                                      std::vector<std::string> outputs = {});
std::unique_ptr<Network> open_network(const ModelSet& models, const std::string& name, std::vector<std::string> outputs,
                                      InferenceBackend backend);

// Networks open_network has opened in this process under name: a test checks that a worker loads
// each network once.
std::uint64_t networks_opened(const std::string& name);

}  // namespace faceproof
