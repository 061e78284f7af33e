// Tests of the data key (files, permissions, generation, id) and of seal/open.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceproof/crypto.hpp"
#include "faceproof/error.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
namespace fs = std::filesystem;
using fptest::expect_error_code;

namespace {

std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t start = 1) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(start + i * 7);
    return v;
}

// Writes a key file with the given content and mode.
fs::path key_file(const fptest::TempDir& dir, const std::string& name, const std::vector<std::uint8_t>& content,
                  mode_t mode = 0600) {
    const fs::path p = dir / name;
    fptest::write_bytes(p, content);
    ::chmod(p.c_str(), mode);
    return p;
}

std::string to_hex(const std::vector<std::uint8_t>& v) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (auto b : v) {
        s += d[b >> 4];
        s += d[b & 15];
    }
    return s;
}

}  // namespace

TEST(CryptoKey, RawAndHexFilesGiveTheSameKey) {
    fptest::TempDir dir("faceproof-crypto");
    const auto raw = pattern(32);
    const auto k_raw = fp::DataKey::from_file(key_file(dir, "raw.key", raw));
    const auto k_hex = fp::DataKey::from_file(key_file(dir, "hex.key", bytes_of(to_hex(raw))));
    const auto k_hex_nl = fp::DataKey::from_file(key_file(dir, "hexnl.key", bytes_of(to_hex(raw) + "\n")));
    const auto k_mem = fp::DataKey::from_bytes(raw);
    EXPECT_EQ(k_raw.id(), k_hex.id());
    EXPECT_EQ(k_raw.id(), k_hex_nl.id());
    EXPECT_EQ(k_raw.id(), k_mem.id());
    // A ciphertext sealed with one opens with the other: same key bytes.
    const auto sealed = fp::seal(k_raw, raw, "row");
    EXPECT_EQ(fp::open(k_hex_nl, sealed, "row"), raw);
}

TEST(CryptoKey, MalformedFilesAreKeyInvalidNamingTheFile) {
    fptest::TempDir dir("faceproof-crypto");
    const std::string hex = to_hex(pattern(32));
    const std::vector<std::pair<std::string, std::vector<std::uint8_t>>> cases = {
        {"short31.key", pattern(31)},
        {"long33.key", pattern(33)},
        {"empty.key", {}},
        {"hex63.key", bytes_of(hex.substr(0, 63))},
        {"hex63nl.key", bytes_of(hex.substr(0, 63) + "\n")},
        {"nonhex.key", bytes_of("zz" + hex.substr(2))},
        {"hex_two_newlines.key", bytes_of(hex + "\n\n")},
        {"hex_crlf.key", bytes_of(hex + "\r\n")},
        {"zero.key", std::vector<std::uint8_t>(32, 0)},
        {"huge.key", pattern(4096)},
    };
    for (const auto& [name, content] : cases) {
        SCOPED_TRACE(name);
        const auto p = key_file(dir, name, content);
        const std::string msg = expect_error_code(fp::ErrorCode::key_invalid, [&] { fp::DataKey::from_file(p); });
        EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
    }
    const std::string msg =
        expect_error_code(fp::ErrorCode::key_invalid, [&] { fp::DataKey::from_file(dir / "missing.key"); });
    EXPECT_NE(msg.find("missing.key"), std::string::npos) << msg;
    expect_error_code(fp::ErrorCode::key_invalid, [&] { fp::DataKey::from_file(dir.path()); });
}

TEST(CryptoKey, GroupOrWorldAccessibleFileIsRefused) {
    fptest::TempDir dir("faceproof-crypto");
    for (mode_t mode : {0644, 0640, 0604, 0660, 0602}) {
        SCOPED_TRACE(mode);
        const auto p = key_file(dir, "open.key", pattern(32), mode);
        const std::string msg = expect_error_code(fp::ErrorCode::key_invalid, [&] { fp::DataKey::from_file(p); });
        EXPECT_NE(msg.find("chmod 600"), std::string::npos) << msg;
        EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
    }
    EXPECT_NO_THROW(fp::DataKey::from_file(key_file(dir, "ok.key", pattern(32), 0400)));
}

