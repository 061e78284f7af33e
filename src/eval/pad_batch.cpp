#include "eval/pad_batch.hpp"

#include "faceproof/error.hpp"
#include "faceproof/image.hpp"
#include "util/parallel_batch.hpp"

namespace faceproof {

std::vector<PadScore> score_images(std::shared_ptr<const ModelSet> models, const PassiveOptions& options,
                                   const std::vector<std::filesystem::path>& images, int threads,
                                   const std::function<void(std::size_t, std::size_t)>& progress) {
    std::vector<PadScore> items(images.size());
    struct Worker {
        std::unique_ptr<Engine> engine;
        std::unique_ptr<PassiveModel> model;
    };
    parallel_batch(
        images.size(), threads,
        [&] { return Worker{Engine::create(models), std::make_unique<PassiveModel>(*models, options)}; },
        [&](Worker& worker, std::size_t i) {
            auto& engine = worker.engine;
            auto& model = *worker.model;
            PadScore& item = items[i];
            try {
                const cv::Mat image = load_image(images[i]);
                const FaceContext face = engine->context(image);  // the most prominent face
                item.faces = static_cast<int>(face.faces().size());
                if (!face.has_face()) throw Error(ErrorCode::no_face, "no face found in the image");
                item.probabilities = model.probabilities(face);
            } catch (const Error& e) {
                item.error = std::string(to_string(e.code()));
            } catch (const std::exception&) {  // one bad image must not end the batch
                item.error = std::string(to_string(ErrorCode::internal));
            }
        },
        progress);
    return items;
}

}  // namespace faceproof
