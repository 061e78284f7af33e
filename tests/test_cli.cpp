// Tests of the `faceproof` command line, run as a separate process (FACEPROOF_CLI_PATH): exit codes
// (0 match / ok, 1 no match, 2 cannot decide, 64 usage), the JSON of results and errors, and every
// command on real photos. Calibrations are written per test (--calibration), so nothing depends on
// the shipped one.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "faceproof/engine.hpp"
#include "faceproof/error.hpp"
#include "faceproof/image.hpp"
#include "faceproof/calibration.hpp"
#include "faceproof/template.hpp"
#include "faceproof/models.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
namespace fs = std::filesystem;
using nlohmann::json;
using fptest::CliResult;
using fptest::describe;
using fptest::run_cli;

namespace {

// Parses stdout as exactly one JSON document (fails the test otherwise).
json parse_stdout(const CliResult& r) {
    try {
        return json::parse(r.out);
    } catch (const json::exception& e) {
        ADD_FAILURE() << "stdout is not one JSON document (" << e.what() << ")\n" << describe(r);
        return json();
    }
}

// Expects exit code 2 and {"error": {"code": code, "message": "..."}} as the whole of stdout.
void expect_json_error(const CliResult& r, const std::string& code, int exit_code = 2) {
    EXPECT_EQ(r.exit_code, exit_code) << describe(r);
    const json j = parse_stdout(r);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << describe(r);
    EXPECT_EQ(j["error"].value("code", ""), code) << describe(r);
    ASSERT_TRUE(j["error"].contains("message")) << describe(r);
    EXPECT_TRUE(j["error"]["message"].is_string());
    EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
}

bool is_box(const json& b) {
    return b.is_array() && b.size() == 4 && std::all_of(b.begin(), b.end(), [](const json& v) { return v.is_number(); }) &&
           b[2].get<double>() > 0 && b[3].get<double>() > 0;
}

void expect_analysis_json(const json& side, const char* role) {
    SCOPED_TRACE(role);
    ASSERT_TRUE(side.is_object()) << side;
    EXPECT_TRUE(side["faces"].is_number_integer()) << side;
    EXPECT_GE(side.value("faces", 0), 1);
    EXPECT_TRUE(is_box(side["box"])) << side;
    EXPECT_TRUE(side["detection_score"].is_number()) << side;
    EXPECT_GE(side.value("detection_score", 0.0), 0.7);
    EXPECT_TRUE(side["rotation"].is_number_integer()) << side;
}

std::uint32_t crc32(const std::uint8_t* data, std::size_t n) {
    std::uint32_t c = 0xffffffffu;
    for (std::size_t i = 0; i < n; ++i) {
        c ^= data[i];
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

void put_be32(std::vector<std::uint8_t>& b, std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}

void put_chunk(std::vector<std::uint8_t>& png, const char* type, const std::vector<std::uint8_t>& data) {
    put_be32(png, static_cast<std::uint32_t>(data.size()));
    std::vector<std::uint8_t> body(type, type + 4);
    body.insert(body.end(), data.begin(), data.end());
    png.insert(png.end(), body.begin(), body.end());
    put_be32(png, crc32(body.data(), body.size()));
}

// A well-formed PNG header (signature, IHDR with a correct CRC) claiming width x height RGB pixels,
// followed by a tiny IDAT and IEND: decoding it would need width * height * 3 bytes.
std::vector<std::uint8_t> png_claiming(std::uint32_t width, std::uint32_t height) {
    std::vector<std::uint8_t> png{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    std::vector<std::uint8_t> ihdr;
    put_be32(ihdr, width);
    put_be32(ihdr, height);
    ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8-bit, truecolour, deflate, no filter, no interlace
    put_chunk(png, "IHDR", ihdr);
    put_chunk(png, "IDAT", {0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
    put_chunk(png, "IEND", {});
    return png;
}

std::vector<std::uint8_t> encode(const std::string& ext, const cv::Mat& image) {
    std::vector<std::uint8_t> bytes;
    if (!cv::imencode(ext, image, bytes)) throw std::runtime_error("cannot encode " + ext);
    return bytes;
}


}  // namespace

// --- usage: parsed before anything is loaded -------------------------------------------------------

TEST(CliUsage, HelpExitsZero) {
    const CliResult r = run_cli({"--help"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    for (const char* command : {"verify", "detect", "template", "compare", "eval", "calibrate", "models"})
        EXPECT_NE(r.out.find(command), std::string::npos) << command << "\n" << describe(r);
    const CliResult sub = run_cli({"verify", "--help"});
    EXPECT_EQ(sub.exit_code, 0) << describe(sub);
    EXPECT_NE(sub.out.find("--fmr"), std::string::npos) << describe(sub);
}

TEST(CliUsage, MissingOrUnknownCommandIs64) {
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {}, {"frobnicate"}, {"eval"}, {"models"}, {"verify"}, {"verify", "only-one.jpg"}}) {
        const CliResult r = run_cli(args);
        EXPECT_EQ(r.exit_code, 64) << "args: " << testing::PrintToString(args) << "\n" << describe(r);
        EXPECT_FALSE(r.err.empty()) << "a usage error says what is wrong on stderr";
    }
}

TEST(CliUsage, UnknownOptionIs64) {
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"--bogus"}, {"verify", "a.jpg", "b.jpg", "--bogus"}, {"detect", "a.jpg", "--thresh", "3"}}) {
        const CliResult r = run_cli(args);
        EXPECT_EQ(r.exit_code, 64) << "args: " << testing::PrintToString(args) << "\n" << describe(r);
    }
}

TEST(CliUsage, FmrOutOfRangeIs64) {
    fptest::TempDir dir;
    const fs::path calibration = fptest::write_flat_calibration(dir.path(), "any-model", 0.3);
    // Outside what the option accepts at all.
    CliResult r = run_cli({"verify", "a.jpg", "b.jpg", "--fmr", "0.7", "--calibration", calibration.string()});
    EXPECT_EQ(r.exit_code, 64) << describe(r);
    r = run_cli({"verify", "a.jpg", "b.jpg", "--fmr", "lots", "--calibration", calibration.string()});
    EXPECT_EQ(r.exit_code, 64) << describe(r);
    // Accepted by the option but not calibrated (the file covers 1e-5 .. 1e-2): a usage error too,
    // found before the images are even read (they do not exist).
    r = run_cli({"verify", "a.jpg", "b.jpg", "--fmr", "1e-7", "--calibration", calibration.string(), "--json"});
    expect_json_error(r, "invalid_argument", 64);
}

// --- unreadable inputs: refused before any model is loaded ----------------------------------------

class CliImageErrors : public ::testing::Test {
protected:
    void SetUp() override {
        calibration_ = fptest::write_flat_calibration(dir_.path(), "any-model", 0.3);
        good_ = dir_ / "good.png";
        fptest::save_image(good_, fptest::gradient_image(64, 48));
    }
    CliResult verify(const fs::path& reference, const fs::path& probe, bool json_output = true) {
        std::vector<std::string> args{"verify", reference.string(), probe.string(), "--calibration", calibration_.string()};
        if (json_output) args.push_back("--json");
        return run_cli(args);
    }
    fptest::TempDir dir_;
    fs::path calibration_, good_;
};

TEST_F(CliImageErrors, MissingFileIsIoError) {
    const fs::path missing = dir_ / "no-such-file.jpg";
    CliResult r = verify(missing, good_);
    expect_json_error(r, "io_error");
    EXPECT_NE(r.out.find("no-such-file.jpg"), std::string::npos) << "the message names the file\n" << describe(r);
    EXPECT_NE(r.out.find("reference"), std::string::npos) << "the message names the role\n" << describe(r);
    r = verify(good_, missing);
    expect_json_error(r, "io_error");
    EXPECT_NE(r.out.find("probe"), std::string::npos) << describe(r);
    // Without --json: nothing on stdout, the error and its code on stderr.
    r = verify(missing, good_, false);
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_TRUE(r.out.empty()) << describe(r);
    EXPECT_NE(r.err.find("[io_error]"), std::string::npos) << describe(r);
}

TEST_F(CliImageErrors, GarbageBytesAreUnreadable) {
    std::vector<std::uint8_t> garbage(5000);
    cv::RNG rng(3);
    for (auto& b : garbage) b = static_cast<std::uint8_t>(rng.uniform(0, 256));
    fptest::write_bytes(dir_ / "garbage.jpg", garbage);
    expect_json_error(verify(dir_ / "garbage.jpg", good_), "image_unreadable");
    fptest::write_text(dir_ / "text.png", "this is not a picture\n");
    expect_json_error(verify(good_, dir_ / "text.png"), "image_unreadable");
}

TEST_F(CliImageErrors, TruncatedJpegIsUnreadable) {
    cv::Mat noise(240, 320, CV_8UC3);
    cv::RNG(9).fill(noise, cv::RNG::UNIFORM, 0, 256);
    const auto jpeg = encode(".jpg", noise);
    ASSERT_GT(jpeg.size(), 10000u);
    for (const std::size_t keep : {jpeg.size() / 2, jpeg.size() - 200, std::size_t{300}}) {
        SCOPED_TRACE(testing::Message() << "first " << keep << " of " << jpeg.size() << " bytes");
        fptest::write_bytes(dir_ / "cut.jpg", {jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(keep)});
        expect_json_error(verify(dir_ / "cut.jpg", good_), "image_unreadable");
    }
}

TEST_F(CliImageErrors, EmptyFileIsUnreadable) {
    fptest::write_bytes(dir_ / "empty.jpg", {});
    expect_json_error(verify(dir_ / "empty.jpg", good_), "image_unreadable");
}

TEST_F(CliImageErrors, HugePngHeaderIsTooLarge) {
    fptest::write_bytes(dir_ / "huge.png", png_claiming(60000, 60000));
    const CliResult r = verify(good_, dir_ / "huge.png");
    expect_json_error(r, "image_too_large");
    EXPECT_NE(r.out.find("probe"), std::string::npos) << describe(r);
}

// --- models ----------------------------------------------------------------------------------------

TEST(CliModels, VerifyOnAnEmptyDirectoryNamesTheFix) {
    fptest::TempDir empty;
    const CliResult r = run_cli({"models", "verify", "--models", empty.path().string()});
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_NE((r.out + r.err).find("faceproof models fetch"), std::string::npos) << describe(r);
    for (const auto& m : fp::model_manifest()) EXPECT_NE(r.out.find(m.file), std::string::npos) << m.file;
}

// `models verify --json` on a broken model directory prints one JSON document: the error, coded
// model_missing for absent files (model_corrupt is for a present file with the wrong sum).
TEST(CliModels, VerifyJsonOnAnEmptyDirectoryIsOneErrorDocument) {
    fptest::TempDir empty;
    const CliResult r = run_cli({"models", "verify", "--models", empty.path().string(), "--json"});
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    const json j = parse_stdout(r);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << describe(r);
    EXPECT_EQ(j["error"].value("code", ""), "model_missing") << describe(r);
    EXPECT_NE(j["error"].value("message", "").find("faceproof models fetch"), std::string::npos) << describe(r);
}

TEST(CliModels, ListJsonOnAnEmptyDirectory) {
    fptest::TempDir empty;
    const CliResult r = run_cli({"models", "list", "--json", "--models", empty.path().string()});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    const json j = parse_stdout(r);
    ASSERT_TRUE(j.contains("models") && j["models"].is_array()) << describe(r);
    EXPECT_EQ(j["models"].size(), 6u);
    for (const auto& m : j["models"]) {
        EXPECT_FALSE(m.value("present", true)) << m;
        EXPECT_FALSE(m.value("sha256_ok", true)) << m;
    }
    EXPECT_FALSE(j.value("ok", true));
    EXPECT_EQ(fs::path(j.value("dir", "")), empty.path());
}

// --- commands on real photos (models and test-data/face-api needed) --------------------------------

class CliTest : public fptest::ModelTest<CliTest> {
public:
    static void set_up_suite() {
        dir_ = std::make_unique<fptest::TempDir>("faceproof-cli-test");
        model_id_ = fptest::shared_engine().template_model_id();
        const auto& group = fptest::group_photo();
        faces_ = group.faces;
        if (faces_.size() != 4)
            throw std::runtime_error("sample6.jpg should show 4 faces, found " + std::to_string(faces_.size()));
        for (int i = 0; i < 4; ++i) {
            const cv::Mat region = fptest::crop(group.photo, fptest::grow_box(faces_[i].box, 0.5, group.photo.size()));
            fptest::save_image(face_path(i), region);
            fptest::save_image(copy_path(i), fptest::degraded_copy(region));
        }
        fptest::save_image(blank_path(), fptest::gradient_image(400, 300, true));
        calibration_ = fptest::write_flat_calibration(dir_->path(), model_id_, 0.3);
    }
    static void TearDownTestSuite() { dir_.reset(); }

protected:

    static fs::path face_path(int i) { return dir_->path() / ("face" + std::to_string(i) + ".jpg"); }
    static fs::path copy_path(int i) { return dir_->path() / ("face" + std::to_string(i) + "-copy.jpg"); }
    static fs::path blank_path() { return dir_->path() / "blank.png"; }

    static CliResult verify(const fs::path& a, const fs::path& b, std::vector<std::string> extra = {}) {
        std::vector<std::string> args{"verify", a.string(), b.string(), "--calibration", calibration_.string(), "--json"};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_cli(args);
    }

    static inline std::unique_ptr<fptest::TempDir> dir_;
    static inline std::string model_id_;
    static inline std::vector<fp::Face> faces_;
    static inline fs::path calibration_;
};

TEST_F(CliTest, ImageWithoutAFaceIsNoFace) {
    CliResult r = verify(blank_path(), face_path(0));
    expect_json_error(r, "no_face");
    EXPECT_NE(r.out.find("reference"), std::string::npos) << describe(r);
    r = run_cli({"detect", blank_path().string(), "--json"});
    expect_json_error(r, "no_face");
}

TEST_F(CliTest, DifferentPeopleAreNoMatch) {
    const CliResult r = verify(face_path(0), face_path(1));
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    const json j = parse_stdout(r);
    ASSERT_TRUE(j.is_object()) << describe(r);
    EXPECT_EQ(j["match"], false) << j;
    ASSERT_TRUE(j["similarity"].is_number()) << j;
    EXPECT_LT(j["similarity"].get<double>(), 0.3);
    EXPECT_GE(j["similarity"].get<double>(), -1.0);
    ASSERT_TRUE(j["threshold"].is_number()) << j;
    EXPECT_DOUBLE_EQ(j["threshold"].get<double>(), 0.3);
    ASSERT_TRUE(j["fmr"].is_number()) << j;
    EXPECT_DOUBLE_EQ(j["fmr"].get<double>(), fp::kDefaultFmr);
    EXPECT_EQ(j.value("template_model", ""), model_id_);
    expect_analysis_json(j["reference"], "reference");
    expect_analysis_json(j["probe"], "probe");
    EXPECT_EQ(j["reference"].value("rotation", -1), 0);
    ASSERT_TRUE(j["timing_ms"].is_object()) << j;
    for (const char* stage : {"detect", "landmarks", "align", "embed"}) {
        ASSERT_TRUE(j["timing_ms"].contains(stage)) << stage << " " << j["timing_ms"];
        EXPECT_TRUE(j["timing_ms"][stage].is_number());
        EXPECT_GE(j["timing_ms"][stage].get<double>(), 0.0);
    }
    // The text form says the same, and the decision follows the threshold of the chosen FMR.
    const CliResult text = run_cli({"verify", face_path(0).string(), face_path(1).string(), "--calibration",
                                    calibration_.string()});
    EXPECT_EQ(text.exit_code, 1) << describe(text);
    EXPECT_NE(text.out.find("NO MATCH"), std::string::npos) << describe(text);
}

// Face matching only: the copy is cut from a photograph, which liveness rightly refuses (see
// test_proofing.cpp for the default, liveness-required decision).
TEST_F(CliTest, SamePersonIsMatch) {
    const CliResult r = verify(face_path(0), copy_path(0), {"--fmr", "1e-3", "--no-require-liveness"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    const json j = parse_stdout(r);
    EXPECT_EQ(j["match"], true) << j;
    EXPECT_GT(j.value("similarity", 0.0), 0.6) << j;
    EXPECT_DOUBLE_EQ(j.value("fmr", 0.0), 1e-3);
    expect_analysis_json(j["reference"], "reference");
    expect_analysis_json(j["probe"], "probe");
}

TEST_F(CliTest, ShippedCalibrationIsTheDefault) {
    try {
        fp::Calibration::shipped();
    } catch (const fp::Error& e) {
        // The CLI must then say how to proceed.
        const CliResult r = run_cli({"verify", face_path(0).string(), copy_path(0).string(), "--json"});
        expect_json_error(r, "calibration_invalid");
        EXPECT_NE(r.out.find("--calibration"), std::string::npos) << describe(r);
        GTEST_SKIP() << "this build ships no calibration (calibration/default.json absent at configure time)";
    }
    const CliResult same =
        run_cli({"verify", face_path(0).string(), copy_path(0).string(), "--json", "--no-require-liveness"});
    EXPECT_EQ(same.exit_code, 0) << describe(same);
    const json j = parse_stdout(same);
    EXPECT_NEAR(j.value("threshold", -1.0), fp::Calibration::shipped().threshold_for(fp::kDefaultFmr), 1e-6);
    const CliResult different = run_cli({"verify", face_path(0).string(), face_path(1).string()});
    EXPECT_EQ(different.exit_code, 1) << describe(different);
}

TEST_F(CliTest, DetectJsonListsFourFacesWithLandmarks) {
    const CliResult r = run_cli({"detect", fptest::sample_path(6).string(), "--json"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    const json j = parse_stdout(r);
    EXPECT_EQ(j["image"].value("width", 0), 1920) << j["image"];
    EXPECT_EQ(j["image"].value("height", 0), 1537) << j["image"];
    ASSERT_TRUE(j["faces"].is_array()) << describe(r);
    ASSERT_EQ(j["faces"].size(), 4u) << describe(r);
    for (std::size_t i = 0; i < 4; ++i) {
        const json& f = j["faces"][i];
        SCOPED_TRACE(testing::Message() << "face " << i << ": " << f.dump());
        EXPECT_TRUE(is_box(f["box"]));
        EXPECT_EQ(f.value("rotation", -1), 0);
        ASSERT_TRUE(f["landmarks68"].is_array());
        EXPECT_EQ(f["landmarks68"].size(), 68u);
        for (const auto& p : f["landmarks68"]) EXPECT_TRUE(p.is_array() && p.size() == 2 && p[0].is_number()) << p;
        ASSERT_TRUE(f["landmarks5"].is_array());
        EXPECT_EQ(f["landmarks5"].size(), 5u);
        // The same faces, in the same order, as the library finds.
        const cv::Rect2f& b = faces_[i].box;
        const float expected[4] = {b.x, b.y, b.width, b.height};
        for (int k = 0; k < 4; ++k) EXPECT_NEAR(f["box"][k].get<double>(), expected[k], 0.06) << k;
    }
    EXPECT_TRUE(j["timing_ms"].contains("detect")) << j["timing_ms"];
}

TEST_F(CliTest, DetectDrawWritesAReadablePng) {
    const fs::path out = dir_->path() / "drawn.png";
    const CliResult r = run_cli({"detect", fptest::sample_path(6).string(), "--draw", out.string()});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("4 faces"), std::string::npos) << describe(r);
    ASSERT_TRUE(fs::is_regular_file(out)) << describe(r);
    const auto bytes = fptest::read_bytes(out);
    EXPECT_EQ(fp::probe_image(bytes).format, fp::ImageFormat::png);
    const cv::Mat drawn = fp::decode_image(bytes);
    const cv::Mat original = fptest::load_sample(6);
    ASSERT_EQ(drawn.size(), original.size());
    EXPECT_GT(cv::norm(drawn, original, cv::NORM_L1), 0.0) << "nothing was drawn";
    // Unwritable destination: io_error, exit 2.
    const CliResult bad = run_cli({"detect", fptest::sample_path(6).string(), "--draw",
                                   (dir_->path() / "no-dir" / "x.png").string(), "--json"});
    expect_json_error(bad, "io_error");
}

TEST_F(CliTest, TemplateAndCompareAgreeWithVerify) {
    const fs::path a = dir_->path() / "a.fpt", a2 = dir_->path() / "a2.fpt", b = dir_->path() / "b.fpt";
    for (const auto& [image, out] : {std::pair{face_path(2), a}, std::pair{copy_path(2), a2}, std::pair{face_path(3), b}}) {
        const CliResult r = run_cli({"template", image.string(), "-o", out.string(), "--json"});
        ASSERT_EQ(r.exit_code, 0) << describe(r);
        const json j = parse_stdout(r);
        EXPECT_EQ(j.value("template_model", ""), model_id_) << j;
        EXPECT_EQ(j.value("template", ""), out.string()) << j;
        EXPECT_GE(j.value("faces", 0), 1) << j;
        const fp::Template t = fp::parse_template(fptest::read_bytes(out));
        EXPECT_EQ(t.model_id, model_id_);
        EXPECT_EQ(t.values.size(), 512u);
    }
    auto compare = [&](const fs::path& x, const fs::path& y) {
        return run_cli({"compare", x.string(), y.string(), "--calibration", calibration_.string(), "--json"});
    };
    const CliResult same = compare(a, a2);
    EXPECT_EQ(same.exit_code, 0) << describe(same);
    EXPECT_EQ(parse_stdout(same)["match"], true);

    const CliResult different = compare(a, b);
    EXPECT_EQ(different.exit_code, 1) << describe(different);
    const json cj = parse_stdout(different);
    EXPECT_EQ(cj["match"], false);
    EXPECT_DOUBLE_EQ(cj.value("threshold", 0.0), 0.3);

    // verify on the same two images decides the same with the same similarity.
    const CliResult v = verify(face_path(2), face_path(3));
    EXPECT_EQ(v.exit_code, different.exit_code) << describe(v);
    const json vj = parse_stdout(v);
    EXPECT_NEAR(vj.value("similarity", 9.0), cj.value("similarity", -9.0), 1e-5) << vj << "\n" << cj;
    // compare is symmetric.
    EXPECT_NEAR(parse_stdout(compare(b, a)).value("similarity", 9.0), cj.value("similarity", -9.0), 1e-9);
}

TEST_F(CliTest, CompareRejectsACorruptedTemplate) {
    const fs::path good = dir_->path() / "good.fpt", bad = dir_->path() / "bad.fpt";
    ASSERT_EQ(run_cli({"template", face_path(1).string(), "-o", good.string()}).exit_code, 0);
    auto bytes = fptest::read_bytes(good);
    bytes[bytes.size() / 2] ^= 0x10;
    fptest::write_bytes(bad, bytes);
    CliResult r = run_cli({"compare", good.string(), bad.string(), "--calibration", calibration_.string(), "--json"});
    expect_json_error(r, "template_invalid");
    EXPECT_NE(r.out.find("bad.fpt"), std::string::npos) << "the message names the file\n" << describe(r);
    // An image is not a template either.
    r = run_cli({"compare", face_path(0).string(), good.string(), "--calibration", calibration_.string(), "--json"});
    expect_json_error(r, "template_invalid");
    // A calibration for another model: the templates cannot be judged with it.
    const fs::path other = dir_->path() / "other" / "calibration.json";
    fs::create_directories(other.parent_path());
    fptest::write_flat_calibration(other.parent_path(), "other-model", 0.3);
    r = run_cli({"compare", good.string(), good.string(), "--calibration", other.string(), "--json"});
    EXPECT_EQ(r.exit_code, 2) << describe(r);
}

TEST_F(CliTest, ModelsListAndVerifyOnTheInstalledModels) {
    CliResult r = run_cli({"models", "list", "--json"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    const json j = parse_stdout(r);
    ASSERT_TRUE(j["models"].is_array()) << describe(r);
    EXPECT_EQ(j["models"].size(), 6u);
    std::set<std::string> names;
    for (const auto& m : j["models"]) {
        names.insert(m.value("name", ""));
        EXPECT_TRUE(m.value("present", false)) << m;
        EXPECT_TRUE(m.value("sha256_ok", false)) << m;
        EXPECT_EQ(m.value("file", ""), m.value("name", "") + ".onnx");
    }
    EXPECT_EQ(names.size(), 6u);
    EXPECT_TRUE(j.value("ok", false));
    EXPECT_EQ(fs::path(j.value("dir", "")), fptest::models_dir());
    r = run_cli({"models", "verify"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
}

TEST_F(CliTest, EvalLfwOnATinyPairsFile) {
    // LFW layout: ROOT/Name/Name_0001.jpg. Person_k_0001 is face k of sample6, Person_k_0002 its
    // degraded copy; Nobody_Here_0001 has no face.
    fptest::TempDir root("faceproof-cli-lfw");
    auto place = [&](const std::string& name, int index, const fs::path& from) {
        fs::create_directories(root.path() / name);
        char file[16];
        std::snprintf(file, sizeof file, "_%04d.jpg", index);
        fptest::save_image(root.path() / name / (name + file), fp::load_image(from));
    };
    const char* names[] = {"Person_One", "Person_Two", "Person_Three", "Person_Four"};
    for (int i = 0; i < 4; ++i) {
        place(names[i], 1, face_path(i));
        if (i < 3) place(names[i], 2, copy_path(i));
    }
    place("Nobody_Here", 1, blank_path());
    const fs::path pairs = root.path() / "pairs.txt";
    fptest::write_text(pairs,
                       "3\n"
                       "Person_One\t1\t2\n"
                       "Person_Two\t1\t2\n"
                       "Person_Three\t1\t2\n"
                       "Person_One\t1\tPerson_Two\t1\n"
                       "Person_Three\t2\tPerson_Four\t1\n"
                       "Nobody_Here\t1\tPerson_One\t2\n");
    const CliResult r = run_cli({"eval", "lfw", "--root", root.path().string(), "--pairs", pairs.string(),
                                 "--threads", "1", "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const json j = parse_stdout(r);
    for (const char* key : {"accuracy", "accuracy_std", "tar_at_fmr", "pairs", "no_face"})
        EXPECT_TRUE(j.contains(key)) << key << "\n" << j.dump(2);
    EXPECT_EQ(j.value("pairs", 0), 6);
    EXPECT_EQ(j.value("images", 0), 8);
    EXPECT_EQ(j.value("no_face", 0), 1) << "Nobody_Here_0001.jpg has no face";
    EXPECT_EQ(j.value("failed_pairs", 0), 1);
    EXPECT_EQ(j.value("folds", 0), 1);
    // Genuine pairs (a face and its degraded copy) all score above every impostor pair.
    EXPECT_DOUBLE_EQ(j.value("accuracy", 0.0), 1.0) << j.dump(2);
    EXPECT_DOUBLE_EQ(j.value("accuracy_std", -1.0), 0.0);
    EXPECT_TRUE(j["tar_at_fmr"].is_object()) << j["tar_at_fmr"];
    EXPECT_EQ(j.value("template_model", ""), model_id_);
}

TEST_F(CliTest, LivenessChallengeAndCheckOfARecordedCapture) {
    CliResult r = run_cli({"liveness", "challenge", "--mode", "motion_light", "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const json challenge = parse_stdout(r);
    ASSERT_TRUE(challenge.is_object()) << describe(r);
    EXPECT_EQ(challenge["mode"], "motion_light");
    EXPECT_EQ(challenge["steps"].size(), 3u);
    EXPECT_GE(challenge["colors"].size(), 6u);
    EXPECT_NE(parse_stdout(run_cli({"liveness", "challenge", "--json"}))["nonce"], challenge["nonce"]);

    // A still photo "recorded" for the challenge: refused, with the step and light reasons.
    const fs::path file = dir_->path() / "challenge.json";
    fptest::write_text(file, challenge.dump());
    std::vector<std::string> args{"liveness", "check", "--challenge", file.string()};
    std::string times, colors;
    for (int i = 0; i < 14; ++i) {
        args.push_back(face_path(0).string());
        times += (i ? "," : "") + std::to_string(i * 100);
        colors += (i ? "," : "") + std::to_string(i / 3 % 6);
    }
    std::vector<std::string> with_times = args;
    with_times.insert(with_times.end(), {"--timestamps-ms", times, "--colors", colors, "--json"});
    r = run_cli(with_times);
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    const json decided = parse_stdout(r);
    ASSERT_TRUE(decided.is_object()) << describe(r);
    EXPECT_EQ(decided["decision"], "not_live");
    const auto reasons = decided["reasons"].get<std::vector<std::string>>();
    EXPECT_NE(std::find(reasons.begin(), reasons.end(), "FROZEN_FEED"), reasons.end()) << decided.dump();

    // Usage errors: a list that does not fit the frames, a challenge file that is not one.
    std::vector<std::string> short_list = args;
    short_list.insert(short_list.end(), {"--timestamps-ms", "0,100", "--json"});
    EXPECT_EQ(run_cli(short_list).exit_code, 64);
    fptest::write_text(file, R"({"nonce":"00","mode":"motion","steps":[]})");
    args.push_back("--json");
    r = run_cli(args);
    EXPECT_EQ(r.exit_code, 64) << describe(r);
    EXPECT_EQ(run_cli({"liveness", "--json"}).exit_code, 64);
}
