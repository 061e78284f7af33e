// Raw network forward of each shipped model, one OpenCV thread, on a fixed input of the shape
// the pipeline feeds it (Google Benchmark; not a test). scripts/bench_models.sh runs these
// (--benchmark_filter=BM_Model) next to ONNX Runtime on the same files (bench/ort/run.mjs).
//   BM_Model/<model>             batch 1, the input the stage feeds
//   BM_Model/fr_feature_x2       the embedder's batch of 2 (crop + mirrored crop, flip fusion)
//   BM_Model/*_x4                a batch of 4 (four faces, or two requests' flip pairs, in one
//                                call): what batching per-face models across faces or requests
//                                would cost per item
// Inputs are uniform noise in the stage's value range (fixed seed): the arithmetic does not depend
// on the values, and both runtimes see the same kind of data.
// The backend is the one in force (inference_backend(): $FACEPROOF_BACKEND, default onednn);
// FACEPROOF_BACKEND=opencv FACEPROOF_DNN_REFERENCE=1 runs OpenCV DNN with its own layers only
// (the "before" column of scripts/bench_models.sh).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include <opencv2/core/utility.hpp>

#include "faceproof/models.hpp"
#include "inference/network.hpp"

using namespace faceproof;

namespace {

const std::shared_ptr<const ModelSet>& model_set() {
    static const auto set = ModelSet::open(resolve_model_dir(std::nullopt));
    return set;
}

struct ModelCase {
    const char* label;
    const char* model;
    std::vector<int> shape;
    float low, high;  // value range of the stage's preprocessing
    std::vector<std::string> outputs;  // as the stage requests them (none: the network's output)
};

const std::vector<ModelCase>& cases() {
    static const std::vector<ModelCase> all = {
        {"fr_detect", "fr_detect", {1, 3, 240, 320}, -1.f, 1.f, {"boxes", "scores"}},
        {"fr_landmark", "fr_landmark", {1, 1, 64, 64}, 0.f, 1.f},
        {"fr_landmark_x4", "fr_landmark", {4, 1, 64, 64}, 0.f, 1.f},
        {"fr_feature", "fr_feature", {1, 3, 112, 112}, -1.f, 1.f},
        {"fr_feature_x2", "fr_feature", {2, 3, 112, 112}, -1.f, 1.f},
        {"fr_feature_x4", "fr_feature", {4, 3, 112, 112}, -1.f, 1.f},
        {"fr_liveness", "fr_liveness", {1, 3, 128, 128}, 0.f, 255.f},
        {"fr_pose", "fr_pose", {1, 3, 224, 224}, -2.f, 2.f, {"output", "617", "618"}},
        {"fr_eye", "fr_eye", {1, 1, 24, 24}, 0.f, 1.f},
    };
    return all;
}

// As the stages run them: one network reused, the input written into the network's own input
// buffer before every call (not timed: that is the stage's preprocessing, and ORT's figure is
// session.run() on a ready tensor), the outputs the stage uses.
void BM_Model(benchmark::State& state, const ModelCase& c) {
    cv::setNumThreads(1);
    const auto network = open_network(*model_set(), c.model, c.outputs);
    cv::Mat noise(c.shape, CV_32F);
    cv::RNG rng(20240601);
    rng.fill(noise, cv::RNG::UNIFORM, c.low, c.high);
    std::vector<cv::Mat> outputs;
    for (auto _ : state) {
        state.PauseTiming();
        cv::Mat blob = network->input_buffer(c.shape);
        noise.copyTo(blob);
        state.ResumeTiming();
        network->run(blob, outputs);
        benchmark::DoNotOptimize(outputs[0].data);
        benchmark::ClobberMemory();
    }
    state.SetLabel(to_string(network->backend()));
}

const bool registered = [] {
    for (const ModelCase& c : cases())
        benchmark::RegisterBenchmark((std::string("BM_Model/") + c.label).c_str(), BM_Model, c)
            ->Unit(benchmark::kMillisecond);
    return true;
}();

}  // namespace
