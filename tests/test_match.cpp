// Tests of templates (binary format, integrity checks, similarity) and of calibrations (parsing,
// threshold lookup and interpolation). No models needed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "faceproof/error.hpp"
#include "faceproof/calibration.hpp"
#include "faceproof/template.hpp"
#include "faceproof/crypto.hpp"
#include "faceproof/models.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
using fp::ErrorCode;
using fptest::expect_error_code;
using Bytes = std::vector<std::uint8_t>;

namespace {

const std::string kSha = "00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210";

fp::Template random_template(std::uint32_t seed, std::size_t dimension = 512, const std::string& model_id = "test-model/rgb+flip") {
    std::mt19937 rng(seed);
    std::normal_distribution<float> n(0.f, 1.f);
    fp::Template t{model_id, kSha, std::vector<float>(dimension)};
    double norm = 0;
    for (float& v : t.values) {
        v = n(rng);
        norm += static_cast<double>(v) * v;
    }
    for (float& v : t.values) v = static_cast<float>(v / std::sqrt(norm));
    return t;
}

// Offset of the fields in a serialized template (see the format in template.hpp).
std::size_t header_size(const fp::Template& t) { return 4 + 2 + 2 + t.model_id.size() + 32 + 4; }

// Recomputes the trailing 8-byte checksum after a deliberate edit, so that only the edited field
// can be the reason for a rejection.
void reseal(Bytes& bytes) {
    const std::size_t body = bytes.size() - 8;
    const std::string hex = fp::sha256_hex({bytes.data(), body});
    for (std::size_t i = 0; i < 8; ++i) bytes[body + i] = static_cast<std::uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
}

}  // namespace

// --- binary format -----------------------------------------------------------------------------------

TEST(TemplateFormat, RoundTrip) {
    for (std::size_t dimension : {1u, 128u, 512u}) {
        const fp::Template t = random_template(static_cast<std::uint32_t>(dimension), dimension);
        const Bytes bytes = fp::serialize_template(t);
        EXPECT_EQ(bytes.size(), header_size(t) + 4 * dimension + 8);
        EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 4), "FPTM");
        EXPECT_EQ(bytes[4] | bytes[5] << 8, 1) << "version 1, little-endian";
        const fp::Template back = fp::parse_template(bytes);
        EXPECT_EQ(back.model_id, t.model_id);
        EXPECT_EQ(back.model_sha256, t.model_sha256);
        ASSERT_EQ(back.values.size(), t.values.size());
        EXPECT_EQ(std::memcmp(back.values.data(), t.values.data(), dimension * sizeof(float)), 0) << "not bit-exact";
        EXPECT_EQ(fp::serialize_template(back), bytes);
    }
}

TEST(TemplateFormat, EverySingleByteFlipIsRejected) {
    const fp::Template t = random_template(1);
    const Bytes good = fp::serialize_template(t);
    ASSERT_NO_THROW(fp::parse_template(good));
    int accepted = 0;
    for (std::size_t i = 0; i < good.size(); ++i) {
        for (std::uint8_t mask : {0x01, 0x80, 0xff}) {
            Bytes bad = good;
            bad[i] ^= mask;
            try {
                fp::parse_template(bad);
                ++accepted;
                ADD_FAILURE() << "accepted a template with byte " << i << " xor " << int(mask);
            } catch (const fp::Error& e) {
                if (e.code() != ErrorCode::template_invalid)
                    ADD_FAILURE() << "byte " << i << ": " << fp::to_string(e.code()) << " " << e.what();
            }
            if (accepted > 5) return;  // no point in thousands of identical failures
        }
    }
}

TEST(TemplateFormat, EveryTruncationIsRejected) {
    const fp::Template t = random_template(2, 64);
    const Bytes good = fp::serialize_template(t);
    for (std::size_t n = 0; n < good.size(); ++n) {
        SCOPED_TRACE(testing::Message() << "first " << n << " of " << good.size() << " bytes");
        expect_error_code(ErrorCode::template_invalid, [&] { fp::parse_template({good.data(), n}); });
    }
    Bytes longer = good;
    longer.push_back(0);
    expect_error_code(ErrorCode::template_invalid, [&] { fp::parse_template(longer); });
}

