// The lean ONNX executor on oneDNN (see onednn_executor.hpp). Why it is faster than OpenCV DNN 4.6
// on our models (measured with scripts/bench_models.sh): activations stay in oneDNN's own layouts
// between convolutions (no reorder per layer), convolutions run oneDNN's JIT kernels with bias,
// ReLU and the residual Add applied in the same pass, 3x3 depthwise convolutions run our NHWC
// kernel with bias and (P)ReLU fused (cpu_kernels.cpp), and the per-layer dispatch is one call per
// step (no per-layer allocation, shape checks or name look-ups).
//
// A model is read once (onednn_graph.hpp), planned once per input shape (onednn_plan.hpp: one file
// per operator family; transient activations in pooled buffers, buffer_pool.hpp), and a run
// executes the plan's steps in order.
#include "inference/onednn_executor.hpp"

#include <cstring>
#include <map>

#include "faceproof/error.hpp"
#include "inference/onednn_graph.hpp"
#include "inference/onednn_plan.hpp"
#include "inference/onednn_runtime.hpp"

namespace faceproof {
namespace {

using executor::Dims;
using executor::engine;
using executor::Plan;
using executor::Step;

class Executor final : public OnednnExecutor {
public:
    Executor(const std::vector<std::uint8_t>& bytes, std::string model, std::vector<std::string> outputs)
        : graph_(bytes, std::move(model), std::move(outputs)) {
        executor::require_supported_operators(graph_);
    }

    void run(const cv::Mat& input, std::vector<cv::Mat>& outputs) override {
        if (input.type() != CV_32F || !input.isContinuous())
            throw Error(ErrorCode::internal, "onednn executor: input must be a continuous float blob");
        Plan& plan = plan_for(Dims(input.size.p, input.size.p + input.dims));
        if (input.data != plan.input.get_data_handle())
            std::memcpy(plan.input.get_data_handle(), input.ptr<float>(), input.total() * sizeof(float));
        dnnl::stream stream(engine());
        for (Step& step : plan.steps) {
            if (step.plain)
                step.plain();
            else
                step.primitive.execute(stream, step.args);
        }
        stream.wait();
        outputs.resize(plan.outputs.size());
        for (size_t k = 0; k < plan.outputs.size(); ++k) {
            const Dims& d = plan.output_dims[k];
            const std::vector<int> sizes(d.begin(), d.end());
            outputs[k] = cv::Mat(static_cast<int>(sizes.size()), sizes.data(), CV_32F, plan.outputs[k].get_data_handle());
        }
    }

    cv::Mat input_buffer(const std::vector<int>& shape) override {
        Plan& plan = plan_for(Dims(shape.begin(), shape.end()));
        return cv::Mat(static_cast<int>(shape.size()), shape.data(), CV_32F, plan.input.get_data_handle());
    }

private:
    Plan& plan_for(const Dims& shape) {
        use_one_openmp_thread();  // before the plan is built (see onednn_runtime.hpp)
        auto it = plans_.find(shape);
        if (it == plans_.end()) it = plans_.emplace(shape, executor::Planner(graph_).build(shape)).first;
        return it->second;
    }

    const executor::Graph graph_;
    std::map<Dims, Plan> plans_;  // by input shape
};

}  // namespace

std::unique_ptr<OnednnExecutor> OnednnExecutor::create(const std::vector<std::uint8_t>& onnx, const std::string& model,
                                                       std::vector<std::string> outputs) {
    return std::make_unique<Executor>(onnx, model, std::move(outputs));
}

}  // namespace faceproof
