// One face, one pipeline: a verification aligns each analysed face once (the Engine's crop serves
// the template, the quality measures and liveness), and the service loads each network once per
// worker (one verifier per worker, serving verify, detect, quality and liveness). Counted with the
// library's process-wide counters (align_face_count, networks_opened).
#include <gtest/gtest.h>

#include <map>
#include <thread>
#include <string>
#include <vector>

#include <httplib.h>
#include <opencv2/imgcodecs.hpp>

#include "align/aligner.hpp"
#include "faceproof/calibration.hpp"
#include "faceproof/liveness.hpp"
#include "faceproof/models.hpp"
#include "faceproof/proofing.hpp"
#include "faceproof/server.hpp"
#include "inference/network.hpp"
#include "test_server_support.hpp"
#include "test_support.hpp"

namespace fp = faceproof;

namespace {

std::map<std::string, std::uint64_t> opened_now() {
    std::map<std::string, std::uint64_t> out;
    for (const auto& model : fp::model_manifest()) out[model.name] = fp::networks_opened(model.name);
    return out;
}

std::string jpeg(const cv::Mat& image) {
    std::vector<std::uint8_t> bytes;
    cv::imencode(".jpg", image, bytes);
    return std::string(bytes.begin(), bytes.end());
}

class PipelineTest : public fptest::ModelTest<PipelineTest> {
public:
    static void set_up_suite() {
        const auto& group = fptest::group_photo();
        if (group.faces.size() < 2) throw std::runtime_error("sample6.jpg should show four faces");
        for (int i = 0; i < 2; ++i)
            crops_.push_back(fptest::crop(group.photo, fptest::grow_box(group.faces[i].box, 0.8, group.photo.size())));
    }
    static void TearDownTestSuite() { crops_.clear(); }

protected:
    static inline std::vector<cv::Mat> crops_;  // two different women, one face each
};

TEST_F(PipelineTest, AVerificationAlignsEachFaceOnce) {
    auto verifier = fp::IdentityVerifier::create(fptest::shared_models(), fp::Calibration::shipped(),
                                                 fp::LivenessCalibration::shipped());
    // A reference and a burst of four probe frames: five faces, with quality, passive liveness on
    // each frame and the burst challenge (head pose and eye state of every frame).
    const cv::Mat probe = fptest::degraded_copy(crops_[0]);
    const std::vector<cv::Mat> burst{probe, fptest::jpeg_round_trip(probe, 80), fptest::jpeg_round_trip(probe, 70),
                                     fptest::jpeg_round_trip(probe, 60)};
    const std::uint64_t before = fp::align_face_count();
    const fp::ProofingResult result = verifier->check(crops_[0], burst, {});
    const std::uint64_t aligned = fp::align_face_count() - before;
    EXPECT_EQ(aligned, 5u) << "one aligned crop per analysed face (reference + 4 frames)";
    // The check did run the stages that used to align or turn the face again.
    EXPECT_FALSE(result.reference_quality.measures.empty());
    ASSERT_EQ(result.probe.quality.size(), 4u);
    EXPECT_FALSE(result.probe.quality[0].measures.empty());
    EXPECT_TRUE(result.probe.liveness.challenge.assessed);
    EXPECT_TRUE(result.match.match);
}

TEST_F(PipelineTest, AVerifierOpensEachNetworkOnce) {
    const auto before = opened_now();
    auto verifier = fp::IdentityVerifier::create(fptest::shared_models(), fp::Calibration::shipped(),
                                                 fp::LivenessCalibration::shipped());
    const cv::Mat probe = fptest::degraded_copy(crops_[0]);
    for (int round = 0; round < 2; ++round)
        (void)verifier->check(crops_[0], {probe, fptest::jpeg_round_trip(probe, 70), probe}, {});
    const auto after = opened_now();
    for (const auto& [name, count] : after) {
        // Pose and eye networks open on first use; a burst check uses every network.
        EXPECT_EQ(count - before.at(name), 1u) << name;
    }
}

TEST_F(PipelineTest, TheServiceOpensEachNetworkOncePerWorker) {
    const auto before = opened_now();
    {
        fp::ServerConfig config;
        config.workers = 2;
        config.max_body_bytes = 8u << 20;
        fptest::RunningServer server(config);
        const std::string key = server.key("acme", fp::ApiRole::operator_role);
        const httplib::Headers auth{{"Authorization", "Bearer " + key}};
        const std::string reference = jpeg(crops_[0]);
        const std::string probe = jpeg(fptest::degraded_copy(crops_[0]));
        // Two clients at once, so both workers serve; every route that analyses faces.
        auto client_work = [&] {
            auto c = server.client();
            for (int round = 0; round < 2; ++round) {
                httplib::MultipartFormDataItems verify{{"reference", reference, "r.jpg", "image/jpeg"},
                                                       {"probe", probe, "p1.jpg", "image/jpeg"},
                                                       {"probe", probe, "p2.jpg", "image/jpeg"},
                                                       {"probe", probe, "p3.jpg", "image/jpeg"}};
                auto r = c.Post("/v1/verify", auth, verify);
                ASSERT_TRUE(r);
                EXPECT_EQ(r->status, 200) << r->body;
                for (const char* path : {"/v1/detect", "/v1/quality"}) {
                    httplib::MultipartFormDataItems one{{"image", reference, "i.jpg", "image/jpeg"}};
                    auto d = c.Post(path, auth, one);
                    ASSERT_TRUE(d);
                    EXPECT_EQ(d->status, 200) << path << ": " << d->body;
                }
                httplib::MultipartFormDataItems frames{{"image", probe, "f1.jpg", "image/jpeg"},
                                                       {"image", probe, "f2.jpg", "image/jpeg"}};
                auto l = c.Post("/v1/liveness", auth, frames);
                ASSERT_TRUE(l);
                EXPECT_EQ(l->status, 200) << l->body;
            }
        };
        std::thread other(client_work);
        client_work();
        other.join();
    }
    const auto after = opened_now();
    for (const auto& [name, count] : after) EXPECT_LE(count - before.at(name), 2u) << name << ": more than one per worker";
    // The workers are made when the server starts: both hold a detector, whatever served what.
    EXPECT_EQ(after.at("fr_detect") - before.at("fr_detect"), 2u);
}

}  // namespace