TEST(TemplateFormat, WrongMagicOrVersion) {
    const fp::Template t = random_template(3);
    Bytes bytes = fp::serialize_template(t);
    Bytes magic = bytes;
    std::memcpy(magic.data(), "FPTX", 4);
    reseal(magic);
    std::string msg = expect_error_code(ErrorCode::template_invalid, [&] { fp::parse_template(magic); });
    EXPECT_NE(msg.find("magic"), std::string::npos) << msg;

    for (std::uint16_t version : {0, 2, 256}) {
        Bytes v = bytes;
        v[4] = static_cast<std::uint8_t>(version);
        v[5] = static_cast<std::uint8_t>(version >> 8);
        reseal(v);
        msg = expect_error_code(ErrorCode::template_invalid, [&] { fp::parse_template(v); });
        EXPECT_NE(msg.find("version"), std::string::npos) << msg;
    }
}

TEST(TemplateFormat, NotNormalisedOrNonFiniteIsRejected) {
    fp::Template t = random_template(4);
    fp::Template scaled = t;
    for (float& v : scaled.values) v *= 1.5f;
    std::string msg = expect_error_code(ErrorCode::template_invalid, [&] { fp::parse_template(fp::serialize_template(scaled)); });
    EXPECT_NE(msg.find("normalised"), std::string::npos) << msg;

    fp::Template zero = t;
    std::fill(zero.values.begin(), zero.values.end(), 0.f);
    expect_error_code(ErrorCode::template_invalid, [&] { fp::parse_template(fp::serialize_template(zero)); });

    fp::Template nan = t;
    nan.values[10] = std::numeric_limits<float>::quiet_NaN();
    expect_error_code(ErrorCode::template_invalid, [&] { fp::parse_template(fp::serialize_template(nan)); });
    fp::Template inf = t;
    inf.values[0] = std::numeric_limits<float>::infinity();
    expect_error_code(ErrorCode::template_invalid, [&] { fp::parse_template(fp::serialize_template(inf)); });
}

TEST(TemplateFormat, ImplausibleHeaderFieldsAreRejected) {
    const fp::Template t = random_template(5, 16);
    const Bytes good = fp::serialize_template(t);
    // Model id length 0 (with a correct checksum).
    Bytes id0 = good;
    id0[6] = id0[7] = 0;
    reseal(id0);
    expect_error_code(ErrorCode::template_invalid, [&] { fp::parse_template(id0); });
    // Dimension 0 and a huge dimension.
    const std::size_t dim_at = header_size(t) - 4;
    for (std::uint32_t dim : {0u, 0xffffffffu, 4097u}) {
        Bytes d = good;
        std::memcpy(d.data() + dim_at, &dim, 4);
        reseal(d);
        expect_error_code(ErrorCode::template_invalid, [&] { fp::parse_template(d); });
    }
}

TEST(TemplateFormat, SerializeRejectsWhatItCannotWrite) {
    fp::Template t = random_template(6, 8);
    fp::Template empty = t;
    empty.values.clear();
    expect_error_code(ErrorCode::invalid_argument, [&] { fp::serialize_template(empty); });
    fp::Template no_id = t;
    no_id.model_id.clear();
    expect_error_code(ErrorCode::invalid_argument, [&] { fp::serialize_template(no_id); });
    fp::Template long_id = t;
    long_id.model_id.assign(256, 'x');
    expect_error_code(ErrorCode::invalid_argument, [&] { fp::serialize_template(long_id); });
    for (const std::string sha : {std::string("abc"), std::string(64, 'g'), kSha + "00"}) {
        fp::Template bad_sha = t;
        bad_sha.model_sha256 = sha;
        expect_error_code(ErrorCode::invalid_argument, [&] { fp::serialize_template(bad_sha); });
    }
}

// --- similarity ----------------------------------------------------------------------------------------

TEST(Similarity, CosineOfNormalisedVectors) {
    const fp::Template a = random_template(10), b = random_template(11);
    EXPECT_NEAR(fp::similarity(a, a), 1.0, 1e-6);
    fp::Template neg = a;
    for (float& v : neg.values) v = -v;
    EXPECT_NEAR(fp::similarity(a, neg), -1.0, 1e-6);
    EXPECT_NEAR(fp::similarity(a, b), fp::similarity(b, a), 1e-12);
    EXPECT_LT(std::abs(fp::similarity(a, b)), 0.25) << "random 512-D vectors are nearly orthogonal";

    // Known angle: e1 against (e1 + e2) / sqrt 2.
    fp::Template e1 = a, mixed = a;
    std::fill(e1.values.begin(), e1.values.end(), 0.f);
    std::fill(mixed.values.begin(), mixed.values.end(), 0.f);
    e1.values[0] = 1;
    mixed.values[0] = mixed.values[1] = static_cast<float>(1 / std::sqrt(2.0));
    EXPECT_NEAR(fp::similarity(e1, mixed), 1 / std::sqrt(2.0), 1e-6);
}

