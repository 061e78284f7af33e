// Data groups of the eMRTD chip (src/document/data_groups.hpp) over the bounded BER-TLV reader
// (src/document/tlv.hpp): round trips from the test-side encoder (tests/document_builder.hpp),
// every length wrong, every truncation, nesting bombs, wrong tags and contradicting image types.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "document/data_groups.hpp"
#include "document/tlv.hpp"
#include "document_builder.hpp"
#include "faceproof/error.hpp"

namespace {

using faceproof::ErrorCode;
using fptest::Bytes;
using fptest::Encoding;

// The face-api test photo (scripts/setup.sh fetches it); relative to the working directory when
// compiled outside CMake, which defines FACEPROOF_SOURCE_DIR for the test binary.
std::string sample_photo_path() {
#ifdef FACEPROOF_SOURCE_DIR
    return std::string(FACEPROOF_SOURCE_DIR) + "/test-data/face-api/sample1.jpg";
#else
    return "test-data/face-api/sample1.jpg";
#endif
}

// The error code thrown by f, or nullopt when it returned; any other exception fails the test.
std::optional<ErrorCode> thrown_code(const std::function<void()>& f) {
    try {
        f();
    } catch (const faceproof::Error& error) {
        return error.code();
    }
    return std::nullopt;
}

std::string thrown_message(const std::function<void()>& f) {
    try {
        f();
    } catch (const faceproof::Error& error) {
        return error.what();
    }
    return "(nothing thrown)";
}

#define EXPECT_MALFORMED(statement) \
    EXPECT_EQ(thrown_code([&] { (void)(statement); }), std::optional<ErrorCode>(ErrorCode::document_malformed))

cv::Mat sample_face() {
    cv::Mat photo = cv::imread(sample_photo_path());
    if (photo.empty()) throw std::runtime_error("cannot read " + sample_photo_path());
    return photo;
}

Bytes encode(const cv::Mat& image, const std::string& extension, std::vector<int> params = {}) {
    std::vector<std::uint8_t> out;
    if (!cv::imencode(extension, image, out, params)) throw std::runtime_error("imencode " + extension);
    return out;
}

// A small JPEG (a few kB) for the loops that parse once per byte position.
const Bytes& small_jpeg() {
    static const Bytes bytes = [] {
        cv::Mat small;
        cv::resize(sample_face(), small, cv::Size(48, 64));
        return encode(small, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 60});
    }();
    return bytes;
}

// A JPEG 2000 portrait from OpenCV's JP2 encoder (OpenJPEG); empty when the build lacks it.
const Bytes& portrait_jp2() {
    static const Bytes bytes = []() -> Bytes {
        cv::Mat portrait;
        cv::resize(sample_face(), portrait, cv::Size(360, 240));
        try {
            return encode(portrait, ".jp2", {cv::IMWRITE_JPEG2000_COMPRESSION_X1000, 50});
        } catch (const std::exception&) {
            return {};
        }
    }();
    return bytes;
}

struct PkeyDeleter {
    void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

Pkey rsa_key(unsigned bits) { return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{bits})); }
Pkey ec_key(const char* curve) { return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve)); }

// Offset of the first occurrence of `needle` in `haystack` (the test must know it is there).
std::size_t find_bytes(const Bytes& haystack, const Bytes& needle) {
    const auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end());
    if (it == haystack.end()) throw std::runtime_error("pattern not found");
    return static_cast<std::size_t>(it - haystack.begin());
}

void put_be(Bytes& bytes, std::size_t offset, std::uint64_t value, int width) {
    for (int i = 0; i < width; ++i) {
        bytes[offset + i] = static_cast<std::uint8_t>(value >> (8 * (width - 1 - i)));
    }
}
std::uint64_t get_be(const Bytes& bytes, std::size_t offset, int width) {
    std::uint64_t value = 0;
    for (int i = 0; i < width; ++i) value = (value << 8) | bytes[offset + i];
    return value;
}

// A DG2 around a raw biometric data block (tag 5F2E or 7F2E) holding exactly `content`.
Bytes dg2_around_block(std::uint32_t block_tag, const Bytes& content) {
    const Bytes header = fptest::tlv(0xA1, {fptest::tlv(0x81, Bytes{0x02})});
    return fptest::tlv(0x75, {fptest::tlv(0x7F61, {fptest::der_integer(1),
                                                   fptest::tlv(0x7F60, {header, fptest::tlv(block_tag, content)})})});
}

// ---- BER-TLV reader ---------------------------------------------------------------------------

TEST(Tlv, ReadsOneTwoAndThreeByteTags) {
    const Bytes bytes = {0x02, 0x01, 0x05, 0x5F, 0x1F, 0x01, 'A', 0x1F, 0x81, 0x01, 0x00, 0x7F, 0x61, 0x00};
    faceproof::tlv::Reader reader(bytes, "test");
    auto a = reader.next();
    EXPECT_EQ(a.tag, 0x02u);
    EXPECT_FALSE(a.constructed);
    EXPECT_EQ(a.value.size(), 1u);
    auto b = reader.next();
    EXPECT_EQ(b.tag, 0x5F1Fu);
    EXPECT_EQ(b.value[0], 'A');
    auto c = reader.next();
    EXPECT_EQ(c.tag, 0x1F8101u);
    EXPECT_TRUE(c.value.empty());
    auto d = reader.next();
    EXPECT_EQ(d.tag, 0x7F61u);
    EXPECT_TRUE(d.constructed);
    EXPECT_TRUE(reader.at_end());
    EXPECT_EQ(faceproof::tlv::tag_hex(0x7F61), "7F61");
    EXPECT_EQ(faceproof::tlv::tag_hex(0x1F8101), "1F8101");
}

