#include "faceproof/template.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstring>

#include <sodium.h>

#include "faceproof/crypto.hpp"
#include "faceproof/error.hpp"

namespace faceproof {
namespace {

constexpr char kMagic[4] = {'F', 'P', 'T', 'M'};
constexpr std::uint16_t kVersion = 1;
constexpr std::uint32_t kMaxDimension = 4096;
constexpr std::size_t kChecksumBytes = 8;

[[noreturn]] void invalid(const std::string& why) {
    throw Error(ErrorCode::template_invalid, "invalid template: " + why);
}

template <typename T>
void put(std::vector<std::uint8_t>& out, T value) {
    std::uint8_t raw[sizeof(T)];
    std::memcpy(raw, &value, sizeof(T));  // the format is little-endian, as is every target we build for
    out.insert(out.end(), raw, raw + sizeof(T));
}

std::vector<std::uint8_t> hex_to_bytes(const std::string& hex) {
    std::vector<std::uint8_t> out(hex.size() / 2);
    std::size_t written = 0;
    if (hex.size() != 64 || sodium_hex2bin(out.data(), out.size(), hex.c_str(), hex.size(), nullptr, &written,
                                           nullptr) != 0 || written != 32)
        throw Error(ErrorCode::invalid_argument, "template model sha256 must be 64 hex characters");
    return out;
}

// Hex digests compare by value: "AB" and "ab" name the same bytes.
bool same_hex(const std::string& a, const std::string& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
    });
}

class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
    const std::uint8_t* take(std::size_t n, const char* what) {
        if (n > bytes_.size() - pos_) invalid(std::string("truncated in ") + what);
        const std::uint8_t* p = bytes_.data() + pos_;
        pos_ += n;
        return p;
    }
    template <typename T>
    T get(const char* what) {
        T value;
        std::memcpy(&value, take(sizeof(T), what), sizeof(T));
        return value;
    }
    std::size_t pos() const { return pos_; }

private:
    std::span<const std::uint8_t> bytes_;
    std::size_t pos_ = 0;
};

}  // namespace

std::vector<std::uint8_t> serialize_template(const Template& t) {
    if (t.values.empty() || t.values.size() > kMaxDimension)
        throw Error(ErrorCode::invalid_argument, "template dimension out of range");
    if (t.model_id.empty() || t.model_id.size() > 255)
        throw Error(ErrorCode::invalid_argument, "template model id must be 1..255 bytes");
    std::vector<std::uint8_t> out;
    out.reserve(4 + 4 + t.model_id.size() + 32 + 4 + t.values.size() * sizeof(float) + kChecksumBytes);
    out.insert(out.end(), kMagic, kMagic + 4);
    put<std::uint16_t>(out, kVersion);
    put<std::uint16_t>(out, static_cast<std::uint16_t>(t.model_id.size()));
    out.insert(out.end(), t.model_id.begin(), t.model_id.end());
    const auto sha = hex_to_bytes(t.model_sha256);
    out.insert(out.end(), sha.begin(), sha.end());
    put<std::uint32_t>(out, static_cast<std::uint32_t>(t.values.size()));
    for (float v : t.values) put<float>(out, v);
    const auto digest = sha256(out);
    out.insert(out.end(), digest.begin(), digest.begin() + kChecksumBytes);
    return out;
}

Template parse_template(std::span<const std::uint8_t> bytes) {
    ensure_sodium();
    Reader in(bytes);
    if (std::memcmp(in.take(4, "magic"), kMagic, 4) != 0) invalid("not a faceproof template (bad magic)");
    const auto version = in.get<std::uint16_t>("version");
    if (version != kVersion) invalid("unsupported version " + std::to_string(version));
    const auto id_length = in.get<std::uint16_t>("model id length");
    if (id_length == 0 || id_length > 255) invalid("model id length out of range");
    Template t;
    const auto* id = in.take(id_length, "model id");
    t.model_id.assign(reinterpret_cast<const char*>(id), id_length);
    const auto* sha = in.take(32, "model sha256");
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, sha, 32);
    t.model_sha256 = hex;
    const auto dimension = in.get<std::uint32_t>("dimension");
    if (dimension == 0 || dimension > kMaxDimension) invalid("dimension out of range");
    const auto* data = in.take(static_cast<std::size_t>(dimension) * sizeof(float), "values");
    const std::size_t body = in.pos();
    const auto* checksum = in.take(kChecksumBytes, "checksum");
    if (in.pos() != bytes.size()) invalid("trailing bytes after checksum");
    const auto digest = sha256(bytes.first(body));
    if (std::memcmp(checksum, digest.data(), kChecksumBytes) != 0) invalid("checksum mismatch (corrupted data)");
    t.values.resize(dimension);
    std::memcpy(t.values.data(), data, dimension * sizeof(float));
    double norm = 0;
    for (float v : t.values) {
        if (!std::isfinite(v)) invalid("non-finite value");
        norm += static_cast<double>(v) * v;
    }
    if (std::abs(norm - 1.0) > 1e-3) invalid("vector is not L2-normalised");
    return t;
}

double similarity(const Template& a, const Template& b) {
    if (a.model_id != b.model_id)
        throw Error(ErrorCode::template_mismatch,
                    "templates come from different models: '" + a.model_id + "' vs '" + b.model_id + "'");
    if (!same_hex(a.model_sha256, b.model_sha256))
        throw Error(ErrorCode::template_mismatch, "templates of model '" + a.model_id +
                                                      "' come from different model files: SHA-256 " +
                                                      a.model_sha256 + " vs " + b.model_sha256);
    if (a.values.size() != b.values.size() || a.values.empty())
        throw Error(ErrorCode::template_mismatch, "templates differ in dimension");
    double dot = 0, na = 0, nb = 0;
    for (std::size_t i = 0; i < a.values.size(); ++i) {
        dot += static_cast<double>(a.values[i]) * b.values[i];
        na += static_cast<double>(a.values[i]) * a.values[i];
        nb += static_cast<double>(b.values[i]) * b.values[i];
    }
    if (na <= 0 || nb <= 0) throw Error(ErrorCode::template_invalid, "template has zero norm");
    return dot / std::sqrt(na * nb);
}

}  // namespace faceproof