TEST(Similarity, DifferentModelsOrDimensionsAreMismatch) {
    const fp::Template a = random_template(20);
    const fp::Template other_model = random_template(20, 512, "another-model/bgr");
    const std::string msg = expect_error_code(ErrorCode::template_mismatch, [&] { fp::similarity(a, other_model); });
    EXPECT_NE(msg.find("another-model/bgr"), std::string::npos) << msg;
    expect_error_code(ErrorCode::template_mismatch, [&] { fp::similarity(a, random_template(21, 256)); });
}

// --- calibration ---------------------------------------------------------------------------------------

namespace {
const std::string kCalibration = R"({
  "format": "faceproof-calibration/1",
  "model_id": "test-model/rgb+flip",
  "dataset": "unit test",
  "operating_points": [
    {"fmr": 1e-3, "threshold": 0.30, "tar": 0.97},
    {"fmr": 1e-5, "threshold": 0.40},
    {"fmr": 1e-2, "threshold": 0.20, "tar": 0.99},
    {"fmr": 1e-4, "threshold": 0.35, "tar": 0.95}
  ]
})";
}  // namespace

TEST(Calibration, ParsesAndSortsOperatingPoints) {
    const auto c = fp::Calibration::from_json(kCalibration);
    EXPECT_EQ(c.model_id(), "test-model/rgb+flip");
    EXPECT_EQ(c.json(), kCalibration);
    ASSERT_EQ(c.points().size(), 4u);
    for (std::size_t i = 1; i < c.points().size(); ++i) EXPECT_LT(c.points()[i - 1].fmr, c.points()[i].fmr);
    EXPECT_DOUBLE_EQ(c.points().front().fmr, 1e-5);
    EXPECT_DOUBLE_EQ(c.points().front().tar, 0.0) << "tar is optional";
    EXPECT_DOUBLE_EQ(c.points().back().tar, 0.99);
}

TEST(Calibration, ExactOperatingPoints) {
    const auto c = fp::Calibration::from_json(kCalibration);
    EXPECT_DOUBLE_EQ(c.threshold_for(1e-2), 0.20);
    EXPECT_DOUBLE_EQ(c.threshold_for(1e-3), 0.30);
    EXPECT_DOUBLE_EQ(c.threshold_for(1e-4), 0.35);
    EXPECT_DOUBLE_EQ(c.threshold_for(1e-5), 0.40);
    EXPECT_DOUBLE_EQ(c.threshold_for(fp::kDefaultFmr), 0.35);
    // A rate written differently (0.001 computed, not parsed) is still the listed point.
    EXPECT_DOUBLE_EQ(c.threshold_for(0.1 / 100), 0.30);
}

TEST(Calibration, LogLinearInterpolation) {
    const auto c = fp::Calibration::from_json(kCalibration);
    // Geometric midpoint of 1e-4 and 1e-3 -> arithmetic midpoint of the thresholds.
    EXPECT_NEAR(c.threshold_for(std::sqrt(1e-4 * 1e-3)), 0.325, 1e-12);
    // 2e-4 is log10(2) of the way from 1e-4 to 1e-3.
    EXPECT_NEAR(c.threshold_for(2e-4), 0.35 + std::log10(2.0) * (0.30 - 0.35), 1e-12);
    EXPECT_NEAR(c.threshold_for(5e-3), 0.30 + std::log10(5.0) * (0.20 - 0.30), 1e-12);
    EXPECT_NEAR(c.threshold_for(3e-5), 0.40 + std::log10(3.0) * (0.35 - 0.40), 1e-12);
    // Monotone: a stricter FMR never gets a lower threshold here.
    double previous = 1;
    for (double fmr = 1e-5; fmr <= 1e-2; fmr *= 1.3) {
        const double t = c.threshold_for(fmr);
        EXPECT_LE(t, previous + 1e-12) << fmr;
        previous = t;
    }
}

