// Shared helpers of the geometry, match, engine and CLI tests: where the models and the test images
// are (with the failure message that says how to get them), scratch directories, running the CLI,
// face crops and image transforms, and calibration files written for a test.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include "faceproof/engine.hpp"
#include "faceproof/error.hpp"
#include "faceproof/template.hpp"
#include "faceproof/models.hpp"

namespace fptest {

namespace fs = std::filesystem;

// The project root (FACEPROOF_SOURCE_DIR, set by CMake for the test binary).
fs::path source_dir();

// --- models --------------------------------------------------------------------------------------

// The model directory the library resolves without a flag ($FACEPROOF_MODELS, else the default).
fs::path models_dir();
// Empty when every model of the manifest is present with its pinned SHA-256; otherwise a message
// naming the directory, the missing or altered files and the fix (scripts/setup.sh).
std::string models_problem();
// ModelSet::open(models_dir()), shared by every test of the binary (opened once).
// Throws std::runtime_error with models_problem() when the models are not usable.
std::shared_ptr<const faceproof::ModelSet> shared_models();

// --- face-api test photos (test-data/face-api/sample1..6.jpg) -----------------------------------

fs::path sample_path(int n);
// Empty when all six sample photos exist, else a message pointing to scripts/setup.sh.
std::string samples_problem();
// The decoded photo (EXIF orientation applied), as the CLI would see it.
cv::Mat load_sample(int n);

// Everything an engine fixture needs, checked once: empty when models and photos are there.
std::string engine_prerequisites_problem();

// --- the model fixture ---------------------------------------------------------------------------

// One Engine over shared_models() for the whole test binary (its networks opened once).
// Thread safety: like any Engine, used from one thread at a time (a test's own thread).
faceproof::Engine& shared_engine();

// sample6.jpg (four women side by side), its faces as detect() returns them and their templates,
// computed once per test binary with shared_engine().
struct GroupPhoto {
    cv::Mat photo;
    std::vector<faceproof::Face> faces;
    std::vector<faceproof::Template> templates;
};
const GroupPhoto& group_photo();

// Base of every suite that needs the models and photos: checks them once per suite, then runs the
// suite's own static set_up_suite() (when it declares one). When anything is missing or the set-up
// throws, every test of the suite FAILS with the reason — never skips — so a machine without the
// models cannot pass by skipping. A suite that overrides SetUp() calls ModelTest::SetUp() first.
template <class Suite>
class ModelTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        problem_ = engine_prerequisites_problem();
        if (!problem_.empty()) return;
        try {
            Suite::set_up_suite();
        } catch (const std::exception& e) {
            problem_ = std::string("suite set-up failed: ") + e.what();
        }
    }
    void SetUp() override {
        if (!problem_.empty()) GTEST_FAIL() << problem_;
    }
    static void set_up_suite() {}

    static inline std::string problem_;
};

// --- LFW (../shared/data/lfw-dev) ----------------------------------------------------------------

fs::path lfw_dev_dir();

// --- PostgreSQL (the throwaway server of scripts/with_postgres.sh) ---------------------------------

// A fresh schema of the server in $FACEPROOF_TEST_POSTGRES_URL (name: prefix + random digits);
// throws std::runtime_error when there is no server or the schema cannot be made.
std::string create_postgres_schema(const std::string& prefix);
// The server's URL with the schema as search_path: a database of its own for a test.
std::string postgres_schema_url(const std::string& schema);
void drop_postgres_schema(const std::string& schema);
// Runs sql on that server; the error message, empty when it worked.
std::string run_postgres_sql(const std::string& sql);

// --- scratch directories -------------------------------------------------------------------------

// A fresh private directory (mkdtemp), removed with its content on destruction.
class TempDir {
public:
    explicit TempDir(const std::string& prefix = "faceproof-test");
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }
    fs::path operator/(const std::string& name) const { return path_ / name; }

private:
    fs::path path_;
};

void write_bytes(const fs::path& path, const std::vector<std::uint8_t>& bytes);
void write_text(const fs::path& path, const std::string& text);
// v scaled to unit L2 norm, as float (the vectors of gallery tests).
std::vector<float> normalised(const std::vector<double>& v);
std::vector<std::uint8_t> read_bytes(const fs::path& path);
std::string read_text(const fs::path& path);

