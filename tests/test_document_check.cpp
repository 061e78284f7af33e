// `faceproof document check DIR --trust PATH` through the real CLI binary, on chip bundles made at
// test time: DG1 (an ICAO specimen MRZ with a future expiry), DG2 (a real photo, JPEG), EF.SOD
// signed by a Document Signer of a PKI generated now (tests/document_pki), the trust store a
// directory holding the CSCA. Valid; DG2 swapped after signing; DG1 edited; a flipped signature
// bit; an unknown CSCA; an expired DS; truncated and hostile files; a missing file.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "document_builder.hpp"
#include "document_pki.hpp"
#include "test_support.hpp"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::vector<std::string> specimen_mrz(const std::string& document_number = "L898902C3") {
    return fptest::td3_mrz(document_number);
}

std::vector<std::uint8_t> portrait_jpeg(int sample, int* width, int* height) {
    cv::Mat photo = fptest::load_sample(sample);
    cv::Mat small;
    cv::resize(photo, small, {}, 480.0 / photo.cols, 480.0 / photo.cols, cv::INTER_AREA);
    std::vector<std::uint8_t> bytes;
    cv::imencode(".jpg", small, bytes, {cv::IMWRITE_JPEG_QUALITY, 85});
    *width = small.cols;
    *height = small.rows;
    return bytes;
}

std::vector<std::uint8_t> dg2_of_sample(int sample) {
    int w = 0, h = 0;
    const auto jpeg = portrait_jpeg(sample, &w, &h);
    return fptest::dg2_from_image(jpeg, "jpeg", static_cast<std::uint16_t>(w), static_cast<std::uint16_t>(h),
                                  fptest::Encoding::iso19794_5);
}

class DocumentCheckCli : public ::testing::Test {
protected:
    void SetUp() override {
        if (const auto problem = fptest::samples_problem(); !problem.empty()) GTEST_FAIL() << problem;
        const auto& pki = fptest::document_pki();
        fs::create_directories(trust_);
        fptest::write_pki_file(trust_ / "csca-rsa.pem", fptest::pem_of(pki.csca_rsa.cert.get()));
        groups_ = {{1, fptest::dg1_from_mrz(specimen_mrz())}, {2, dg2_of_sample(1)}};
    }

    // Writes the bundle: the data groups as given, EF.SOD over `signed_groups` by signer.
    fs::path bundle(const std::map<int, std::vector<std::uint8_t>>& signed_groups, const fptest::Party& signer,
                    const std::map<int, std::vector<std::uint8_t>>& given, const std::string& name = "bundle") {
        const fs::path dir = dir_.path() / name;
        fs::create_directories(dir);
        fptest::write_pki_file(dir / "EF.SOD", fptest::make_sod(signed_groups, signer));
        fptest::write_pki_file(dir / "DG1", given.at(1));
        fptest::write_pki_file(dir / "DG2", given.at(2));
        return dir;
    }

    fptest::CliResult check(const fs::path& bundle_dir, std::vector<std::string> extra = {}) {
        std::vector<std::string> args{"document", "check", bundle_dir.string(), "--trust", trust_.string(), "--json"};
        args.insert(args.end(), extra.begin(), extra.end());
        return fptest::run_cli(args);
    }

