// Enrolment rate of the registry without image analysis: seal the template, one SQLite transaction
// (WAL, synchronous=FULL), the duplicate check over the gallery so far, the index update, the
// audit entry. Image analysis costs what BM_VerifyTwo640x480 shows per image on top.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <unistd.h>

#include <cmath>
#include <random>

#include "faceproof/crypto.hpp"
#include "faceproof/registry.hpp"

namespace {

using namespace faceproof;

Capture random_capture(std::mt19937& rng) {
    std::normal_distribution<float> normal;
    Template t;
    t.model_id = Calibration::shipped().model_id();
    t.model_sha256 = std::string(64, '0');  // synthetic vectors: no model file behind them
    t.values.resize(512);
    double norm = 0;
    for (auto& v : t.values) norm += double(v = normal(rng)) * v;
    for (auto& v : t.values) v = static_cast<float>(v / std::sqrt(norm));
    Capture c;
    c.face_template = std::move(t);
    c.quality.pass = true;
    return c;
}

void BM_RegistryEnrol(benchmark::State& state) {
    const auto dir = std::filesystem::temp_directory_path() / ("faceproof-bench-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    DataKey::generate_file(dir / "key");
    std::vector<DataKey> keys;
    keys.push_back(DataKey::from_file(dir / "key"));
    auto registry = Registry::open(Store::open("sqlite:" + (dir / "bench.db").string()), std::move(keys),
                                   Calibration::shipped());
    const Consent consent{"identity-proofing", "consent", "v1", "2026-01-01T00:00:00Z", "2099-01-01T00:00:00Z"};
    std::mt19937 rng(7);
    std::int64_t n = 0;
    for (auto _ : state) {
        const auto r = registry->enrol("bench", "bench", "s" + std::to_string(n++), consent, {random_capture(rng)});
        benchmark::DoNotOptimize(r.enrolled);
    }
    state.counters["enrolments_per_s"] = benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
    registry.reset();
    std::filesystem::remove_all(dir);
}
BENCHMARK(BM_RegistryEnrol)->Unit(benchmark::kMillisecond)->Iterations(2000);

}  // namespace