// Where any window of `secret` `width` bytes long occurs in the files, as "file@offset" (Rabin–Karp
// over each file, so every one of the windows is looked for, not a sample). Absent files are skipped.
std::vector<std::string> windows_found(const std::vector<fs::path>& files, const std::vector<std::uint8_t>& secret,
                                       std::size_t width = 32);

// --- images --------------------------------------------------------------------------------------

// box grown by margin * its size on every side, rounded outwards and clipped to the image.
cv::Rect grow_box(const cv::Rect2f& box, double margin, cv::Size image_size);
// box shrunk by inset * its size on every side (inset may be 0), rounded inwards, clipped.
cv::Rect shrink_box(const cv::Rect2f& box, double inset, cv::Size image_size);
// A deep copy of image(rect).
cv::Mat crop(const cv::Mat& image, const cv::Rect& rect);
// Rotates by degrees counter-clockwise (OpenCV convention) about the centre, enlarging the canvas so
// nothing is cut off; the new border is filled with the replicated edge.
cv::Mat rotate_by(const cv::Mat& image, double degrees);
// JPEG-encodes at quality and decodes again through faceproof::decode_image.
cv::Mat jpeg_round_trip(const cv::Mat& image, int quality);
// The "transformed copy" of a face crop: scale 0.6, rotate 7 degrees, JPEG quality 60, decode.
cv::Mat degraded_copy(const cv::Mat& face_crop);
// An image without any face: a smooth diagonal gradient (optionally with mild noise).
cv::Mat gradient_image(int width, int height, bool noisy = false);
// A progressive JPEG of image with `extra` more scans before its EOI: copies of its last scan header
// with no data, each a pass over the coefficients for a decoder (the "scan bomb").
std::vector<std::uint8_t> jpeg_with_extra_scans(const cv::Mat& image, int extra);
// A blank bilevel PNG of width x height: a few KB whatever its size (a pixel bomb).
std::vector<std::uint8_t> blank_png(int width, int height);
// Writes image (PNG or JPEG by extension); throws on failure.
void save_image(const fs::path& path, const cv::Mat& image);

// --- calibration ---------------------------------------------------------------------------------

// A calibration JSON document ("faceproof-calibration/1") with the given (fmr, threshold) points.
std::string calibration_json(const std::string& model_id, const std::vector<std::pair<double, double>>& points);
// Points at FMR 1e-2 .. 1e-5 all with threshold `threshold` (so every calibrated FMR gives it).
std::string flat_calibration_json(const std::string& model_id, double threshold);
// Writes flat_calibration_json to dir/calibration.json and returns the path.
fs::path write_flat_calibration(const fs::path& dir, const std::string& model_id, double threshold);

// --- the CLI -------------------------------------------------------------------------------------

struct CliResult {
    int exit_code = -1;  // the process exit status; 128 + signal when it was killed by a signal
    std::string out;     // stdout
    std::string err;     // stderr
    bool timed_out = false;
};
// Runs FACEPROOF_CLI_PATH with args (no shell), stdin from /dev/null, and waits for it. The
// environment is the test process's (so FACEPROOF_MODELS is passed on).
CliResult run_cli(const std::vector<std::string>& args);
struct CliOptions {
    // Killed (SIGKILL, exit_code 128 + 9, timed_out) when still running after this long: for tests
    // of inputs that used to hang, so that a regression fails instead of blocking the suite.
    std::optional<std::chrono::milliseconds> timeout;
    // NAME=value entries replacing the defaults (e.g. XDG_DATA_HOME, FACEPROOF_DB).
    std::vector<std::string> env;
};
CliResult run_cli(const std::vector<std::string>& args, const CliOptions& options);
std::string describe(const CliResult& r);  // for failure messages

// --- errors --------------------------------------------------------------------------------------

// Runs f and expects faceproof::Error with code; returns its message ("" when something else happened).
template <class F>
std::string expect_error_code(faceproof::ErrorCode code, F&& f);

}  // namespace fptest

#include <gtest/gtest.h>

template <class F>
std::string fptest::expect_error_code(faceproof::ErrorCode code, F&& f) {
    try {
        f();
    } catch (const faceproof::Error& e) {
        EXPECT_EQ(faceproof::to_string(e.code()), faceproof::to_string(code)) << "message: " << e.what();
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected faceproof::Error{" << faceproof::to_string(code)
                      << "}, got another exception: " << e.what();
        return {};
    }
    ADD_FAILURE() << "expected faceproof::Error{" << faceproof::to_string(code) << "}, nothing was thrown";
    return {};
}