TEST(Tlv, RefusesFourByteTagsLeadingZeroTagBytesAndTruncatedTags) {
    const Bytes four = {0x1F, 0x81, 0x81, 0x01, 0x00};
    EXPECT_MALFORMED(faceproof::tlv::Reader(four, "t").next());
    const Bytes leading_zero = {0x5F, 0x80, 0x01, 0x00};
    EXPECT_MALFORMED(faceproof::tlv::Reader(leading_zero, "t").next());
    const Bytes truncated_tag = {0x5F};
    EXPECT_MALFORMED(faceproof::tlv::Reader(truncated_tag, "t").next());
    const Bytes truncated_continuation = {0x5F, 0x81};
    EXPECT_MALFORMED(faceproof::tlv::Reader(truncated_continuation, "t").next());
    const Bytes no_length = {0x30};
    EXPECT_MALFORMED(faceproof::tlv::Reader(no_length, "t").next());
    const Bytes empty;
    EXPECT_MALFORMED(faceproof::tlv::Reader(empty, "t").next());
}

TEST(Tlv, ReadsLongFormLengthsUpToFourBytes) {
    Bytes bytes = {0x04, 0x84, 0x00, 0x00, 0x01, 0x00};
    bytes.resize(bytes.size() + 256, 0xAB);
    faceproof::tlv::Reader reader(bytes, "t");
    EXPECT_EQ(reader.next().value.size(), 256u);
    Bytes one = {0x04, 0x81, 0x80};
    one.resize(one.size() + 128, 0);
    EXPECT_EQ(faceproof::tlv::Reader(one, "t").next().value.size(), 128u);
}

TEST(Tlv, RefusesIndefiniteFiveByteAndOversizedLengthsBeforeReading) {
    const Bytes indefinite = {0x30, 0x80, 0x00, 0x00};
    EXPECT_MALFORMED(faceproof::tlv::Reader(indefinite, "t").next());
    const Bytes five = {0x04, 0x85, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00};
    EXPECT_MALFORMED(faceproof::tlv::Reader(five, "t").next());
    const Bytes four_gb = {0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00};
    const std::string message = thrown_message([&] { faceproof::tlv::Reader(four_gb, "DGx").next(); });
    EXPECT_NE(message.find("DGx: tag 04 at offset 0: length 4294967295 exceeds the 2 bytes left"),
              std::string::npos)
        << message;
    const Bytes truncated_length = {0x04, 0x82, 0x01};
    EXPECT_MALFORMED(faceproof::tlv::Reader(truncated_length, "t").next());
    const Bytes one_too_long = {0x04, 0x03, 0x00, 0x00};
    EXPECT_MALFORMED(faceproof::tlv::Reader(one_too_long, "t").next());
}

TEST(Tlv, ExpectFindChildrenAndEnd) {
    const Bytes bytes = fptest::concat({fptest::der_integer(7), fptest::tlv(0x30, {fptest::der_integer(1)}),
                                        fptest::tlv(0x04, Bytes{1, 2})});
    faceproof::tlv::Reader reader(bytes, "t");
    EXPECT_MALFORMED(faceproof::tlv::Reader(bytes, "t").expect(0x30, "a sequence"));
    EXPECT_EQ(faceproof::tlv::read_unsigned(reader.expect(0x02, "int"), "t", "int"), 7u);
    const auto found = reader.find(0x04);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->value.size(), 2u);
    EXPECT_TRUE(reader.at_end());
    faceproof::tlv::Reader again(bytes, "t");
    EXPECT_FALSE(again.find(0x31).has_value());
    faceproof::tlv::Reader third(bytes, "t");
    const auto integer = third.next();
    EXPECT_MALFORMED(third.children(integer));  // primitive
    const auto sequence = third.next();
    auto inner = third.children(sequence);
    EXPECT_EQ(inner.depth(), 1);
    EXPECT_MALFORMED(third.expect_end("t"));
}

TEST(Tlv, NestingDepthIsBounded) {
    Bytes nested = fptest::tlv(0x04, Bytes{});
    for (int i = 0; i < faceproof::tlv::kMaxDepth; ++i) nested = fptest::tlv(0x30, nested);
    EXPECT_NO_THROW(faceproof::tlv::validate(nested, "t"));
    nested = fptest::tlv(0x30, nested);
    EXPECT_MALFORMED(faceproof::tlv::validate(nested, "t"));
    // A bomb of 100 000 levels (two bytes each, zero-length innermost) is refused at the bound,
    // without recursing that deep.
    Bytes bomb;
    const int levels = 100000;
    for (int i = 0; i < levels; ++i) {
        bomb.push_back(0x30);
        bomb.push_back(0x84);
        const std::uint32_t inner = static_cast<std::uint32_t>((levels - 1 - i) * 6);
        for (int shift = 24; shift >= 0; shift -= 8) bomb.push_back(static_cast<std::uint8_t>(inner >> shift));
    }
    EXPECT_MALFORMED(faceproof::tlv::validate(bomb, "t"));
}

