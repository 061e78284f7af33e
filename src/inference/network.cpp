#include "inference/network.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <cstdlib>

#include <oneapi/dnnl/dnnl.hpp>
#include <opencv2/dnn.hpp>

#include "faceproof/error.hpp"
#include "inference/onednn_executor.hpp"
#include "inference/opencv_net.hpp"

namespace faceproof {
namespace {

// -1: not set by the program (the environment decides).
std::atomic<int> g_backend{-1};

class OnednnNetwork final : public Network {
public:
    OnednnNetwork(const ModelSet& models, const std::string& name, std::vector<std::string> outputs)
        : name_(name), executor_(OnednnExecutor::create(models.bytes(name), name, std::move(outputs))) {}

    void run(const cv::Mat& input, std::vector<cv::Mat>& outputs) override {
        try {
            executor_->run(input, outputs);
        } catch (const dnnl::error& e) {
            throw Error(ErrorCode::internal, "model " + name_ + ": oneDNN failed: " + e.what());
        }
    }
    cv::Mat input_buffer(const std::vector<int>& shape) override {
        try {
            return executor_->input_buffer(shape);
        } catch (const dnnl::error& e) {
            throw Error(ErrorCode::internal, "model " + name_ + ": oneDNN failed: " + e.what());
        }
    }
    InferenceBackend backend() const override { return InferenceBackend::onednn; }

private:
    std::string name_;
    std::unique_ptr<OnednnExecutor> executor_;
};

class OpenCvNetwork final : public Network {
public:
    OpenCvNetwork(const ModelSet& models, const std::string& name, std::vector<std::string> outputs)
        : name_(name), net_(load_network(models, name)), outputs_(outputs.begin(), outputs.end()) {
        if (outputs_.empty()) outputs_ = net_.getUnconnectedOutLayersNames();
    }

    void run(const cv::Mat& input, std::vector<cv::Mat>& outputs) override {
        try {
            net_.setInput(input);
            net_.forward(outputs, outputs_);
        } catch (const cv::Exception& e) {
            throw Error(ErrorCode::internal, "model " + name_ + ": OpenCV DNN failed: " + e.what());
        }
    }
    cv::Mat input_buffer(const std::vector<int>& shape) override {
        input_.create(static_cast<int>(shape.size()), shape.data(), CV_32F);
        return input_;
    }
    InferenceBackend backend() const override { return InferenceBackend::opencv; }

private:
    std::string name_;
    cv::dnn::Net net_;
    cv::Mat input_;
    std::vector<cv::String> outputs_;
};

}  // namespace

InferenceBackend parse_inference_backend(const std::string& name) {
    if (name == "onednn") return InferenceBackend::onednn;
    if (name == "opencv") return InferenceBackend::opencv;
    throw Error(ErrorCode::invalid_argument, "unknown inference backend '" + name + "' (onednn or opencv)");
}

const char* to_string(InferenceBackend backend) { return backend == InferenceBackend::opencv ? "opencv" : "onednn"; }

InferenceBackend inference_backend() {
    const int set = g_backend.load();
    if (set >= 0) return static_cast<InferenceBackend>(set);
    const char* env = std::getenv("FACEPROOF_BACKEND");
    return env != nullptr && *env != '\0' ? parse_inference_backend(env) : InferenceBackend::onednn;
}

void set_inference_backend(InferenceBackend backend) { g_backend.store(static_cast<int>(backend)); }

std::unique_ptr<Network> open_network(const ModelSet& models, const std::string& name,
                                      std::vector<std::string> outputs) {
    return open_network(models, name, std::move(outputs), inference_backend());
}

namespace {
std::mutex opened_mutex;
std::map<std::string, std::uint64_t> opened;
}  // namespace

std::uint64_t networks_opened(const std::string& name) {
    std::lock_guard lock(opened_mutex);
    const auto it = opened.find(name);
    return it == opened.end() ? 0 : it->second;
}

std::unique_ptr<Network> open_network(const ModelSet& models, const std::string& name, std::vector<std::string> outputs,
                                      InferenceBackend backend) {
    {
        std::lock_guard lock(opened_mutex);
        ++opened[name];
    }
    if (backend == InferenceBackend::opencv) return std::make_unique<OpenCvNetwork>(models, name, std::move(outputs));
    return std::make_unique<OnednnNetwork>(models, name, std::move(outputs));
}

}  // namespace faceproof
