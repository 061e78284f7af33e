// Speed of each pipeline stage and of a whole verification (Google Benchmark; not a test).
//   build/faceproof_bench [--benchmark_filter=...]
// Input: test-data/face-api/sample6.jpg (scripts/setup.sh fetches it) scaled to 640x480.
// Single-thread figures pin OpenCV to one thread; the Threads(2) variants run one engine per thread.
#include <benchmark/benchmark.h>

#include <fstream>
#include <iostream>

#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "align/aligner.hpp"
#include "detect/face_detector.hpp"
#include "embed/embedder.hpp"
#include "faceproof/engine.hpp"
#include "faceproof/proofing.hpp"
#include "landmarks/landmarker.hpp"

using namespace faceproof;

namespace {

const std::shared_ptr<const ModelSet>& models() {
    static const auto set = ModelSet::open(resolve_model_dir(std::nullopt));
    return set;
}

const cv::Mat& sample_640x480() {
    static const cv::Mat image = [] {
        const std::string path = std::string(FACEPROOF_SOURCE_DIR) + "/test-data/face-api/sample6.jpg";
        cv::Mat full = load_image(path), out;
        cv::resize(full, out, {640, 480}, 0, 0, cv::INTER_AREA);
        return out;
    }();
    return image;
}

const std::vector<std::uint8_t>& sample_jpeg() {
    static const std::vector<std::uint8_t> bytes = [] {
        std::vector<std::uint8_t> out;
        cv::imencode(".jpg", sample_640x480(), out, {cv::IMWRITE_JPEG_QUALITY, 90});
        return out;
    }();
    return bytes;
}

const Face& sample_face() {
    static const Face face = [] {
        auto engine = Engine::create(models());
        return engine->detect(sample_640x480()).at(0);
    }();
    return face;
}

void one_cv_thread(const benchmark::State& state) {
    if (state.thread_index() == 0) cv::setNumThreads(1);
}

void BM_Decode(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(decode_image(sample_jpeg()));
}

void BM_Detect(benchmark::State& state) {
    one_cv_thread(state);
    auto detector = FaceDetector::create(*models());
    for (auto _ : state) benchmark::DoNotOptimize(detector->detect(sample_640x480()));
}

void BM_Landmarks(benchmark::State& state) {
    one_cv_thread(state);
    auto landmarker = Landmarker::create(*models());
    for (auto _ : state) benchmark::DoNotOptimize(landmarker->locate(sample_640x480(), sample_face().box));
}

void BM_Align(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(align_face(sample_640x480(), sample_face().landmarks5));
}

void BM_Embed(benchmark::State& state) {
    one_cv_thread(state);
    auto embedder = Embedder::create(*models(), {true, state.range(0) != 0});
    const cv::Mat aligned = align_face(sample_640x480(), sample_face().landmarks5);
    for (auto _ : state) benchmark::DoNotOptimize(embedder->embed(aligned));
}

// Decode both JPEGs, detect, landmarks, align, embed (with flip fusion), compare: what
// `faceproof verify` does minus process start-up and model loading.
void BM_VerifyTwo640x480(benchmark::State& state) {
    one_cv_thread(state);
    auto engine = Engine::create(models());
    for (auto _ : state) {
        const FaceContext a = engine->analyze(decode_image(sample_jpeg()));
        const FaceContext b = engine->analyze(decode_image(sample_jpeg()));
        benchmark::DoNotOptimize(similarity(a.face_template(), b.face_template()));
    }
    state.counters["verifications_per_s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// The whole identity check of `POST /v1/verify` and `faceproof verify`: both images through
// detection, landmarks, embedding, quality (both) and passive liveness (probe), minus HTTP — the
// CPU-bound rate the load test (scripts/load.sh) compares the server with.
void BM_ProofingCheckTwo640x480(benchmark::State& state) {
    one_cv_thread(state);
    auto verifier = IdentityVerifier::create(models(), Calibration::shipped(), LivenessCalibration::shipped());
    ProofingOptions options;
    options.require_liveness = false;
    for (auto _ : state) {
        const cv::Mat reference = decode_image(sample_jpeg());
        const cv::Mat probe = decode_image(sample_jpeg());
        benchmark::DoNotOptimize(verifier->check(reference, {probe}, options));
    }
    state.counters["verifications_per_s"] =
        benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_ModelLoad(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(Engine::create(models()));
}

}  // namespace

BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Detect)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Landmarks)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Align)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Embed)->Arg(0)->Arg(1)->ArgName("flip")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_VerifyTwo640x480)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_ProofingCheckTwo640x480)->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_ModelLoad)->Unit(benchmark::kMillisecond);

// --write-sample=FILE writes the 640x480 JPEG the benchmarks use (the load script posts it) and exits.
int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg.rfind("--write-sample=", 0) == 0) {
            const auto& bytes = sample_jpeg();
            std::ofstream(arg.substr(15), std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                                  static_cast<std::streamsize>(bytes.size()));
            return 0;
        }
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
