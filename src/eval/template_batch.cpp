#include "eval/template_batch.hpp"

#include <chrono>

#include "faceproof/error.hpp"
#include "faceproof/image.hpp"
#include "util/parallel_batch.hpp"

namespace faceproof {

std::vector<BatchItem> compute_templates(std::shared_ptr<const ModelSet> models, const EngineOptions& options,
                                         const std::vector<std::filesystem::path>& images, int threads,
                                         const std::function<void(std::size_t, std::size_t)>& progress) {
    std::vector<BatchItem> items(images.size());
    parallel_batch(
        images.size(), threads, [&] { return Engine::create(models, options); },
        [&](std::unique_ptr<Engine>& engine, std::size_t i) {
            BatchItem& item = items[i];
            try {
                const auto start = std::chrono::steady_clock::now();
                const cv::Mat image = load_image(images[i]);
                item.timings["decode"] =
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
                const FaceContext face = engine->analyze(image);
                for (const auto& [stage, ms] : face.timings()) item.timings[stage] = ms;
                item.face_template = face.face_template();
            } catch (const Error& e) {
                item.error = std::string(to_string(e.code()));
            } catch (const std::exception&) {  // e.g. cv::Exception: one bad image must not end the batch
                item.error = std::string(to_string(ErrorCode::internal));
            }
        },
        progress);
    return items;
}

}  // namespace faceproof
