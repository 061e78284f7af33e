// `faceproof verify --document DIR --trust PATH PROBE` through the real CLI: the chip portrait (DG2)
// is the reference. The holder is accepted; another person, an altered document and an untrusted
// one are refused, each with its reason; the audit entry carries the document's status and reasons
// and the document number only as a keyed pseudonym.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "document_builder.hpp"
#include "document_pki.hpp"
#include "faceproof/data_key.hpp"
#include "test_support.hpp"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::vector<std::uint8_t> jpeg_bytes(const cv::Mat& image) {
    std::vector<std::uint8_t> bytes;
    cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, 90});
    return bytes;
}

class VerifyDocumentCli : public fptest::ModelTest<VerifyDocumentCli> {
public:
    static void set_up_suite() {
        const auto& group = fptest::group_photo();
        if (group.faces.size() < 2) throw std::runtime_error("sample6.jpg should show four faces");
        for (int i = 0; i < 2; ++i)
            faces_.push_back(fptest::crop(group.photo, fptest::grow_box(group.faces[i].box, 0.6, group.photo.size())));
    }
    static void TearDownTestSuite() { faces_.clear(); }

protected:
    void SetUp() override {
        ModelTest::SetUp();
        if (HasFatalFailure()) return;
        fs::create_directories(trust_);
        fptest::write_pki_file(trust_ / "csca.pem", fptest::pem_of(fptest::document_pki().csca_rsa.cert.get()));
        faceproof::DataKey::generate_file(dir_.path() / "key");
        fptest::save_image(dir_.path() / "holder-selfie.jpg", fptest::degraded_copy(faces_[0]));
        fptest::save_image(dir_.path() / "other-selfie.jpg", fptest::degraded_copy(faces_[1]));
    }

    // A bundle whose DG2 holds `portrait` and whose SOD (signed by signer) covers `signed_dg2`
    // (the same unless a test swaps the portrait after signing).
    fs::path bundle(const std::string& name, const cv::Mat& portrait, const fptest::Party& signer,
                    const cv::Mat* signed_portrait = nullptr) {
        const auto dg2_of = [](const cv::Mat& image) {
            return fptest::dg2_from_image(jpeg_bytes(image), "jpeg", static_cast<std::uint16_t>(image.cols),
                                          static_cast<std::uint16_t>(image.rows), fptest::Encoding::iso19794_5);
        };
        const auto dg1 = fptest::dg1_from_mrz(fptest::td3_mrz("AB1234567", "HOLDER<<ANNA"));
        const auto dg2 = dg2_of(portrait);
        const auto signed_dg2 = signed_portrait ? dg2_of(*signed_portrait) : dg2;
        const fs::path dir = dir_.path() / name;
        fs::create_directories(dir);
        fptest::write_pki_file(dir / "EF.SOD", fptest::make_sod({{1, dg1}, {2, signed_dg2}}, signer));
        fptest::write_pki_file(dir / "DG1", dg1);
        fptest::write_pki_file(dir / "DG2", dg2);
        return dir;
    }

    fptest::CliResult verify(const fs::path& bundle_dir, const std::string& selfie) {
        return fptest::run_cli({"verify", "--document", bundle_dir.string(), "--trust", trust_.string(),
                                (dir_.path() / selfie).string(), "--no-require-liveness", "--json",
                                "--db=sqlite:" + (dir_.path() / "audit.db").string(),
                                "--key-file=" + (dir_.path() / "key").string()});
    }

