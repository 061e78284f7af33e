#include "test_support.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <postgresql/libpq-fe.h>

#include <algorithm>
#include <random>
#include <cerrno>
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "faceproof/image.hpp"

extern char** environ;

namespace fptest {

std::string run_postgres_sql(const std::string& sql) {
    const char* base = std::getenv("FACEPROOF_TEST_POSTGRES_URL");
    if (!base) return "FACEPROOF_TEST_POSTGRES_URL is not set (run under scripts/with_postgres.sh)";
    PGconn* c = PQconnectdb(base);
    PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);  // "drop cascades to ..." and the like
    std::string err;
    if (PQstatus(c) != CONNECTION_OK) {
        err = PQerrorMessage(c);
    } else {
        PGresult* r = PQexec(c, sql.c_str());
        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) err = PQerrorMessage(c);
        PQclear(r);
    }
    PQfinish(c);
    return err;
}

std::string create_postgres_schema(const std::string& prefix) {
    std::random_device rd;
    const std::string schema = prefix + "_" + std::to_string(rd());
    if (const std::string err = run_postgres_sql("CREATE SCHEMA " + schema); !err.empty())
        throw std::runtime_error("cannot create schema " + schema + ": " + err);
    return schema;
}

std::string postgres_schema_url(const std::string& schema) {
    const std::string base = std::getenv("FACEPROOF_TEST_POSTGRES_URL") ? std::getenv("FACEPROOF_TEST_POSTGRES_URL") : "";
    return base + (base.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema;
}

void drop_postgres_schema(const std::string& schema) { run_postgres_sql("DROP SCHEMA " + schema + " CASCADE"); }

fs::path source_dir() { return FACEPROOF_SOURCE_DIR; }

fs::path models_dir() { return faceproof::resolve_model_dir(std::nullopt); }

std::string models_problem() {
    fs::path dir;
    try {
        dir = models_dir();
    } catch (const std::exception& e) {
        return std::string("cannot resolve the model directory (") + e.what() +
               "); run scripts/setup.sh or set FACEPROOF_MODELS";
    }
    std::string bad;
    for (const auto& s : faceproof::verify_models(dir))
        if (!s.sha_ok) bad += " " + s.info.file + (s.present ? " (altered)" : " (missing)");
    if (bad.empty()) return {};
    return "the models are not installed in " + dir.string() + ":" + bad +
           ". Run scripts/setup.sh (it runs `faceproof models fetch`), or point FACEPROOF_MODELS at a "
           "directory with the fetched models";
}

std::shared_ptr<const faceproof::ModelSet> shared_models() {
    static std::mutex mutex;
    static std::shared_ptr<const faceproof::ModelSet> models;
    std::lock_guard lock(mutex);
    if (!models) {
        if (const std::string problem = models_problem(); !problem.empty()) throw std::runtime_error(problem);
        models = faceproof::ModelSet::open(models_dir());
    }
    return models;
}

fs::path sample_path(int n) { return source_dir() / "test-data" / "face-api" / ("sample" + std::to_string(n) + ".jpg"); }

std::string samples_problem() {
    std::string missing;
    for (int n = 1; n <= 6; ++n)
        if (!fs::is_regular_file(sample_path(n))) missing += " " + sample_path(n).filename().string();
    if (missing.empty()) return {};
    return "the face-api test photos are missing from " + (source_dir() / "test-data" / "face-api").string() + ":" +
           missing + ". Run scripts/setup.sh (it installs them with `npm pack @vladmandic/face-api`)";
}

cv::Mat load_sample(int n) {
    if (!fs::is_regular_file(sample_path(n))) throw std::runtime_error(samples_problem());
    return faceproof::load_image(sample_path(n));
}

std::string engine_prerequisites_problem() {
    std::string problem = models_problem();
    const std::string samples = samples_problem();
    if (!samples.empty()) problem += (problem.empty() ? "" : "\n") + samples;
    return problem;
}

faceproof::Engine& shared_engine() {
    static std::mutex mutex;
    static std::unique_ptr<faceproof::Engine> engine;
    std::lock_guard lock(mutex);
    if (!engine) engine = faceproof::Engine::create(shared_models());
    return *engine;
}

const GroupPhoto& group_photo() {
    static const GroupPhoto group = [] {
        GroupPhoto g;
        g.photo = load_sample(6);
        g.faces = shared_engine().detect(g.photo);
        for (const auto& face : g.faces) g.templates.push_back(shared_engine().embed(g.photo, face));
        return g;
    }();
    return group;
}

fs::path lfw_dev_dir() { return source_dir() / ".." / "shared" / "data" / "lfw-dev"; }

TempDir::TempDir(const std::string& prefix) {
    std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
    path_ = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

void write_bytes(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::vector<float> normalised(const std::vector<double>& v) {
    double norm = 0;
    for (double x : v) norm += x * x;
    norm = std::sqrt(norm);
    std::vector<float> out(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<float>(v[i] / norm);
    return out;
}

void write_text(const fs::path& path, const std::string& text) {
    write_bytes(path, std::vector<std::uint8_t>(text.begin(), text.end()));
}

std::vector<std::uint8_t> read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string read_text(const fs::path& path) {
    const auto bytes = read_bytes(path);
    return {bytes.begin(), bytes.end()};
}

cv::Rect grow_box(const cv::Rect2f& box, double margin, cv::Size size) {
    const double mx = margin * box.width, my = margin * box.height;
    const int x1 = static_cast<int>(std::floor(box.x - mx)), y1 = static_cast<int>(std::floor(box.y - my));
    const int x2 = static_cast<int>(std::ceil(box.x + box.width + mx));
    const int y2 = static_cast<int>(std::ceil(box.y + box.height + my));
    return cv::Rect(cv::Point(x1, y1), cv::Point(x2, y2)) & cv::Rect({0, 0}, size);
}

cv::Rect shrink_box(const cv::Rect2f& box, double inset, cv::Size size) {
    const double mx = inset * box.width, my = inset * box.height;
    const int x1 = static_cast<int>(std::ceil(box.x + mx)), y1 = static_cast<int>(std::ceil(box.y + my));
    const int x2 = static_cast<int>(std::floor(box.x + box.width - mx));
    const int y2 = static_cast<int>(std::floor(box.y + box.height - my));
    return cv::Rect(cv::Point(x1, y1), cv::Point(x2, y2)) & cv::Rect({0, 0}, size);
}

cv::Mat crop(const cv::Mat& image, const cv::Rect& rect) { return image(rect).clone(); }

cv::Mat rotate_by(const cv::Mat& image, double degrees) {
    const cv::Point2f centre(image.cols / 2.f, image.rows / 2.f);
    cv::Mat m = cv::getRotationMatrix2D(centre, degrees, 1.0);
    const cv::Rect2f bounds = cv::RotatedRect(centre, image.size(), static_cast<float>(degrees)).boundingRect2f();
    m.at<double>(0, 2) += bounds.width / 2.0 - centre.x;
    m.at<double>(1, 2) += bounds.height / 2.0 - centre.y;
    cv::Mat out;
    cv::warpAffine(image, out, m, cv::Size(static_cast<int>(std::ceil(bounds.width)), static_cast<int>(std::ceil(bounds.height))),
                   cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    return out;
}

cv::Mat jpeg_round_trip(const cv::Mat& image, int quality) {
    std::vector<std::uint8_t> bytes;
    if (!cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, quality}))
        throw std::runtime_error("JPEG encoding failed");
    return faceproof::decode_image(bytes);
}

cv::Mat degraded_copy(const cv::Mat& face_crop) {
    cv::Mat small;
    cv::resize(face_crop, small, {}, 0.6, 0.6, cv::INTER_AREA);
    return jpeg_round_trip(rotate_by(small, 7.0), 60);
}

cv::Mat gradient_image(int width, int height, bool noisy) {
    cv::Mat image(height, width, CV_8UC3);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            const double t = (static_cast<double>(x) / width + static_cast<double>(y) / height) / 2;
            image.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>(60 + 120 * t), static_cast<uchar>(200 - 90 * t),
                                                  static_cast<uchar>(150 + 60 * t));
        }
    if (noisy) {
        cv::Mat noise(image.size(), CV_16SC3);
        cv::RNG rng(42);
        rng.fill(noise, cv::RNG::NORMAL, 0, 6);
        cv::Mat sum;
        image.convertTo(sum, CV_16SC3);
        sum += noise;
        sum.convertTo(image, CV_8UC3);
    }
    return image;
}

void save_image(const fs::path& path, const cv::Mat& image) {
    if (!cv::imwrite(path.string(), image)) throw std::runtime_error("cannot write image " + path.string());
}

std::string calibration_json(const std::string& model_id, const std::vector<std::pair<double, double>>& points) {
    std::ostringstream out;
    out.precision(17);
    out << "{\"format\": \"faceproof-calibration/1\", \"model_id\": \"" << model_id << "\", \"operating_points\": [";
    for (std::size_t i = 0; i < points.size(); ++i)
        out << (i ? ", " : "") << "{\"fmr\": " << points[i].first << ", \"threshold\": " << points[i].second << "}";
    out << "]}";
    return out.str();
}

std::string flat_calibration_json(const std::string& model_id, double threshold) {
    return calibration_json(model_id, {{1e-2, threshold}, {1e-3, threshold}, {1e-4, threshold}, {1e-5, threshold}});
}

fs::path write_flat_calibration(const fs::path& dir, const std::string& model_id, double threshold) {
    const fs::path path = dir / "calibration.json";
    write_text(path, flat_calibration_json(model_id, threshold));
    return path;
}

CliResult run_cli(const std::vector<std::string>& args) { return run_cli(args, CliOptions{}); }

CliResult run_cli(const std::vector<std::string>& args, const CliOptions& options) {
    TempDir capture("faceproof-cli-run");
    const std::string out_path = (capture.path() / "stdout").string();
    const std::string err_path = (capture.path() / "stderr").string();

    std::vector<std::string> argv_storage{FACEPROOF_CLI_PATH};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    // Commands that audit (verify) write to $FACEPROOF_DB: unless the test chose a database, each
    // run gets its own, so tests never touch the user's store or each other's.
    std::vector<std::string> env_storage;
    for (char** e = environ; *e; ++e) env_storage.emplace_back(*e);
    if (!std::getenv("FACEPROOF_DB")) env_storage.push_back("FACEPROOF_DB=sqlite:" + (capture.path() / "default.db").string());
    // The same for the default data key ($XDG_DATA_HOME/faceproof/data.key): the user's must not
    // leak into tests. The models stay where they are.
    env_storage.erase(std::remove_if(env_storage.begin(), env_storage.end(),
                                     [](const std::string& e) { return e.rfind("XDG_DATA_HOME=", 0) == 0; }),
                      env_storage.end());
    env_storage.push_back("XDG_DATA_HOME=" + capture.path().string());
    if (!std::getenv("FACEPROOF_MODELS")) env_storage.push_back("FACEPROOF_MODELS=" + models_dir().string());
    for (const auto& entry : options.env) {
        const std::string name = entry.substr(0, entry.find('=') + 1);
        env_storage.erase(std::remove_if(env_storage.begin(), env_storage.end(),
                                         [&](const std::string& e) { return e.rfind(name, 0) == 0; }),
                          env_storage.end());
        env_storage.push_back(entry);
    }
    std::vector<char*> envp;
    for (auto& e : env_storage) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv_storage[0].c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + argv_storage[0] + ": " + std::strerror(rc));

    int status = 0;
    CliResult result;
    const auto deadline = std::chrono::steady_clock::now() + options.timeout.value_or(std::chrono::milliseconds(0));
    for (;;) {
        const pid_t done = ::waitpid(pid, &status, options.timeout ? WNOHANG : 0);
        if (done == pid) break;
        if (done < 0 && errno != EINTR) throw std::runtime_error("waitpid failed");
        if (done == 0) {
            if (std::chrono::steady_clock::now() >= deadline && !result.timed_out) {
                ::kill(pid, SIGKILL);
                result.timed_out = true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
    result.out = read_text(out_path);
    result.err = read_text(err_path);
    return result;
}

std::string describe(const CliResult& r) {
    return "exit code " + std::to_string(r.exit_code) + "\n--- stdout ---\n" + r.out + "--- stderr ---\n" + r.err;
}

std::vector<std::string> windows_found(const std::vector<fs::path>& files, const std::vector<std::uint8_t>& secret,
                                       std::size_t width) {
    constexpr std::uint64_t kBase = 1099511628211ull;  // arithmetic mod 2^64
    std::uint64_t top = 1;                             // kBase^(width-1)
    for (std::size_t i = 1; i < width; ++i) top *= kBase;
    auto hash = [&](const auto* p) {
        std::uint64_t h = 0;
        for (std::size_t i = 0; i < width; ++i) h = h * kBase + static_cast<std::uint8_t>(p[i]);
        return h;
    };
    std::unordered_map<std::uint64_t, std::vector<std::size_t>> windows;  // hash -> offsets in secret
    std::vector<bool> maybe(1u << 20);                                      // quick filter on the hash
    for (std::size_t i = 0; i + width <= secret.size(); ++i) {
        const std::uint64_t h = hash(secret.data() + i);
        windows[h].push_back(i);
        maybe[h >> 44] = true;
    }
    std::vector<std::string> out;
    for (const auto& path : files) {
        std::error_code ec;
        if (!fs::exists(path, ec)) continue;
        const std::vector<std::uint8_t> data = read_bytes(path);
        if (data.size() < width) continue;
        std::uint64_t h = hash(data.data());
        for (std::size_t i = 0;; ++i) {
            if (maybe[h >> 44])
                if (const auto w = windows.find(h); w != windows.end())
                    for (const std::size_t at : w->second)
                        if (std::memcmp(data.data() + i, secret.data() + at, width) == 0) {
                            out.push_back(path.string() + "@" + std::to_string(i));
                            break;
                        }
            if (i + width >= data.size()) break;
            h = (h - data[i] * top) * kBase + data[i + width];
        }
    }
    return out;
}

std::vector<std::uint8_t> jpeg_with_extra_scans(const cv::Mat& image, int extra) {
    std::vector<std::uint8_t> progressive;
    cv::imencode(".jpg", image, progressive, {cv::IMWRITE_JPEG_PROGRESSIVE, 1});
    std::size_t last_sos = 0;
    for (std::size_t i = 2; i + 1 < progressive.size(); ++i)
        if (progressive[i] == 0xFF && progressive[i + 1] == 0xDA) last_sos = i;
    const std::size_t length = (progressive[last_sos + 2] << 8) | progressive[last_sos + 3];
    const std::vector<std::uint8_t> header(progressive.begin() + last_sos, progressive.begin() + last_sos + 2 + length);
    std::vector<std::uint8_t> out(progressive.begin(), progressive.end() - 2);  // without the EOI
    for (int i = 0; i < extra; ++i) out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), {0xFF, 0xD9});
    return out;
}

std::vector<std::uint8_t> blank_png(int width, int height) {
    std::vector<std::uint8_t> out;
    cv::imencode(".png", cv::Mat(height, width, CV_8UC1, cv::Scalar(0)), out,
                 {cv::IMWRITE_PNG_BILEVEL, 1, cv::IMWRITE_PNG_COMPRESSION, 9});
    return out;
}

}  // namespace fptest
