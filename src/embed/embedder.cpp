// fr_feature: 112x112, (x - 127) / 128, planar; output 512 floats, normalised here.
#include "embed/embedder.hpp"

#include <cmath>

#include <opencv2/imgproc.hpp>

#include "faceproof/error.hpp"
#include "inference/network.hpp"

namespace faceproof {
namespace {

constexpr int kSide = 112;

class OnnxEmbedder final : public Embedder {
public:
    OnnxEmbedder(const ModelSet& models, const EmbedderOptions& options)
        : net_(open_network(models, "fr_feature")), options_(options),
          model_sha256_(model_info("fr_feature").sha256) {
        model_id_ = std::string("fr_feature/arcface112") + (options.rgb ? "-rgb" : "-bgr") +
                    (options.flip_fusion ? "+flip" : "");
    }

    Template embed(const cv::Mat& aligned, double* feature_norm) override {
        if (aligned.rows != kSide || aligned.cols != kSide || aligned.type() != CV_8UC3)
            throw Error(ErrorCode::invalid_argument, "embed: expected an aligned 112x112 BGR crop");
        input_ = net_->input_buffer({options_.flip_fusion ? 2 : 1, 3, kSide, kSide});
        fill(aligned, 0, false);
        if (options_.flip_fusion) fill(aligned, 1, true);
        net_->run(input_, outputs_);
        const cv::Mat& out = outputs_[0];
        const int batch = input_.size[0];
        const int dimension = static_cast<int>(out.total()) / batch;
        Template t{model_id_, model_sha256_, std::vector<float>(dimension, 0.f)};
        const float* v = out.ptr<float>();
        for (int b = 0; b < batch; ++b)
            for (int i = 0; i < dimension; ++i) t.values[i] += v[b * dimension + i];
        double norm = 0;
        for (float x : t.values) norm += static_cast<double>(x) * x;
        if (!(norm > 0) || !std::isfinite(norm)) throw Error(ErrorCode::internal, "embedding has no direction");
        if (feature_norm) *feature_norm = std::sqrt(norm) / batch;
        const float inv = static_cast<float>(1.0 / std::sqrt(norm));
        for (float& x : t.values) x *= inv;
        return t;
    }

    const std::string& model_id() const override { return model_id_; }

private:
    void fill(const cv::Mat& crop, int index, bool mirror) {
        const int plane = kSide * kSide;
        float* base = input_.ptr<float>(index);
        float* first = base;  // R when rgb, else B
        float* second = base + plane;
        float* third = base + 2 * plane;
        for (int y = 0; y < kSide; ++y) {
            const cv::Vec3b* row = crop.ptr<cv::Vec3b>(y);
            for (int x = 0; x < kSide; ++x) {
                const cv::Vec3b& px = row[mirror ? kSide - 1 - x : x];
                const int i = y * kSide + x;
                const float b = (px[0] - 127.f) / 128.f, g = (px[1] - 127.f) / 128.f, r = (px[2] - 127.f) / 128.f;
                first[i] = options_.rgb ? r : b;
                second[i] = g;
                third[i] = options_.rgb ? b : r;
            }
        }
    }

    std::unique_ptr<Network> net_;
    std::vector<cv::Mat> outputs_;
    EmbedderOptions options_;
    cv::Mat input_;  // the network's own input buffer (Network::input_buffer)
    std::string model_id_;
    std::string model_sha256_;
};

}  // namespace

std::unique_ptr<Embedder> Embedder::create(const ModelSet& models, const EmbedderOptions& options) {
    return std::make_unique<OnnxEmbedder>(models, options);
}

}  // namespace faceproof
