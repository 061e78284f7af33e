#include "liveness/pad_batch.hpp"

#include <atomic>
#include <mutex>
#include <thread>

#include <opencv2/core/utility.hpp>

#include "faceproof/error.hpp"
#include "faceproof/image.hpp"

namespace faceproof {

std::vector<PadScore> score_images(std::shared_ptr<const ModelSet> models, const PassiveOptions& options,
                                   const std::vector<std::filesystem::path>& images, int threads,
                                   const std::function<void(std::size_t, std::size_t)>& progress) {
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    threads = std::min<int>(threads, std::max<std::size_t>(1, images.size()));
    std::vector<PadScore> items(images.size());
    std::atomic<std::size_t> next{0}, done{0};
    std::mutex progress_mutex;
    // Parallelism across images beats OpenCV's intra-layer threads on these small networks.
    const int previous_cv_threads = cv::getNumThreads();
    cv::setNumThreads(threads > 1 ? 1 : previous_cv_threads);

    auto worker = [&] {
        auto engine = Engine::create(models);
        PassiveModel model(*models, options);
        for (std::size_t i; (i = next.fetch_add(1)) < images.size();) {
            PadScore& item = items[i];
            try {
                const cv::Mat image = load_image(images[i]);
                const std::vector<Face> faces = engine->detect(image);  // most prominent first
                item.faces = static_cast<int>(faces.size());
                if (faces.empty()) throw Error(ErrorCode::no_face, "no face found in the image");
                item.probabilities = model.probabilities(image, faces.front());
            } catch (const Error& e) {
                item.error = std::string(to_string(e.code()));
            } catch (const std::exception&) {  // one bad image must not end the batch
                item.error = std::string(to_string(ErrorCode::internal));
            }
            const std::size_t finished = ++done;
            if (progress) {
                std::lock_guard lock(progress_mutex);
                progress(finished, images.size());
            }
        }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    cv::setNumThreads(previous_cv_threads);
    return items;
}

}  // namespace faceproof
