// Face embedding (fr_feature): aligned 112x112 crop -> 512-D L2-normalised template.
//
// Embedder::embed
//   requires: aligned is the 8-bit BGR 112x112 crop from align_face.
//   ensures:  a Template whose model_id names the model and every preprocessing choice, so that
//             templates made differently are never compared with each other; *feature_norm (when
//             given) = the norm before normalisation, which is high for a well-aligned upright
//             face and low for a sideways or misaligned one (measured; see Engine::analyze).
// Thread safety: one instance per thread.
#pragma once

#include <memory>
#include <string>

#include "faceproof/template.hpp"
#include "faceproof/models.hpp"
#include "faceproof/types.hpp"

namespace faceproof {

struct EmbedderOptions {
    bool rgb = false;         // channel order fed to the network: BGR measured better on LFW DevTrain
    bool flip_fusion = true;  // add the embedding of the mirrored crop before normalising
};

class Embedder {
public:
    virtual ~Embedder() = default;
    virtual Template embed(const cv::Mat& aligned, double* feature_norm = nullptr) = 0;
    virtual const std::string& model_id() const = 0;
    static std::unique_ptr<Embedder> create(const ModelSet& models, const EmbedderOptions& options = {});
};

}  // namespace faceproof