    static json parse(const fptest::CliResult& r) {
        json j = json::parse(r.out, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << fptest::describe(r);
        return j;
    }

    static inline std::vector<cv::Mat> faces_;  // two different women
    fptest::TempDir dir_{"faceproof-verify-document"};
    fs::path trust_ = dir_.path() / "trust";
};

TEST_F(VerifyDocumentCli, HolderIsAcceptedAndAuditedWithoutTheNumber) {
    const auto r = verify(bundle("genuine", faces_[0], fptest::document_pki().ds_pss), "holder-selfie.jpg");
    ASSERT_EQ(r.exit_code, 0) << fptest::describe(r);
    const json j = parse(r);
    EXPECT_TRUE(j["accepted"]);
    EXPECT_TRUE(j["face_match"]);
    EXPECT_EQ(j["document"]["status"], "valid");
    EXPECT_TRUE(j["reasons"].empty()) << j["reasons"];

    const auto audit = fptest::run_cli({"audit", "list", "--all-tenants", "--json",
                                        "--db=sqlite:" + (dir_.path() / "audit.db").string()});
    ASSERT_EQ(audit.exit_code, 0) << fptest::describe(audit);
    EXPECT_EQ(audit.out.find("AB1234567"), std::string::npos) << "the document number is never in clear";
    EXPECT_EQ(audit.out.find("HOLDER"), std::string::npos) << "nor the holder's name";
    const json entries = parse(audit)["entries"];
    ASSERT_EQ(entries.size(), 1u) << audit.out;
    const json& document = entries[0]["details"]["document"];
    EXPECT_EQ(document["status"], "valid");
    EXPECT_EQ(document["issuing_state"], "UTO");
    EXPECT_EQ(document["document_number_pseudonym"].get<std::string>().size(), 64u) << document;
}

TEST_F(VerifyDocumentCli, AnotherPersonIsRefused) {
    const auto r = verify(bundle("genuine", faces_[0], fptest::document_pki().ds_pss), "other-selfie.jpg");
    EXPECT_EQ(r.exit_code, 1) << fptest::describe(r);
    const json j = parse(r);
    EXPECT_FALSE(j["accepted"]);
    EXPECT_EQ(j["document"]["status"], "valid");
    EXPECT_EQ(j["reasons"], json::array({"NO_MATCH"}));
}

TEST_F(VerifyDocumentCli, PortraitSwappedIntoTheChipIsRefused) {
    // The attacker's own face in DG2, the state-signed hash still that of the holder's portrait.
    const auto r = verify(bundle("swapped", faces_[1], fptest::document_pki().ds_pss, &faces_[0]), "other-selfie.jpg");
    EXPECT_EQ(r.exit_code, 1) << fptest::describe(r);
    const json j = parse(r);
    EXPECT_FALSE(j["accepted"]);
    EXPECT_TRUE(j["face_match"]) << "the face matches the swapped portrait: only the document check refuses";
    EXPECT_EQ(j["document"]["status"], "invalid");
    EXPECT_EQ(j["reasons"], json::array({"DG2_HASH_MISMATCH"}));
}

TEST_F(VerifyDocumentCli, UntrustedDocumentIsRefused) {
    const auto r = verify(bundle("untrusted", faces_[0], fptest::document_pki().ds_unknown), "holder-selfie.jpg");
    EXPECT_EQ(r.exit_code, 1) << fptest::describe(r);
    const json j = parse(r);
    EXPECT_FALSE(j["accepted"]);
    EXPECT_TRUE(j["face_match"]);
    EXPECT_EQ(j["document"]["status"], "untrusted");
    EXPECT_EQ(j["reasons"], json::array({"CSCA_UNKNOWN"}));
}

TEST_F(VerifyDocumentCli, PrintedCardPortraitIsComparedWithTheChip) {
    const fs::path bundle_dir = bundle("genuine", faces_[0], fptest::document_pki().ds_pss);
    fptest::save_image(dir_.path() / "card-holder.jpg", fptest::jpeg_round_trip(faces_[0], 60));
    fptest::save_image(dir_.path() / "card-other.jpg", fptest::jpeg_round_trip(faces_[1], 60));
    const auto run = [&](const char* card) {
        return fptest::run_cli({"verify", "--document", bundle_dir.string(), "--trust", trust_.string(),
                                (dir_.path() / "holder-selfie.jpg").string(), "--card", (dir_.path() / card).string(),
                                "--no-require-liveness", "--json", "--db=sqlite:" + (dir_.path() / "audit.db").string()});
    };
    const auto same = run("card-holder.jpg");
    ASSERT_EQ(same.exit_code, 0) << fptest::describe(same);
    EXPECT_TRUE(parse(same)["card"]["match"]);

    // A genuine chip, but the card's printed portrait replaced by another person's.
    const auto substituted = run("card-other.jpg");
    EXPECT_EQ(substituted.exit_code, 1) << fptest::describe(substituted);
    const json j = parse(substituted);
    EXPECT_FALSE(j["card"]["match"]);
    EXPECT_TRUE(j["face_match"]);
    EXPECT_EQ(j["document"]["status"], "valid");
    EXPECT_EQ(j["reasons"], json::array({"CARD_PORTRAIT_MISMATCH"}));
}

TEST_F(VerifyDocumentCli, DocumentOptionsNeedEachOther) {
    const auto r = fptest::run_cli({"verify", "--document", dir_.path().string(), (dir_.path() / "holder-selfie.jpg").string()});
    EXPECT_EQ(r.exit_code, 64) << fptest::describe(r);
    EXPECT_NE(r.err.find("--trust"), std::string::npos) << r.err;
}

}  // namespace
