// Templates of many image files, computed on all cores (one Engine per worker thread).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "faceproof/engine.hpp"

namespace faceproof {

struct BatchItem {
    std::optional<Template> face_template;  // empty when the image failed (see error)
    std::string error;                      // error code name, e.g. "no_face"
    StageTimings timings;                   // per stage, this image
};

// Calls progress(done, total) from worker threads (serialised). threads <= 0 means all cores.
std::vector<BatchItem> compute_templates(std::shared_ptr<const ModelSet> models, const EngineOptions& options,
                                         const std::vector<std::filesystem::path>& images, int threads,
                                         const std::function<void(std::size_t, std::size_t)>& progress = {});

}  // namespace faceproof