    static json parse(const fptest::CliResult& r) {
        json j = json::parse(r.out, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << fptest::describe(r);
        return j;
    }

    fptest::TempDir dir_{"faceproof-document"};
    fs::path trust_ = dir_.path() / "trust";
    std::map<int, std::vector<std::uint8_t>> groups_;
};

TEST_F(DocumentCheckCli, GenuineDocumentIsValid) {
    const auto r = check(bundle(groups_, fptest::document_pki().ds_pss, groups_));
    ASSERT_EQ(r.exit_code, 0) << fptest::describe(r);
    const json j = parse(r);
    EXPECT_EQ(j["status"], "valid");
    EXPECT_EQ(j["checks"]["sod_signature"], "valid");
    EXPECT_EQ(j["checks"]["dg_hashes"], (json{{"DG1", "match"}, {"DG2", "match"}}));
    EXPECT_EQ(j["checks"]["chain"], "valid");
    EXPECT_EQ(j["checks"]["mrz_check_digits"], "valid");
    EXPECT_EQ(j["checks"]["document_expired"], false);
    EXPECT_TRUE(j["reasons"].empty()) << j.dump();
    EXPECT_EQ(j["mrz"]["document_number"], "L898902C3");
    EXPECT_EQ(j["mrz"]["primary_identifier"], "ERIKSSON");
    EXPECT_EQ(j["portrait"]["format"], "jpeg");
    EXPECT_EQ(j["portrait"]["width"], 480);
    EXPECT_NE(j["chip"]["authenticity"].get<std::string>().find("clone"), std::string::npos);

    // The text form says the same in words.
    const auto text = fptest::run_cli({"document", "check", (dir_.path() / "bundle").string(), "--trust", trust_.string()});
    EXPECT_EQ(text.exit_code, 0) << fptest::describe(text);
    EXPECT_NE(text.out.find("VALID document"), std::string::npos) << text.out;
}

TEST_F(DocumentCheckCli, PortraitSwappedAfterSigningIsInvalid) {
    auto swapped = groups_;
    swapped[2] = dg2_of_sample(2);  // another photo, itself a well-formed DG2
    const auto r = check(bundle(groups_, fptest::document_pki().ds_pss, swapped));
    EXPECT_EQ(r.exit_code, 1) << fptest::describe(r);
    const json j = parse(r);
    EXPECT_EQ(j["status"], "invalid");
    EXPECT_EQ(j["checks"]["dg_hashes"]["DG2"], "mismatch");
    EXPECT_EQ(j["checks"]["dg_hashes"]["DG1"], "match");
    EXPECT_EQ(j["reasons"], json::array({"DG2_HASH_MISMATCH"}));
}

TEST_F(DocumentCheckCli, EditedMrzIsInvalid) {
    auto edited = groups_;
    edited[1] = fptest::dg1_from_mrz(specimen_mrz("X12345678"));  // check digits consistent again
    const auto r = check(bundle(groups_, fptest::document_pki().ds_pss, edited));
    EXPECT_EQ(r.exit_code, 1) << fptest::describe(r);
    const json j = parse(r);
    EXPECT_EQ(j["status"], "invalid");
    EXPECT_EQ(j["checks"]["mrz_check_digits"], "valid");
    EXPECT_EQ(j["reasons"], json::array({"DG1_HASH_MISMATCH"}));
}

TEST_F(DocumentCheckCli, FlippedSignatureBitIsInvalid) {
    const fs::path dir = bundle(groups_, fptest::document_pki().ds_pss, groups_);
    auto sod = fptest::read_file((dir / "EF.SOD").string());
    sod[sod.size() - 10] ^= 0x01;  // RSA-PSS: the signature is the last element of the SignerInfo
    fptest::write_pki_file(dir / "EF.SOD", sod);
    const auto r = check(dir);
    EXPECT_EQ(r.exit_code, 1) << fptest::describe(r);
    const json j = parse(r);
    EXPECT_EQ(j["status"], "invalid");
    EXPECT_EQ(j["checks"]["sod_signature"], "invalid");
    EXPECT_NE(std::find(j["reasons"].begin(), j["reasons"].end(), "SOD_SIGNATURE_INVALID"), j["reasons"].end())
        << j.dump();
}

TEST_F(DocumentCheckCli, UnknownCscaIsUntrustedButIntact) {
    const auto r = check(bundle(groups_, fptest::document_pki().ds_unknown, groups_));
    EXPECT_EQ(r.exit_code, 1) << fptest::describe(r);
    const json j = parse(r);
    EXPECT_EQ(j["status"], "untrusted");
    EXPECT_EQ(j["checks"]["sod_signature"], "valid");
    EXPECT_EQ(j["checks"]["chain"], "unknown_csca");
    EXPECT_EQ(j["reasons"], json::array({"CSCA_UNKNOWN"}));
}

TEST_F(DocumentCheckCli, ExpiredDocumentSignerIsUntrusted) {
    const auto r = check(bundle(groups_, fptest::document_pki().ds_expired, groups_));
    EXPECT_EQ(r.exit_code, 1) << fptest::describe(r);
    const json j = parse(r);
    EXPECT_EQ(j["status"], "untrusted");
    EXPECT_EQ(j["checks"]["chain"], "expired");
    EXPECT_EQ(j["reasons"], json::array({"DS_CERT_EXPIRED"}));
}

TEST_F(DocumentCheckCli, ExpiredDocumentIsInvalid) {
    const auto r = check(bundle(groups_, fptest::document_pki().ds_pss, groups_), {"--now", "2040-01-01"});
    EXPECT_EQ(r.exit_code, 1) << fptest::describe(r);
    const json j = parse(r);
    EXPECT_EQ(j["status"], "invalid");
    EXPECT_EQ(j["checks"]["document_expired"], true);
    EXPECT_NE(std::find(j["reasons"].begin(), j["reasons"].end(), "DOCUMENT_EXPIRED"), j["reasons"].end()) << j.dump();
}

TEST_F(DocumentCheckCli, TruncatedAndHostileFilesAreUnreadable) {
    const fs::path dir = bundle(groups_, fptest::document_pki().ds_pss, groups_);
    const auto sod = fptest::read_file((dir / "EF.SOD").string());
    const auto dg2 = fptest::read_file((dir / "DG2").string());
    struct Case {
        const char* file;
        std::vector<std::uint8_t> bytes;
        const char* names;
    };
    std::vector<std::uint8_t> hostile_dg2 = {0x75, 0x84, 0xFF, 0xFF, 0xFF, 0xF0, 0x7F, 0x61};  // claims ~4 GB
    const std::vector<Case> cases{
        {"EF.SOD", std::vector<std::uint8_t>(sod.begin(), sod.begin() + sod.size() / 2), "EF.SOD"},
        {"EF.SOD", {}, "EF.SOD"},
        {"DG2", std::vector<std::uint8_t>(dg2.begin(), dg2.begin() + 100), "DG2"},
        {"DG2", hostile_dg2, "DG2"},
        {"DG1", {0x61, 0x03, 0x5F, 0x1F, 0x7F}, "DG1"},
    };
    for (const auto& c : cases) {
        const fs::path copy = dir_.path() / "hostile";
        fs::remove_all(copy);
        fs::copy(dir, copy);
        fptest::write_pki_file(copy / c.file, c.bytes);
        const auto r = check(copy);
        EXPECT_EQ(r.exit_code, 2) << c.file << " " << c.bytes.size() << " bytes: " << fptest::describe(r);
        const json j = parse(r);
        EXPECT_EQ(j["error"]["code"], "document_malformed") << j.dump();
        EXPECT_NE(j["error"]["message"].get<std::string>().find(c.names), std::string::npos) << j.dump();
    }
}

TEST_F(DocumentCheckCli, MissingFileAndMissingTrustStoreAreUnreadable) {
    const fs::path dir = bundle(groups_, fptest::document_pki().ds_pss, groups_);
    fs::remove(dir / "DG2");
    const auto r = check(dir);
    EXPECT_EQ(r.exit_code, 2) << fptest::describe(r);
    EXPECT_EQ(parse(r)["error"]["code"], "io_error");

    const auto no_trust = fptest::run_cli({"document", "check", dir.string(), "--trust", (dir_.path() / "nowhere").string()});
    EXPECT_EQ(no_trust.exit_code, 2) << fptest::describe(no_trust);
    EXPECT_NE(no_trust.err.find("io_error"), std::string::npos) << no_trust.err;
}

}  // namespace