TEST(Calibration, OutOfRangeFmrIsInvalidArgument) {
    const auto c = fp::Calibration::from_json(kCalibration);
    for (double fmr : {1e-6, 9.9e-6, 1.01e-2, 0.1, 0.5, 0.0, -1e-3, 1.0, std::nan("")}) {
        SCOPED_TRACE(testing::Message() << "fmr " << fmr);
        expect_error_code(ErrorCode::invalid_argument, [&] { c.threshold_for(fmr); });
    }
    const auto single = fp::Calibration::from_json(fptest::calibration_json("m", {{1e-3, 0.3}}));
    EXPECT_DOUBLE_EQ(single.threshold_for(1e-3), 0.3);
    expect_error_code(ErrorCode::invalid_argument, [&] { single.threshold_for(1.1e-3); });
}

TEST(Calibration, MalformedIsCalibrationInvalid) {
    const std::string points = R"("operating_points": [{"fmr": 1e-3, "threshold": 0.3}])";
    const std::vector<std::pair<const char*, std::string>> cases{
        {"empty", ""},
        {"not JSON", "{\"format\": "},
        {"an array", "[1, 2]"},
        {"no format", R"({"model_id": "m", )" + points + "}"},
        {"wrong format", R"({"format": "faceproof-calibration/2", "model_id": "m", )" + points + "}"},
        {"no model id", R"({"format": "faceproof-calibration/1", )" + points + "}"},
        {"model id not a string", R"({"format": "faceproof-calibration/1", "model_id": 7, )" + points + "}"},
        {"no points", R"({"format": "faceproof-calibration/1", "model_id": "m"})"},
        {"empty points", R"({"format": "faceproof-calibration/1", "model_id": "m", "operating_points": []})"},
        {"point without threshold", R"({"format": "faceproof-calibration/1", "model_id": "m", "operating_points": [{"fmr": 1e-3}]})"},
        {"threshold not a number", R"({"format": "faceproof-calibration/1", "model_id": "m", "operating_points": [{"fmr": 1e-3, "threshold": "high"}]})"},
        {"fmr 0", R"({"format": "faceproof-calibration/1", "model_id": "m", "operating_points": [{"fmr": 0, "threshold": 0.3}]})"},
        {"fmr 1", R"({"format": "faceproof-calibration/1", "model_id": "m", "operating_points": [{"fmr": 1, "threshold": 0.3}]})"},
        {"negative fmr", R"({"format": "faceproof-calibration/1", "model_id": "m", "operating_points": [{"fmr": -0.1, "threshold": 0.3}]})"},
        {"points not a list", R"({"format": "faceproof-calibration/1", "model_id": "m", "operating_points": 3})"},
    };
    for (const auto& [what, text] : cases) {
        SCOPED_TRACE(what);
        // Captured by name: clang before 16 cannot capture a structured binding.
        expect_error_code(ErrorCode::calibration_invalid, [&text = text] { fp::Calibration::from_json(text); });
    }
}

// A "format" of the wrong JSON type is a calibration error, not a raw JSON exception.
TEST(Calibration, NonStringFormatIsCalibrationInvalid) {
    expect_error_code(ErrorCode::calibration_invalid, [] {
        fp::Calibration::from_json(R"({"format": 1, "model_id": "m", "operating_points": [{"fmr": 1e-3, "threshold": 0.3}]})");
    });
}

TEST(Calibration, LoadReadsAFileAndReportsMissingOnes) {
    fptest::TempDir dir;
    fptest::write_text(dir / "c.json", kCalibration);
    EXPECT_DOUBLE_EQ(fp::Calibration::load(dir / "c.json").threshold_for(1e-3), 0.30);
    expect_error_code(ErrorCode::io_error, [&] { fp::Calibration::load(dir / "absent.json"); });
    fptest::write_text(dir / "junk.json", "not json");
    expect_error_code(ErrorCode::calibration_invalid, [&] { fp::Calibration::load(dir / "junk.json"); });
}

TEST(Calibration, ShippedIsValidOrReportedAsMissing) {
    // Until calibration/default.json ships, shipped() must say so with calibration_invalid; once
    // it ships it must be a usable calibration covering the default FMR.
    try {
        const auto& c = fp::Calibration::shipped();
        EXPECT_FALSE(c.model_id().empty());
        EXPECT_FALSE(c.points().empty());
        EXPECT_NO_THROW(c.threshold_for(fp::kDefaultFmr));
    } catch (const fp::Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::calibration_invalid) << e.what();
        EXPECT_NE(std::string(e.what()).find("--calibration"), std::string::npos) << e.what();
    }
}