TEST(CryptoKey, GenerateCreatesMode0600AndRefusesToOverwrite) {
    fptest::TempDir dir("faceproof-crypto");
    const fs::path p = dir / "new.key";
    fp::DataKey::generate_file(p);
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    const std::string text = fptest::read_text(p);
    ASSERT_EQ(text.size(), 65u);
    EXPECT_EQ(text.back(), '\n');
    EXPECT_EQ(text.find_first_not_of("0123456789abcdef"), 64u);
    const auto k = fp::DataKey::from_file(p);

    const std::string msg = expect_error_code(fp::ErrorCode::io_error, [&] { fp::DataKey::generate_file(p); });
    EXPECT_NE(msg.find(p.string()), std::string::npos) << msg;
    EXPECT_EQ(fptest::read_text(p), text);  // untouched
    EXPECT_EQ(fp::DataKey::from_file(p).id(), k.id());

    // Two generated keys differ.
    fp::DataKey::generate_file(dir / "other.key");
    EXPECT_NE(fp::DataKey::from_file(dir / "other.key").id(), k.id());
}

TEST(CryptoKey, EnvironmentOrFlag) {
    fptest::TempDir dir("faceproof-crypto");
    const auto a = key_file(dir, "a.key", pattern(32, 1));
    const auto b = key_file(dir, "b.key", pattern(32, 2));
    const char* old = std::getenv("FACEPROOF_KEY_FILE");
    const std::string saved = old ? old : "";
    ::unsetenv("FACEPROOF_KEY_FILE");
    const std::string msg =
        expect_error_code(fp::ErrorCode::key_invalid, [] { fp::DataKey::from_environment_or_file(std::nullopt); });
    EXPECT_NE(msg.find("FACEPROOF_KEY_FILE"), std::string::npos) << msg;
    EXPECT_NE(msg.find("keys generate"), std::string::npos) << msg;
    ::setenv("FACEPROOF_KEY_FILE", a.c_str(), 1);
    EXPECT_EQ(fp::DataKey::from_environment_or_file(std::nullopt).id(), fp::DataKey::from_file(a).id());
    EXPECT_EQ(fp::DataKey::from_environment_or_file(b).id(), fp::DataKey::from_file(b).id());  // flag wins
    if (old) ::setenv("FACEPROOF_KEY_FILE", saved.c_str(), 1);
    else ::unsetenv("FACEPROOF_KEY_FILE");
}