TEST(Tlv, ObjectIdentifiersAndIntegers) {
    const Bytes oid = fptest::der_oid("2.23.136.1.1.5");
    faceproof::tlv::Reader reader(oid, "t");
    EXPECT_EQ(faceproof::tlv::oid_text(reader.next().value, "t"), "2.23.136.1.1.5");
    const Bytes bsi = fptest::der_oid("0.4.0.127.0.7.2.2.4.2.2");
    EXPECT_EQ(faceproof::tlv::oid_text(faceproof::tlv::Reader(bsi, "t").next().value, "t"),
              "0.4.0.127.0.7.2.2.4.2.2");
    const Bytes truncated_arc = {0x2A, 0x86};
    EXPECT_MALFORMED(faceproof::tlv::oid_text(truncated_arc, "t"));
    const Bytes wide(10, 0xFF);
    EXPECT_MALFORMED(faceproof::tlv::oid_text(wide, "t"));

    const Bytes negative = {0x02, 0x01, 0x80};
    EXPECT_MALFORMED(faceproof::tlv::read_unsigned(faceproof::tlv::Reader(negative, "t").next(), "t", "n"));
    const Bytes nine = {0x02, 0x09, 0x01, 0, 0, 0, 0, 0, 0, 0, 0};
    EXPECT_MALFORMED(faceproof::tlv::read_unsigned(faceproof::tlv::Reader(nine, "t").next(), "t", "n"));
    const Bytes padded = {0x02, 0x09, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    EXPECT_EQ(faceproof::tlv::read_unsigned(faceproof::tlv::Reader(padded, "t").next(), "t", "n"),
              0xFFFFFFFFFFFFFFFFull);
}

// ---- DG1 ---------------------------------------------------------------------------------------

TEST(Dg1, SplitsTd1Td2Td3ByLength) {
    const std::vector<std::string> td3 = {
        "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
        "L898902C36UTO7408122F1204159ZE184226B<<<<<10"};
    EXPECT_EQ(faceproof::parse_dg1(fptest::dg1_from_mrz(td3)).lines, td3);
    const std::vector<std::string> td1 = {"I<UTOD231458907<<<<<<<<<<<<<<<",
                                          "7408122F1204159UTO<<<<<<<<<<<6",
                                          "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"};
    EXPECT_EQ(faceproof::parse_dg1(fptest::dg1_from_mrz(td1)).lines, td1);
    const std::vector<std::string> td2 = {"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
                                          "D231458907UTO7408122F1204159<<<<<<<6"};
    EXPECT_EQ(faceproof::parse_dg1(fptest::dg1_from_mrz(td2)).lines, td2);
}

TEST(Dg1, RefusesOtherLengthsCharactersAndTags) {
    EXPECT_MALFORMED(faceproof::parse_dg1(fptest::dg1_from_mrz({std::string(89, '<')})));
    EXPECT_MALFORMED(faceproof::parse_dg1(fptest::dg1_from_mrz({std::string(0, '<')})));
    EXPECT_MALFORMED(faceproof::parse_dg1(fptest::dg1_from_mrz({std::string(87, '<') + "a<"})));
    Bytes wrong_outer = fptest::dg1_from_mrz({std::string(88, '<')});
    wrong_outer[0] = 0x62;
    EXPECT_MALFORMED(faceproof::parse_dg1(wrong_outer));
    const Bytes wrong_inner = fptest::tlv(0x61, {fptest::tlv(0x5F20, Bytes(88, '<'))});
    EXPECT_MALFORMED(faceproof::parse_dg1(wrong_inner));
    Bytes trailing = fptest::dg1_from_mrz({std::string(88, '<')});
    trailing.push_back(0x00);
    EXPECT_MALFORMED(faceproof::parse_dg1(trailing));
    const Bytes empty;
    EXPECT_MALFORMED(faceproof::parse_dg1(empty));
}

// ---- DG2: round trips --------------------------------------------------------------------------

class Dg2RoundTrip : public ::testing::TestWithParam<Encoding> {};

TEST_P(Dg2RoundTrip, RealJpegFacePhoto) {
    const Bytes jpeg = fptest::read_file(sample_photo_path());
    const Bytes dg2 = fptest::dg2_from_image(jpeg, "jpeg", 1920, 1280, GetParam());
    const auto portraits = faceproof::parse_dg2(dg2);
    ASSERT_EQ(portraits.size(), 1u);
    EXPECT_EQ(portraits[0].encoding, GetParam() == Encoding::iso19794_5 ? faceproof::kEncodingIso19794_5
                                                                          : faceproof::kEncodingIso39794_5);
    EXPECT_EQ(portraits[0].format, "jpeg");
    EXPECT_EQ(portraits[0].width, 1920u);
    EXPECT_EQ(portraits[0].height, 1280u);
    EXPECT_EQ(portraits[0].image, jpeg);
    // The image is the face photo, decodable as such.
    const cv::Mat decoded = cv::imdecode(portraits[0].image, cv::IMREAD_COLOR);
    EXPECT_EQ(decoded.cols, 1920);
}

TEST_P(Dg2RoundTrip, Jpeg2000Portrait) {
    const Bytes& jp2 = portrait_jp2();
    if (jp2.empty()) GTEST_SKIP() << "this OpenCV build cannot encode JPEG 2000 (.jp2)";
    const auto portraits = faceproof::parse_dg2(fptest::dg2_from_image(jp2, "jp2", 360, 240, GetParam()));
    ASSERT_EQ(portraits.size(), 1u);
    EXPECT_EQ(portraits[0].format, "jp2");
    EXPECT_EQ(portraits[0].width, 360u);
    EXPECT_EQ(portraits[0].height, 240u);
    EXPECT_EQ(portraits[0].image, jp2);
}

TEST_P(Dg2RoundTrip, SeveralFacesKeepTheirOrderAndSizes) {
    std::vector<fptest::FaceImage> faces(2);
    faces[0].image = small_jpeg();
    faces[0].format = "jpeg";
    faces[0].width = 48;
    faces[0].height = 64;
    faces[0].feature_points = 3;
    faces[1] = faces[0];
    faces[1].width = 49;
    faces[1].feature_points = 0;
    const auto portraits = faceproof::parse_dg2(fptest::dg2_from_images(faces, GetParam()));
    ASSERT_EQ(portraits.size(), 2u);
    EXPECT_EQ(portraits[0].width, 48u);
    EXPECT_EQ(portraits[1].width, 49u);
    EXPECT_EQ(portraits[1].image, small_jpeg());
}

TEST_P(Dg2RoundTrip, ImageTypeContradictedByMagicBytesIsMalformed) {
    // A JPEG declared as JPEG 2000, and a JPEG 2000 declared as JPEG.
    EXPECT_MALFORMED(faceproof::parse_dg2(fptest::dg2_from_image(small_jpeg(), "jp2", 48, 64, GetParam())));
    const Bytes codestream = {0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x2F, 0x00, 0x00};
    EXPECT_MALFORMED(faceproof::parse_dg2(fptest::dg2_from_image(codestream, "jpeg", 1, 1, GetParam())));
    // A raw JPEG 2000 codestream declared as JPEG 2000 is accepted.
    EXPECT_EQ(faceproof::parse_dg2(fptest::dg2_from_image(codestream, "jp2", 1, 1, GetParam()))[0].format, "jp2");
    // Neither signature.
    const Bytes png = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    EXPECT_MALFORMED(faceproof::parse_dg2(fptest::dg2_from_image(png, "jpeg", 1, 1, GetParam())));
}

TEST_P(Dg2RoundTrip, EveryTruncationOfTheFileIsMalformed) {
    const Bytes jpeg = fptest::read_file(sample_photo_path());
    const Bytes dg2 = fptest::dg2_from_image(jpeg, "jpeg", 1920, 1280, GetParam());
    const std::span<const std::uint8_t> whole(dg2);
    for (std::size_t size = 0; size < dg2.size(); ++size) {
        ASSERT_EQ(thrown_code([&] { faceproof::parse_dg2(whole.first(size)); }),
                  std::optional<ErrorCode>(ErrorCode::document_malformed))
            << "truncated to " << size << " of " << dg2.size() << " bytes";
    }
}

TEST_P(Dg2RoundTrip, EveryTruncationOfTheBiometricRecordIsMalformed) {
    // The record cut at every byte and re-wrapped with consistent TLV lengths, so the record's own
    // length fields (19794-5) or the inner 39794-5 elements are what must catch it.
    fptest::FaceImage face;
    face.image = small_jpeg();
    face.format = "jpeg";
    face.width = 48;
    face.height = 64;
    face.feature_points = 2;
    const Bytes record = fptest::face_record({face}, GetParam());
    const std::uint32_t tag = GetParam() == Encoding::iso19794_5 ? 0x5F2E : 0x7F2E;
    ASSERT_NO_THROW(faceproof::parse_dg2(dg2_around_block(tag, record)));
    for (std::size_t size = 0; size < record.size(); ++size) {
        const Bytes cut(record.begin(), record.begin() + static_cast<std::ptrdiff_t>(size));
        ASSERT_EQ(thrown_code([&] { faceproof::parse_dg2(dg2_around_block(tag, cut)); }),
                  std::optional<ErrorCode>(ErrorCode::document_malformed))
            << "record truncated to " << size << " of " << record.size() << " bytes";
    }
}

TEST_P(Dg2RoundTrip, EveryStructureByteChangedParsesOrIsMalformed) {
    // Each byte before the image changed to 00, FF, +1 and -1: the parser either accepts (and then
    // returns an image within the input) or throws document_malformed; it never crashes.
    const Bytes dg2 = fptest::dg2_from_image(small_jpeg(), "jpeg", 48, 64, GetParam());
    const std::size_t image_start = find_bytes(dg2, small_jpeg());
    for (std::size_t i = 0; i < image_start + 4; ++i) {
        for (const int change : {0, 1, 2, 3}) {
            Bytes mutated = dg2;
            mutated[i] = change == 0 ? 0x00 : change == 1 ? 0xFF
                                            : static_cast<std::uint8_t>(mutated[i] + (change == 2 ? 1 : -1));
            if (mutated == dg2) continue;
            try {
                const auto portraits = faceproof::parse_dg2(mutated);
                for (const auto& portrait : portraits) EXPECT_LE(portrait.image.size(), mutated.size());
            } catch (const faceproof::Error& error) {
                ASSERT_EQ(error.code(), ErrorCode::document_malformed) << "byte " << i;
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(BothEncodings, Dg2RoundTrip,
                         ::testing::Values(Encoding::iso19794_5, Encoding::iso39794_5),
                         [](const auto& info) {
                             return std::string(info.param == Encoding::iso19794_5 ? "Iso19794_5" : "Iso39794_5");
                         });

// ---- DG2: ISO/IEC 19794-5 length fields --------------------------------------------------------

struct Record19794 {
    Bytes dg2;
    std::size_t record = 0;  // offset of "FAC\0" in dg2
};

Record19794 record_19794(std::uint16_t feature_points = 2) {
    fptest::FaceImage face;
    face.image = small_jpeg();
    face.format = "jpeg";
    face.width = 48;
    face.height = 64;
    face.feature_points = feature_points;
    Record19794 r;
    r.dg2 = fptest::dg2_from_images({face}, Encoding::iso19794_5);
    r.record = find_bytes(r.dg2, Bytes{'F', 'A', 'C', 0});
    return r;
}

TEST(Dg2Iso19794, EveryLengthFieldTooLargeOrTooSmallIsMalformed) {
    const Record19794 valid = record_19794();
    ASSERT_NO_THROW(faceproof::parse_dg2(valid.dg2));
    struct Field {
        const char* name;
        std::size_t offset;
        int width;
    };
    const Field fields[] = {
        {"record length", valid.record + 8, 4},
        {"number of faces", valid.record + 12, 2},
        {"facial record data block length", valid.record + 14, 4},
        {"number of feature points", valid.record + 18, 2},
    };
    for (const Field& field : fields) {
        const std::uint64_t value = get_be(valid.dg2, field.offset, field.width);
        const std::uint64_t max = field.width == 4 ? 0xFFFFFFFFull : 0xFFFFull;
        for (const std::uint64_t wrong : {value + 1, value - 1, std::uint64_t{0}, max, value + 8, value - 8}) {
            if (wrong == value || wrong > max) continue;
            Bytes mutated = valid.dg2;
            put_be(mutated, field.offset, wrong, field.width);
            EXPECT_EQ(thrown_code([&] { faceproof::parse_dg2(mutated); }),
                      std::optional<ErrorCode>(ErrorCode::document_malformed))
                << field.name << " " << value << " changed to " << wrong;
        }
    }
}

TEST(Dg2Iso19794, BlockLengthMessageNamesTheNumbers) {
    Record19794 r = record_19794();
    put_be(r.dg2, r.record + 14, 123456, 4);
    const std::string message = thrown_message([&] { faceproof::parse_dg2(r.dg2); });
    EXPECT_NE(message.find("DG2: 19794-5 face 1 of 1: facial record data block length 123456 exceeds the"),
              std::string::npos)
        << message;
}

TEST(Dg2Iso19794, ImageDataTypesAndVersion) {
    Record19794 r = record_19794(0);
    const std::size_t data_type = r.record + 14 + 20 + 1;
    ASSERT_EQ(r.dg2[data_type], 0x00);
    Bytes unknown = r.dg2;
    unknown[data_type] = 0x07;
    EXPECT_MALFORMED(faceproof::parse_dg2(unknown));
    Bytes jp2_claim = r.dg2;
    jp2_claim[data_type] = 0x01;
    EXPECT_MALFORMED(faceproof::parse_dg2(jp2_claim));
    Bytes version = r.dg2;
    version[r.record + 5] = '3';  // "030": the 2011 edition, a different layout
    EXPECT_MALFORMED(faceproof::parse_dg2(version));
}

TEST(Dg2Iso19794, ZeroPaddingAfterTheRecordIsToleratedOtherBytesAreNot) {
    fptest::FaceImage face;
    face.image = small_jpeg();
    face.format = "jpeg";
    face.width = 48;
    face.height = 64;
    Bytes record = fptest::face_record({face}, Encoding::iso19794_5);
    record.insert(record.end(), 16, 0x00);
    const auto portraits = faceproof::parse_dg2(dg2_around_block(0x5F2E, record));
    ASSERT_EQ(portraits.size(), 1u);
    EXPECT_EQ(portraits[0].image, small_jpeg());  // exactly the declared bytes, padding excluded
    record.back() = 0x01;
    EXPECT_MALFORMED(faceproof::parse_dg2(dg2_around_block(0x5F2E, record)));
}

// ---- DG2: TLV structure ------------------------------------------------------------------------

TEST(Dg2Structure, WrongOuterAndInnerTagsAreMalformed) {
    const Bytes valid = fptest::dg2_from_image(small_jpeg(), "jpeg", 48, 64, Encoding::iso19794_5);
    for (const std::uint32_t outer : {0x61u, 0x76u, 0x6Fu}) {
        Bytes wrong = valid;
        wrong[0] = static_cast<std::uint8_t>(outer);
        EXPECT_MALFORMED(faceproof::parse_dg2(wrong));
    }
    const std::size_t group = find_bytes(valid, Bytes{0x7F, 0x61});
    Bytes wrong_group = valid;
    wrong_group[group + 1] = 0x62;
    EXPECT_MALFORMED(faceproof::parse_dg2(wrong_group));
    const std::size_t bit = find_bytes(valid, Bytes{0x7F, 0x60});
    Bytes wrong_bit = valid;
    wrong_bit[bit + 1] = 0x63;
    EXPECT_MALFORMED(faceproof::parse_dg2(wrong_bit));
    const std::size_t block = find_bytes(valid, Bytes{0x5F, 0x2E});
    Bytes wrong_block = valid;
    wrong_block[block + 1] = 0x2F;
    EXPECT_MALFORMED(faceproof::parse_dg2(wrong_block));
}

TEST(Dg2Structure, TemplateCountMustMatch) {
    const Bytes header = fptest::tlv(0xA1, {fptest::tlv(0x81, Bytes{0x02})});
    fptest::FaceImage face{small_jpeg(), "jpeg", 48, 64, 0};
    const Bytes bit = fptest::tlv(0x7F60, {header, fptest::tlv(0x5F2E, fptest::face_record({face}, Encoding::iso19794_5))});
    auto dg2_with = [&](std::uint64_t count, int templates) {
        Bytes group = fptest::der_integer(count);
        for (int i = 0; i < templates; ++i) group.insert(group.end(), bit.begin(), bit.end());
        return fptest::tlv(0x75, {fptest::tlv(0x7F61, group)});
    };
    EXPECT_EQ(faceproof::parse_dg2(dg2_with(2, 2)).size(), 2u);
    EXPECT_MALFORMED(faceproof::parse_dg2(dg2_with(2, 1)));
    EXPECT_MALFORMED(faceproof::parse_dg2(dg2_with(1, 2)));
    EXPECT_MALFORMED(faceproof::parse_dg2(dg2_with(0, 0)));
    EXPECT_MALFORMED(faceproof::parse_dg2(dg2_with(0xFFFFFFFFull, 1)));
}

TEST(Dg2Structure, UnknownHeaderElementsAreToleratedButMustBeWellFormed) {
    fptest::FaceImage face{small_jpeg(), "jpeg", 48, 64, 0};
    const Bytes record = fptest::face_record({face}, Encoding::iso19794_5);
    auto dg2_with_header = [&](const Bytes& header) {
        return fptest::tlv(0x75, {fptest::tlv(0x7F61, {fptest::der_integer(1),
                                                       fptest::tlv(0x7F60, {header, fptest::tlv(0x5F2E, record)})})});
    };
    const Bytes lenient = fptest::tlv(0xA1, {fptest::tlv(0x80, Bytes{1, 1}), fptest::tlv(0x9F21, Bytes{1, 2, 3}),
                                             fptest::tlv(0xB1, {fptest::tlv(0x81, Bytes{0})})});
    EXPECT_EQ(faceproof::parse_dg2(dg2_with_header(lenient)).size(), 1u);
    EXPECT_EQ(faceproof::parse_dg2(dg2_with_header(fptest::tlv(0xA2, {fptest::tlv(0x81, Bytes{2})}))).size(), 1u);
    EXPECT_MALFORMED(faceproof::parse_dg2(dg2_with_header(fptest::tlv(0x30, {fptest::tlv(0x81, Bytes{2})}))));
    EXPECT_MALFORMED(faceproof::parse_dg2(dg2_with_header(fptest::tlv(0xA0, {fptest::tlv(0x81, Bytes{2})}))));
    Bytes bomb = fptest::tlv(0x81, Bytes{0x02});
    for (int i = 0; i < 64; ++i) bomb = fptest::tlv(0xA2, bomb);
    EXPECT_MALFORMED(faceproof::parse_dg2(dg2_with_header(fptest::tlv(0xA1, bomb))));
}

TEST(Dg2Structure, FourGigabyteLengthsAreRefusedBeforeAnyAllocation) {
    // Outer template claiming 4 GB.
    const Bytes outer = {0x75, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x61, 0x00};
    EXPECT_MALFORMED(faceproof::parse_dg2(outer));
    // A well-formed file whose biometric data block claims 4 GB inside it.
    const Bytes header = fptest::tlv(0xA1, {fptest::tlv(0x81, Bytes{0x02})});
    const Bytes block = {0x5F, 0x2E, 0x84, 0xFF, 0xFF, 0xFF, 0xF0, 'F', 'A', 'C', 0};
    const Bytes dg2 = fptest::tlv(0x75, {fptest::tlv(0x7F61, {fptest::der_integer(1), fptest::tlv(0x7F60, {header, block})})});
    const std::string message = thrown_message([&] { faceproof::parse_dg2(dg2); });
    EXPECT_NE(message.find("length 4294967280 exceeds the 4 bytes left"), std::string::npos) << message;
    // A 19794-5 record length of 4 GB inside a small block.
    Record19794 r = record_19794();
    put_be(r.dg2, r.record + 8, 0xFFFFFFFF, 4);
    EXPECT_MALFORMED(faceproof::parse_dg2(r.dg2));
}

// ---- DG2: ISO/IEC 39794-5 variants ------------------------------------------------------------

Bytes representation_39794(const Bytes& image, std::optional<Bytes> format, std::optional<Bytes> size,
                           const Bytes& extra = {}) {
    Bytes information_content;
    if (format) information_content = *format;
    if (size) information_content.insert(information_content.end(), size->begin(), size->end());
    const Bytes representation_2d =
        fptest::tlv(0xA0, {fptest::tlv(0x80, image), fptest::tlv(0xA1, information_content), extra});
    return fptest::tlv(0x30, {fptest::tlv(0x80, Bytes{0}), fptest::tlv(0xA1, {representation_2d})});
}

Bytes block_39794(const Bytes& representations) {
    return fptest::concat({fptest::tlv(0xA0, {fptest::tlv(0x80, Bytes{3}), fptest::tlv(0x81, Bytes{0x07, 0xE3})}),
                           fptest::tlv(0xA1, representations)});
}

const Bytes kJpegCode = fptest::tlv(0xA0, {fptest::tlv(0x80, Bytes{2})});
const Bytes kSize = fptest::tlv(0xA7, {fptest::tlv(0x80, Bytes{0x30}), fptest::tlv(0x81, Bytes{0x40})});

TEST(Dg2Iso39794, ApplicationFiveWrapperAndBareFormatCodeAreAccepted) {
    const Bytes representation = representation_39794(small_jpeg(), kJpegCode, kSize);
    const Bytes wrapped = fptest::tlv(0x65, block_39794(representation));
    auto portraits = faceproof::parse_dg2(dg2_around_block(0x7F2E, wrapped));
    ASSERT_EQ(portraits.size(), 1u);
    EXPECT_EQ(portraits[0].width, 0x30u);
    EXPECT_EQ(portraits[0].height, 0x40u);
    const Bytes bare = representation_39794(small_jpeg(), fptest::tlv(0x80, Bytes{2}), kSize);
    EXPECT_EQ(faceproof::parse_dg2(dg2_around_block(0x7F2E, block_39794(bare)))[0].format, "jpeg");
}

TEST(Dg2Iso39794, UnknownFormatCodeIsDecidedByMagicOtherCodesAreRefused) {
    const Bytes unknown = representation_39794(small_jpeg(), fptest::tlv(0xA0, {fptest::tlv(0x80, Bytes{0})}), kSize);
    EXPECT_EQ(faceproof::parse_dg2(dg2_around_block(0x7F2E, block_39794(unknown)))[0].format, "jpeg");
    const Bytes png = representation_39794(small_jpeg(), fptest::tlv(0xA0, {fptest::tlv(0x80, Bytes{5})}), kSize);
    EXPECT_MALFORMED(faceproof::parse_dg2(dg2_around_block(0x7F2E, block_39794(png))));
    const Bytes missing = representation_39794(small_jpeg(), std::nullopt, kSize);
    EXPECT_MALFORMED(faceproof::parse_dg2(dg2_around_block(0x7F2E, block_39794(missing))));
}

TEST(Dg2Iso39794, SizeBlockIsOptionalButCompleteWhenPresent) {
    const Bytes no_size = representation_39794(small_jpeg(), kJpegCode, std::nullopt);
    const auto portraits = faceproof::parse_dg2(dg2_around_block(0x7F2E, block_39794(no_size)));
    EXPECT_EQ(portraits[0].width, 0u);
    const Bytes half = representation_39794(small_jpeg(), kJpegCode, fptest::tlv(0xA7, {fptest::tlv(0x80, Bytes{1})}));
    EXPECT_MALFORMED(faceproof::parse_dg2(dg2_around_block(0x7F2E, block_39794(half))));
}

TEST(Dg2Iso39794, UnknownElementsAreSkippedThreeDimensionalRepresentationsIgnored) {
    const Bytes extra = fptest::tlv(0xA2, {fptest::tlv(0x80, Bytes{1})});  // captureDevice2DBlock
    const Bytes with_extra = representation_39794(small_jpeg(), kJpegCode, kSize, extra);
    const Bytes three_d = fptest::tlv(0x30, {fptest::tlv(0x80, Bytes{1}),
                                             fptest::tlv(0xA1, {fptest::tlv(0xA1, {fptest::tlv(0x80, Bytes{9})})})});
    const auto portraits = faceproof::parse_dg2(dg2_around_block(0x7F2E, block_39794(fptest::concat({three_d, with_extra}))));
    ASSERT_EQ(portraits.size(), 1u);
    EXPECT_EQ(portraits[0].image, small_jpeg());
    EXPECT_MALFORMED(faceproof::parse_dg2(dg2_around_block(0x7F2E, block_39794(three_d))));
    EXPECT_MALFORMED(faceproof::parse_dg2(dg2_around_block(0x7F2E, block_39794({}))));
}

// ---- DG14 --------------------------------------------------------------------------------------

TEST(Dg14, ListsSecurityInfosByProtocol) {
    const Pkey ca_key = ec_key("brainpoolP256r1");
    ASSERT_TRUE(ca_key);
    const Bytes dg14 = fptest::dg14_with({
        fptest::chip_authentication_public_key_info(ca_key.get(), 7),
        fptest::chip_authentication_info(4, 7),
        fptest::pace_info(2, 2, 13),
        fptest::terminal_authentication_info(),
        fptest::active_authentication_info("1.2.840.10045.4.3.2"),
        fptest::security_info("1.2.3.4", fptest::tlv(0x05, Bytes{})),
    });
    const auto infos = faceproof::parse_dg14(dg14);
    ASSERT_EQ(infos.size(), 6u);
    auto by_oid = [&](const std::string& oid) -> const faceproof::SecurityInfoSummary& {
        for (const auto& info : infos) {
            if (info.protocol_oid == oid) return info;
        }
        throw std::runtime_error("no " + oid);
    };
    const auto& pk = by_oid("0.4.0.127.0.7.2.2.1.2");
    EXPECT_EQ(pk.protocol, "Chip Authentication public key (ECDH)");
    EXPECT_EQ(pk.key_id, std::optional<std::uint64_t>(7));
    EXPECT_EQ(pk.detail, "key algorithm id-ecPublicKey");
    const auto& ca = by_oid("0.4.0.127.0.7.2.2.3.2.4");
    EXPECT_EQ(ca.protocol, "Chip Authentication info (ECDH, AES-CBC-CMAC-256)");
    EXPECT_EQ(ca.version, std::optional<std::uint64_t>(1));
    EXPECT_EQ(ca.key_id, std::optional<std::uint64_t>(7));
    const auto& pace = by_oid("0.4.0.127.0.7.2.2.4.2.2");
    EXPECT_EQ(pace.protocol, "PACE info (ECDH-GM, AES-CBC-CMAC-128)");
    EXPECT_EQ(pace.version, std::optional<std::uint64_t>(2));
    EXPECT_EQ(pace.detail, "standardized domain parameters 13");
    EXPECT_EQ(by_oid("0.4.0.127.0.7.2.2.2").protocol, "Terminal Authentication info");
    const auto& aa = by_oid("2.23.136.1.1.5");
    EXPECT_EQ(aa.protocol, "Active Authentication info");
    EXPECT_EQ(aa.detail, "signature algorithm ecdsa-with-SHA256");
    EXPECT_EQ(by_oid("1.2.3.4").protocol, "unknown protocol");
}

TEST(Dg14, RsaChipAuthenticationKeyAndPaceDomainParameters) {
    const Pkey key = rsa_key(2048);
    ASSERT_TRUE(key);
    const Bytes algorithm = fptest::tlv(0x30, {fptest::der_oid("0.4.0.127.0.7.1.2"), fptest::der_integer(13)});
    const auto infos = faceproof::parse_dg14(fptest::dg14_with({
        fptest::chip_authentication_public_key_info(key.get()),
        fptest::security_info("0.4.0.127.0.7.2.2.4.2", algorithm, fptest::der_integer(1)),
    }));
    ASSERT_EQ(infos.size(), 2u);
    for (const auto& info : infos) {
        if (info.protocol_oid == "0.4.0.127.0.7.2.2.1.1") {
            EXPECT_EQ(info.protocol, "Chip Authentication public key (DH)");
            EXPECT_EQ(info.detail, "key algorithm rsaEncryption");
            EXPECT_FALSE(info.key_id.has_value());
        } else {
            EXPECT_EQ(info.protocol, "PACE domain parameters (ECDH-GM)");
        }
    }
}

TEST(Dg14, MalformedFilesAreRefused) {
    const Bytes info = fptest::terminal_authentication_info();
    Bytes wrong_outer = fptest::dg14_with({info});
    wrong_outer[0] = 0x6F;
    EXPECT_MALFORMED(faceproof::parse_dg14(wrong_outer));
    EXPECT_MALFORMED(faceproof::parse_dg14(fptest::tlv(0x6E, {fptest::tlv(0x30, {info})})));  // not a SET
    EXPECT_MALFORMED(faceproof::parse_dg14(fptest::tlv(0x6E, {fptest::tlv(0x31, Bytes{})})));  // empty SET
    EXPECT_MALFORMED(faceproof::parse_dg14(fptest::dg14_with({fptest::tlv(0x30, {fptest::der_integer(1)})})));
    EXPECT_MALFORMED(faceproof::parse_dg14(fptest::dg14_with({fptest::tlv(0x30, {fptest::der_oid("1.2.3")})})));
    const Bytes four_fields = fptest::tlv(0x30, {fptest::der_oid("1.2.3"), fptest::der_integer(1),
                                                 fptest::der_integer(2), fptest::der_integer(3)});
    EXPECT_MALFORMED(faceproof::parse_dg14(fptest::dg14_with({four_fields})));
    // A depth bomb in the optional data of an unknown protocol.
    Bytes bomb = fptest::tlv(0x05, Bytes{});
    for (int i = 0; i < 64; ++i) bomb = fptest::tlv(0x30, bomb);
    EXPECT_MALFORMED(faceproof::parse_dg14(fptest::dg14_with({fptest::security_info("1.2.3", fptest::der_integer(1), bomb)})));
    // Every truncation.
    const Pkey key = ec_key("P-256");
    const Bytes dg14 = fptest::dg14_with({fptest::chip_authentication_public_key_info(key.get(), 1), info,
                                          fptest::pace_info(4, 4, 18)});
    const std::span<const std::uint8_t> whole(dg14);
    for (std::size_t size = 0; size < dg14.size(); ++size) {
        ASSERT_EQ(thrown_code([&] { faceproof::parse_dg14(whole.first(size)); }),
                  std::optional<ErrorCode>(ErrorCode::document_malformed)) << size;
    }
}

// ---- DG15 --------------------------------------------------------------------------------------

TEST(Dg15, Rsa2048) {
    const Pkey key = rsa_key(2048);
    ASSERT_TRUE(key);
    const auto aa = faceproof::parse_dg15(fptest::dg15_from_public_key(key.get()));
    EXPECT_EQ(aa.algorithm, "RSA");
    EXPECT_EQ(aa.bits, 2048);
    EXPECT_TRUE(aa.curve.empty());
    EXPECT_FALSE(aa.subject_public_key_info.empty());
}

TEST(Dg15, EcNamedCurves) {
    for (const auto& [curve, name] : {std::pair{"P-256", "prime256v1"}, std::pair{"brainpoolP256r1", "brainpoolP256r1"}}) {
        const Pkey key = ec_key(curve);
        ASSERT_TRUE(key) << curve;
        const auto aa = faceproof::parse_dg15(fptest::dg15_from_public_key(key.get()));
        EXPECT_EQ(aa.algorithm, "EC");
        EXPECT_EQ(aa.bits, 256);
        EXPECT_EQ(aa.curve, name);
    }
}

TEST(Dg15, EcExplicitParameters) {
    // Several issuers write brainpool keys with explicit domain parameters.
    const Pkey key = ec_key("brainpoolP256r1");
    ASSERT_TRUE(key);
    ASSERT_EQ(EVP_PKEY_set_utf8_string_param(key.get(), OSSL_PKEY_PARAM_EC_ENCODING,
                                             OSSL_PKEY_EC_ENCODING_EXPLICIT), 1);
    const auto aa = faceproof::parse_dg15(fptest::dg15_from_public_key(key.get()));
    EXPECT_EQ(aa.algorithm, "EC");
    EXPECT_EQ(aa.curve.rfind("explicit parameters", 0), 0u) << aa.curve;
}

TEST(Dg15, MalformedFilesAndOtherAlgorithmsAreRefused) {
    const Pkey key = ec_key("P-256");
    const Bytes valid = fptest::dg15_from_public_key(key.get());
    Bytes wrong_outer = valid;
    wrong_outer[0] = 0x6E;
    EXPECT_MALFORMED(faceproof::parse_dg15(wrong_outer));
    const std::span<const std::uint8_t> whole(valid);
    for (std::size_t size = 0; size < valid.size(); ++size) {
        ASSERT_EQ(thrown_code([&] { faceproof::parse_dg15(whole.first(size)); }),
                  std::optional<ErrorCode>(ErrorCode::document_malformed)) << size;
    }
    // A public key point changed so it is not on the curve.
    Bytes off_curve = valid;
    off_curve.back() ^= 0x01;
    EXPECT_MALFORMED(faceproof::parse_dg15(off_curve));
    const Pkey ed = Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    ASSERT_TRUE(ed);
    EXPECT_MALFORMED(faceproof::parse_dg15(fptest::dg15_from_public_key(ed.get())));
    const Bytes not_a_key = fptest::tlv(0x6F, {fptest::tlv(0x30, {fptest::tlv(0x30, {fptest::der_oid("1.2.3")}),
                                                                   fptest::tlv(0x03, Bytes{0, 1, 2})})});
    EXPECT_MALFORMED(faceproof::parse_dg15(not_a_key));
}

}  // namespace
