// Our inference path (load_network: OpenCV DNN with our depthwise convolution and block permute
// layers) against OpenCV DNN's own layers, on every shipped model, with fixed inputs of the shape
// the pipeline feeds. The reference is the same file read with cv::dnn::readNetFromONNX, which
// gets OpenCV's layers only (ours are used only inside load_network). Issue 6's criterion: every
// output within 1e-4 relative (max |diff| / max |value|) of OpenCV's layers; not bit for bit (our
// depthwise convolution adds in another order).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "faceproof/models.hpp"
#include "test_support.hpp"
#include "util/dnn_net.hpp"

namespace fp = faceproof;

namespace {

struct InferenceCase {
    const char* model;
    std::vector<int> shape;
    float low, high;        // the stage's value range
    const char* our_layer;  // a layer type of ours that must be in use
};

const std::vector<InferenceCase> kCases = {
    {"fr_detect", {1, 3, 240, 320}, -1.f, 1.f, "FaceproofDnnlConvolution"},
    {"fr_landmark", {1, 1, 64, 64}, 0.f, 1.f, "FaceproofDepthwiseConvolution"},
    {"fr_feature", {1, 3, 112, 112}, -1.f, 1.f, "FaceproofDepthwiseConvolution"},
    {"fr_feature", {2, 3, 112, 112}, -1.f, 1.f, "FaceproofDepthwiseConvolution"},
    {"fr_liveness", {1, 3, 128, 128}, 0.f, 255.f, "FaceproofDepthwiseConvolution"},
    {"fr_pose", {1, 3, 224, 224}, -2.f, 2.f, "FaceproofBlockPermute"},
    {"fr_eye", {1, 1, 24, 24}, 0.f, 1.f, "FaceproofDepthwiseConvolution"},
};

std::vector<cv::Mat> run(cv::dnn::Net& net, const cv::Mat& input) {
    net.setInput(input);
    std::vector<cv::Mat> outputs;
    net.forward(outputs, net.getUnconnectedOutLayersNames());
    for (cv::Mat& m : outputs) m = m.clone();
    return outputs;
}

bool uses_layer(cv::dnn::Net& net, const std::string& type) {
    for (const cv::String& name : net.getLayerNames())
        if (net.getLayer(name)->type == type) return true;
    return false;
}

class InferenceEquivalence : public ::testing::TestWithParam<InferenceCase> {};

TEST_P(InferenceEquivalence, MatchesOpenCvLayers) {
    const std::string problem = fptest::models_problem();
    if (!problem.empty()) GTEST_FAIL() << problem;
    const InferenceCase& c = GetParam();
    const auto models = fptest::shared_models();
    const auto& bytes = models->bytes(c.model);
    cv::dnn::Net reference = cv::dnn::readNetFromONNX(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    reference.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    reference.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    cv::dnn::Net ours = fp::load_network(*models, c.model);
    EXPECT_TRUE(uses_layer(ours, c.our_layer)) << c.model << " does not use " << c.our_layer;
    EXPECT_FALSE(uses_layer(reference, "FaceproofDepthwiseConvolution"));
    EXPECT_FALSE(uses_layer(reference, "FaceproofBlockPermute"));

    for (int seed : {1, 2, 3}) {
        cv::Mat input(c.shape, CV_32F);
        cv::RNG(seed).fill(input, cv::RNG::UNIFORM, c.low, c.high);
        const std::vector<cv::Mat> expected = run(reference, input);
        const std::vector<cv::Mat> actual = run(ours, input);
        ASSERT_EQ(actual.size(), expected.size());
        for (size_t i = 0; i < expected.size(); ++i) {
            ASSERT_EQ(actual[i].total(), expected[i].total());
            const double diff = cv::norm(actual[i], expected[i], cv::NORM_INF);
            const double scale = cv::norm(expected[i], cv::NORM_INF);
            EXPECT_LT(diff / scale, 1e-4) << c.model << " output " << i << " seed " << seed << ": max |diff| "
                                          << diff << " of max |value| " << scale;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(ShippedModels, InferenceEquivalence, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<InferenceCase>& info) {
                             return std::string(info.param.model) + "_batch" +
                                    std::to_string(info.param.shape[0]);
                         });

}  // namespace