TEST(CryptoKey, IdIsStableAndDiffersBetweenKeys) {
    const auto k1 = fp::DataKey::from_bytes(pattern(32, 1));
    const auto k1b = fp::DataKey::from_bytes(pattern(32, 1));
    const auto k2 = fp::DataKey::from_bytes(pattern(32, 2));
    EXPECT_EQ(k1.id().size(), 16u);
    EXPECT_EQ(k1.id().find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(k1.id(), k1.id());
    EXPECT_EQ(k1.id(), k1b.id());
    EXPECT_NE(k1.id(), k2.id());
    // The id is not a prefix of the key itself.
    EXPECT_NE(k1.id(), to_hex(pattern(32, 1)).substr(0, 16));
}

TEST(CryptoKey, MoveOnly) {
    static_assert(!std::is_copy_constructible_v<fp::DataKey>);
    static_assert(std::is_nothrow_move_constructible_v<fp::DataKey>);
    auto k = fp::DataKey::from_bytes(pattern(32));
    const std::string id = k.id();
    fp::DataKey moved = std::move(k);
    EXPECT_EQ(moved.id(), id);
    expect_error_code(fp::ErrorCode::internal, [&] { (void)k.id(); });  // NOLINT(bugprone-use-after-move)
}

TEST(CryptoSeal, RoundTripWithFreshNonce) {
    const auto key = fp::DataKey::from_bytes(pattern(32));
    for (std::size_t n : {0u, 1u, 100u, 2048u}) {
        SCOPED_TRACE(n);
        const auto plain = pattern(n, 9);
        const auto s1 = fp::seal(key, plain, "tenant-a/subject-1/template-1");
        const auto s2 = fp::seal(key, plain, "tenant-a/subject-1/template-1");
        EXPECT_EQ(s1.size(), plain.size() + fp::kSealOverhead);
        EXPECT_EQ(s1[0], fp::kSealVersion);
        EXPECT_NE(s1, s2);  // random nonce
        EXPECT_EQ(fp::open(key, s1, "tenant-a/subject-1/template-1"), plain);
        EXPECT_EQ(fp::open(key, s2, "tenant-a/subject-1/template-1"), plain);
    }
}

TEST(CryptoSeal, WrongKeyIsKeyInvalidWithKeyId) {
    const auto k1 = fp::DataKey::from_bytes(pattern(32, 1));
    const auto k2 = fp::DataKey::from_bytes(pattern(32, 2));
    const auto sealed = fp::seal(k1, pattern(64), "row");
    const std::string msg = expect_error_code(fp::ErrorCode::key_invalid, [&] { fp::open(k2, sealed, "row"); });
    EXPECT_NE(msg.find("another data key"), std::string::npos) << msg;
    EXPECT_NE(msg.find(k1.id()), std::string::npos) << msg;
}

TEST(CryptoSeal, FlippedByteAnywhereFails) {
    const auto key = fp::DataKey::from_bytes(pattern(32));
    const auto plain = pattern(40);
    const auto sealed = fp::seal(key, plain, "row");
    for (std::size_t i = 0; i < sealed.size(); ++i) {
        for (std::uint8_t mask : {0x01, 0x80}) {
            auto bad = sealed;
            bad[i] ^= mask;
            bool threw = false;
            try {
                fp::open(key, bad, "row");
            } catch (const fp::Error& e) {
                threw = true;
                if (i == 0) EXPECT_EQ(e.code(), fp::ErrorCode::invalid_argument) << e.what();
                else EXPECT_EQ(e.code(), fp::ErrorCode::key_invalid) << "byte " << i << ": " << e.what();
            }
            EXPECT_TRUE(threw) << "flipping byte " << i << " was not detected";
        }
    }
}

TEST(CryptoSeal, SwappedAssociatedDataFails) {
    const auto key = fp::DataKey::from_bytes(pattern(32));
    const auto a = fp::seal(key, pattern(32, 3), "tenant-a/subject-1/template-1");
    const auto b = fp::seal(key, pattern(32, 4), "tenant-a/subject-2/template-2");
    const std::string msg = expect_error_code(fp::ErrorCode::key_invalid,
                                              [&] { fp::open(key, a, "tenant-a/subject-2/template-2"); });
    EXPECT_NE(msg.find("authentication failed"), std::string::npos) << msg;
    expect_error_code(fp::ErrorCode::key_invalid, [&] { fp::open(key, b, "tenant-a/subject-1/template-1"); });
    expect_error_code(fp::ErrorCode::key_invalid, [&] { fp::open(key, a, ""); });
}

TEST(CryptoSeal, MalformedInputIsInvalidArgument) {
    const auto key = fp::DataKey::from_bytes(pattern(32));
    auto sealed = fp::seal(key, pattern(10), "row");
    expect_error_code(fp::ErrorCode::invalid_argument, [&] { fp::open(key, {}, "row"); });
    expect_error_code(fp::ErrorCode::invalid_argument,
                      [&] { fp::open(key, std::span(sealed).first(fp::kSealOverhead - 1), "row"); });
    sealed[0] = 2;
    expect_error_code(fp::ErrorCode::invalid_argument, [&] { fp::open(key, sealed, "row"); });
    // Truncating the ciphertext (still long enough) fails authentication.
    const auto sealed2 = fp::seal(key, pattern(10), "row");
    expect_error_code(fp::ErrorCode::key_invalid,
                      [&] { fp::open(key, std::span(sealed2).first(sealed2.size() - 1), "row"); });
}

// `faceproof keys generate FILE`: a new owner-only key file, whose id the CLI prints; an existing
// file is never overwritten (it may be the key that sealed stored data).
TEST(CryptoCli, KeysGenerateWritesAnOwnerOnlyFileOnce) {
    fptest::TempDir dir;
    const auto file = dir / "data.key";
    const fptest::CliResult made = fptest::run_cli({"keys", "generate", file.string(), "--json"});
    ASSERT_EQ(made.exit_code, 0) << fptest::describe(made);
    const auto j = nlohmann::json::parse(made.out);
    EXPECT_EQ(j.value("key_id", ""), faceproof::DataKey::from_file(file).id());
    EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    const std::string before = fptest::read_text(file);
    const fptest::CliResult again = fptest::run_cli({"keys", "generate", file.string(), "--json"});
    EXPECT_EQ(again.exit_code, 2) << fptest::describe(again);
    EXPECT_EQ(nlohmann::json::parse(again.out)["error"]["code"], "io_error");
    EXPECT_EQ(fptest::read_text(file), before);
}
