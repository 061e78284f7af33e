// Passive liveness scores of many image files on all cores (one Engine + PassiveModel per worker
// thread, as compute_templates does for templates).
#pragma once

#include <array>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "faceproof/engine.hpp"
#include "liveness/passive_model.hpp"

namespace faceproof {

struct PadScore {
    std::optional<std::array<double, 3>> probabilities;  // of the primary face; empty when it failed
    int faces = 0;                                        // faces detected
    std::string error;                                    // error code name ("no_face", ...) when it failed
};

// Calls progress(done, total) from worker threads (serialised). threads <= 0 means all cores.
std::vector<PadScore> score_images(std::shared_ptr<const ModelSet> models, const PassiveOptions& options,
                                   const std::vector<std::filesystem::path>& images, int threads,
                                   const std::function<void(std::size_t, std::size_t)>& progress = {});

}  // namespace faceproof
