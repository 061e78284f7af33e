// The files a user names, refused when they are not what they should be: FIFOs and devices fail fast
// instead of hanging or being read without end, oversized files are refused from their size alone
// (library and CLI: images, templates, data keys, consent files, `serve --config`, calibrations,
// data set lists, models). CLI runs that used to hang get a timeout, so a regression fails instead
// of blocking the suite.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>

#include <nlohmann/json.hpp>

#include "faceproof/crypto.hpp"
#include "eval/lfw_pairs.hpp"
#include "faceproof/image.hpp"
#include "faceproof/liveness.hpp"
#include "faceproof/calibration.hpp"
#include "faceproof/template.hpp"
#include "faceproof/models.hpp"
#include "faceproof/server.hpp"
#include "eval/pad_labels.hpp"
#include "test_support.hpp"
#include "util/input_file.hpp"
#include "util/text_file.hpp"

namespace fp = faceproof;
using fp::ErrorCode;
using fptest::expect_error_code;
using nlohmann::json;

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kCliTimeout = 30s;  // every refusal here takes milliseconds; a hang takes forever

void make_fifo(const fs::path& path) { ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0) << std::strerror(errno); }

// A sparse file of `bytes` (no data blocks written): refusing it from its size costs nothing,
// reading it would take seconds and gigabytes.
void make_sparse(const fs::path& path, std::uint64_t bytes) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(bytes)), 0) << std::strerror(errno);
    ::close(fd);
}

// Runs f expecting Error{code} within a few seconds. Should f block opening `fifo` (the bug), a
// writer is opened to release it, so the test fails instead of hanging.
template <class F>
std::string expect_fast_error(ErrorCode code, const fs::path& fifo, F&& f) {
    auto done = std::async(std::launch::async, [&] { return expect_error_code(code, f); });
    if (done.wait_for(10s) == std::future_status::ready) return done.get();
    ADD_FAILURE() << "still blocked after 10 s on the FIFO " << fifo;
    const int w = ::open(fifo.c_str(), O_WRONLY);  // lets the blocked open() return; EOF follows
    if (w >= 0) ::close(w);
    return done.get();
}

fptest::CliResult cli(const std::vector<std::string>& args) {
    fptest::CliOptions options;
    options.timeout = kCliTimeout;
    const fptest::CliResult r = fptest::run_cli(args, options);
    EXPECT_FALSE(r.timed_out) << "the CLI hung: faceproof " << testing::PrintToString(args);
    return r;
}

// Expects the JSON error of a --json run: exit code, error code, and message fragments.
void expect_cli_error(const fptest::CliResult& r, int exit_code, const std::string& code,
                      const std::vector<std::string>& fragments) {
    EXPECT_EQ(r.exit_code, exit_code) << fptest::describe(r);
    const json j = json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << fptest::describe(r);
    EXPECT_EQ(j["error"]["code"], code) << fptest::describe(r);
    const std::string message = j["error"].value("message", "");
    for (const auto& f : fragments) EXPECT_NE(message.find(f), std::string::npos) << f << " in: " << message;
}

fp::Template shipped_model_template(int seed, const std::string& sha) {
    fp::Template t{fp::Calibration::shipped().model_id(), sha, std::vector<float>(512)};
    std::uint32_t x = 2463534242u + static_cast<std::uint32_t>(seed);
    double norm = 0;
    for (float& v : t.values) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        v = static_cast<float>(static_cast<double>(x) / 4294967296.0 - 0.5);
        norm += static_cast<double>(v) * v;
    }
    for (float& v : t.values) v = static_cast<float>(v / std::sqrt(norm));
    return t;
}

class InputFiles : public testing::Test {
protected:
    void SetUp() override {
        make_fifo(fifo_);
        make_sparse(sparse_, 2ull << 30);  // 2 GiB
    }
    fptest::TempDir dir_{"faceproof-inputs"};
    fs::path fifo_ = dir_ / "fifo";
    fs::path sparse_ = dir_ / "sparse";
};

// --- the library ---------------------------------------------------------------------------------

TEST_F(InputFiles, OnlyRegularFilesAreRead) {
    std::string msg = expect_fast_error(ErrorCode::io_error, fifo_, [&] { fp::read_input_file(fifo_, 100, "test file"); });
    EXPECT_NE(msg.find("FIFO"), std::string::npos) << msg;
    EXPECT_NE(msg.find(fifo_.string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("test file"), std::string::npos) << msg;
    msg = expect_error_code(ErrorCode::io_error, [] { fp::read_input_file("/dev/zero", 100, "test file"); });
    EXPECT_NE(msg.find("character device"), std::string::npos) << msg;
    msg = expect_error_code(ErrorCode::io_error, [&] { fp::read_input_file(dir_.path(), 100, "test file"); });
    EXPECT_NE(msg.find("directory"), std::string::npos) << msg;
    msg = expect_error_code(ErrorCode::io_error, [&] { fp::read_input_file(dir_ / "absent", 100, "test file"); });
    EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;
    // A symbolic link to a FIFO is a FIFO.
    fs::create_symlink(fifo_, dir_ / "link");
    msg = expect_fast_error(ErrorCode::io_error, fifo_, [&] { fp::read_input_file(dir_ / "link", 100, "test file"); });
    EXPECT_NE(msg.find("FIFO"), std::string::npos) << msg;
}

TEST_F(InputFiles, SizeIsCheckedBeforeReading) {
    fptest::write_text(dir_ / "ten", "0123456789");
    EXPECT_EQ(fp::read_input_text(dir_ / "ten", 10, "test file"), "0123456789");
    std::string msg = expect_error_code(ErrorCode::io_error, [&] { fp::read_input_file(dir_ / "ten", 9, "test file"); });
    EXPECT_NE(msg.find("is 10 bytes; the limit is 9 bytes"), std::string::npos) << msg;
    // The size of a 2 GiB sparse file refuses it at once: the exact size in the message comes from
    // fstat, not from reading (which would say "more than").
    const auto start = std::chrono::steady_clock::now();
    msg = expect_error_code(ErrorCode::io_error, [&] { fp::read_input_file(sparse_, 64 << 10, "test file"); });
    EXPECT_NE(msg.find("is 2147483648 bytes"), std::string::npos) << msg;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    // Images keep their own code.
    expect_error_code(ErrorCode::image_too_large, [&] { fp::read_file_limited(sparse_, 1 << 20); });
    expect_error_code(ErrorCode::image_too_large, [&] { fp::load_image(sparse_); });
    msg = expect_fast_error(ErrorCode::io_error, fifo_, [&] { fp::load_image(fifo_); });
    EXPECT_NE(msg.find("FIFO"), std::string::npos) << msg;
    expect_error_code(ErrorCode::io_error, [] { fp::load_image("/dev/zero"); });
}

TEST_F(InputFiles, TextFilesHaveALimit) {
    fptest::write_text(dir_ / "small.json", "{}");
    EXPECT_EQ(fp::read_text_file(dir_ / "small.json", "settings", 2), "{}");
    expect_error_code(ErrorCode::io_error, [&] { fp::read_text_file(dir_ / "small.json", "settings", 1); });
    expect_fast_error(ErrorCode::io_error, fifo_, [&] { fp::read_text_file(fifo_, "settings", 100); });
}

TEST_F(InputFiles, ServerConfigCalibrationsAndDatasetLists) {
    for (const fs::path& bad : {fifo_, fs::path("/dev/zero"), sparse_}) {
        std::string msg = expect_fast_error(ErrorCode::io_error, fifo_, [&] { fp::ServerConfig::from_file(bad); });
        EXPECT_NE(msg.find(bad.string()), std::string::npos) << msg;
        expect_fast_error(ErrorCode::io_error, fifo_, [&] { fp::Calibration::load(bad); });
        expect_fast_error(ErrorCode::io_error, fifo_, [&] { fp::LivenessCalibration::load(bad); });
        expect_fast_error(ErrorCode::io_error, fifo_, [&] { fp::parse_lfw_pairs(bad); });
        expect_fast_error(ErrorCode::io_error, fifo_, [&] { fp::parse_pad_labels(bad); });
    }
    // 64 KiB is enough for any real settings file; one byte more is refused.
    fptest::write_text(dir_ / "big.json", "{\"host\": \"" + std::string(64 * 1024, 'a') + "\"}");
    const std::string msg =
        expect_error_code(ErrorCode::io_error, [&] { fp::ServerConfig::from_file(dir_ / "big.json"); });
    EXPECT_NE(msg.find("the limit is 65536 bytes"), std::string::npos) << msg;
}

TEST_F(InputFiles, DataKeyFiles) {
    std::string msg = expect_fast_error(ErrorCode::key_invalid, fifo_, [&] { fp::DataKey::from_file(fifo_); });
    EXPECT_NE(msg.find("FIFO"), std::string::npos) << msg;
    msg = expect_error_code(ErrorCode::key_invalid, [] { fp::DataKey::from_file("/dev/zero"); });
    EXPECT_NE(msg.find("character device"), std::string::npos) << msg;
    msg = expect_error_code(ErrorCode::key_invalid, [&] { fp::DataKey::from_file(sparse_); });  // mode 0600
    EXPECT_NE(msg.find("is 2147483648 bytes; the limit is 4096 bytes"), std::string::npos) << msg;
    // The accepted forms still load.
    fp::DataKey::generate_file(dir_ / "key");
    EXPECT_EQ(fp::DataKey::from_file(dir_ / "key").id().size(), 16u);
}

TEST_F(InputFiles, ModelFilesAreRegularFiles) {
    ASSERT_TRUE(fptest::models_problem().empty()) << fptest::models_problem();
    // The model directory with one model replaced by a FIFO.
    const fs::path models = dir_ / "models";
    fs::create_directory(models);
    const auto manifest = fp::model_manifest();
    for (const auto& m : manifest)
        if (m.file != manifest.front().file) fs::create_symlink(fptest::models_dir() / m.file, models / m.file);
    make_fifo(models / manifest.front().file);
    const std::string msg = expect_fast_error(ErrorCode::io_error, models / manifest.front().file,
                                              [&] { fp::ModelSet::open(models); });
    EXPECT_NE(msg.find("FIFO"), std::string::npos) << msg;
    expect_fast_error(ErrorCode::io_error, models / manifest.front().file, [&] { fp::verify_models(models); });
}

// --- the command line ----------------------------------------------------------------------------

TEST_F(InputFiles, CliRefusesFifosAndDevicesAsImagesTemplatesAndKeys) {
    const fs::path good = dir_ / "good.png";
    fptest::save_image(good, fptest::gradient_image(64, 48));
    const std::string db = "--db=sqlite:" + (dir_ / "store.db").string();
    auto r = cli({"verify", fifo_.string(), good.string(), "--json", db});
    expect_cli_error(r, 2, "io_error", {"reference image", fifo_.string(), "FIFO"});
    r = cli({"verify", good.string(), "/dev/zero", "--json", db});
    expect_cli_error(r, 2, "io_error", {"probe image", "/dev/zero", "character device"});
    r = cli({"template", fifo_.string(), "-o", (dir_ / "t.fptm").string(), "--json"});
    expect_cli_error(r, 2, "io_error", {fifo_.string(), "FIFO"});
    r = cli({"compare", fifo_.string(), fifo_.string(), "--json"});
    expect_cli_error(r, 2, "io_error", {"template file", fifo_.string(), "FIFO"});
    r = cli({"compare", sparse_.string(), sparse_.string(), "--json"});
    expect_cli_error(r, 2, "io_error", {"template file", "is 2147483648 bytes; the limit is 1048576 bytes"});
    r = cli({"search", good.string(), "--key-file", fifo_.string(), "--json", db});
    expect_cli_error(r, 2, "key_invalid", {"data key file", fifo_.string(), "FIFO"});
    r = cli({"keys", "rotate", "--new-key-file", "/dev/zero", "--json", db});
    expect_cli_error(r, 2, "key_invalid", {"/dev/zero", "character device"});
    r = cli({"liveness", good.string(), "--calibration", fifo_.string(), "--json"});
    expect_cli_error(r, 2, "io_error", {"liveness calibration file", "FIFO"});
    r = cli({"eval", "lfw", "--root", dir_.path().string(), "--pairs", fifo_.string(), "--json"});
    expect_cli_error(r, 2, "io_error", {"LFW pairs file", "FIFO"});
}

TEST_F(InputFiles, CliRefusesConsentAndConfigThatAreNotSmallRegularFiles) {
    const fs::path image = dir_ / "face.png";
    fptest::save_image(image, fptest::gradient_image(64, 48));
    fp::DataKey::generate_file(dir_ / "key");
    const fs::path store = dir_ / "store.db";
    auto enroll = [&](const fs::path& consent) {
        return cli({"enroll", "--subject", "s-1", "--consent", consent.string(), image.string(), "--json",
                    "--db=sqlite:" + store.string(), "--key-file=" + (dir_ / "key").string()});
    };
    expect_cli_error(enroll(fifo_), 2, "io_error", {"consent file", fifo_.string(), "FIFO"});
    expect_cli_error(enroll("/dev/zero"), 2, "io_error", {"consent file", "/dev/zero", "character device"});
    const auto start = std::chrono::steady_clock::now();
    expect_cli_error(enroll(sparse_), 2, "io_error", {"consent file", "is 2147483648 bytes; the limit is 65536 bytes"});
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s) << "a 2 GiB consent file must not be read";
    EXPECT_FALSE(fs::exists(store)) << "a refused consent file fails before the store is made";

    // serve: the settings file is read before anything is opened or bound.
    for (const fs::path& bad : {fifo_, fs::path("/dev/zero"), sparse_}) {
        const auto r = cli({"serve", "--config", bad.string(), "--listen", "127.0.0.1:0"});
        EXPECT_EQ(r.exit_code, 2) << fptest::describe(r);
        EXPECT_NE(r.err.find("server config '" + bad.string() + "'"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("[io_error]"), std::string::npos) << r.err;
    }
}

// --- templates of another model file (item: compare checks the model SHA-256) -------------------

TEST(TemplateModelFile, SimilarityRefusesAnotherModelFile) {
    const std::string sha_a(64, 'a'), sha_b(64, 'b');
    const fp::Template a = shipped_model_template(1, sha_a);
    fp::Template b = shipped_model_template(2, sha_a);
    EXPECT_LT(std::abs(fp::similarity(a, b)), 0.3);
    b.model_sha256 = sha_b;
    const std::string msg = expect_error_code(ErrorCode::template_mismatch, [&] { fp::similarity(a, b); });
    EXPECT_NE(msg.find(sha_a), std::string::npos) << msg;
    EXPECT_NE(msg.find(sha_b), std::string::npos) << msg;
    // The same digest in upper case is the same model file.
    b.model_sha256 = std::string(64, 'A');
    EXPECT_NO_THROW(fp::similarity(a, b));
}

TEST(TemplateModelFile, CalibrationRecordsTheModelFile) {
    // The shipped calibration was made with the shipped embedding model.
    const auto& manifest = fp::model_manifest();
    const auto feature = std::find_if(manifest.begin(), manifest.end(), [](auto& m) { return m.name == "fr_feature"; });
    ASSERT_NE(feature, manifest.end());
    EXPECT_EQ(fp::Calibration::shipped().model_sha256(), feature->sha256);
    // Optional, but 64 hex characters when present.
    const std::string base = fptest::flat_calibration_json("m", 0.3);
    EXPECT_EQ(fp::Calibration::from_json(base).model_sha256(), "");
    auto with_sha = [&](const std::string& sha) {
        return base.substr(0, base.size() - 1) + ", \"model_sha256\": \"" + sha + "\"}";
    };
    EXPECT_EQ(fp::Calibration::from_json(with_sha(std::string(64, 'C'))).model_sha256(), std::string(64, 'c'));
    expect_error_code(ErrorCode::calibration_invalid, [&] { fp::Calibration::from_json(with_sha("abc")); });
    expect_error_code(ErrorCode::calibration_invalid, [&] { fp::Calibration::from_json(with_sha(std::string(64, 'g'))); });
}

TEST(TemplateModelFile, CompareRefusesTemplatesOfAnotherModelFile) {
    fptest::TempDir dir("faceproof-compare");
    const std::string shipped_sha = fp::Calibration::shipped().model_sha256();
    const std::string other_sha(64, 'e');
    auto write = [&](const std::string& name, const fp::Template& t) {
        fptest::write_bytes(dir / name, fp::serialize_template(t));
        return (dir / name).string();
    };
    const fp::Template t = shipped_model_template(7, shipped_sha);
    fp::Template other = t;  // the very same vector, but from another model file
    other.model_sha256 = other_sha;
    const std::string a = write("a.fptm", t), a2 = write("a2.fptm", t), b = write("b.fptm", other);

    auto r = cli({"compare", a, a2, "--json"});
    EXPECT_EQ(r.exit_code, 0) << fptest::describe(r);
    // Before: MATCH with similarity 1. Now: two model files are never compared.
    r = cli({"compare", a, b, "--json"});
    expect_cli_error(r, 2, "template_mismatch", {"different model files", shipped_sha, other_sha});
    // Both of the other model file: comparable with each other, but not calibrated by the shipped
    // calibration, which records its model file.
    r = cli({"compare", b, b, "--json"});
    expect_cli_error(r, 2, "template_mismatch", {b, other_sha, shipped_sha});
    // A calibration that records no model file judges by the model id alone.
    const fs::path calibration = fptest::write_flat_calibration(dir.path(), t.model_id, 0.5);
    r = cli({"compare", b, b, "--calibration", calibration.string(), "--json"});
    EXPECT_EQ(r.exit_code, 0) << fptest::describe(r);
}

}  // namespace
