// decode_portrait: the chip portrait (JPEG or JPEG 2000) to pixels, its size checked from the header
// before any decoding.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "document/portrait.hpp"
#include "faceproof/error.hpp"
#include "test_support.hpp"

namespace {

namespace fp = faceproof;

std::vector<std::uint8_t> encode(const char* ext, const cv::Mat& image) {
    std::vector<std::uint8_t> bytes;
    cv::imencode(ext, image, bytes);
    return bytes;
}

cv::Mat portrait_image() {
    cv::Mat photo = fptest::load_sample(1), small;
    cv::resize(photo, small, {240, 160}, 0, 0, cv::INTER_AREA);
    return small;
}

std::size_t find(const std::vector<std::uint8_t>& bytes, const char* four) {
    for (std::size_t i = 0; i + 4 <= bytes.size(); ++i)
        if (std::equal(four, four + 4, bytes.begin() + static_cast<std::ptrdiff_t>(i))) return i;
    return std::string::npos;
}

void put_be32(std::vector<std::uint8_t>& bytes, std::size_t at, std::uint32_t v) {
    for (int k = 0; k < 4; ++k) bytes[at + k] = static_cast<std::uint8_t>(v >> (24 - 8 * k));
}

fp::ErrorCode code_of(const fp::DocumentPortrait& p) {
    try {
        (void)fp::decode_portrait(p);
    } catch (const fp::Error& e) {
        EXPECT_NE(std::string(e.what()).find("chip portrait"), std::string::npos) << e.what();
        return e.code();
    }
    ADD_FAILURE() << "decoded";
    return fp::ErrorCode::internal;
}

TEST(Portrait, JpegAndJpeg2000Decode) {
    const cv::Mat image = portrait_image();
    const cv::Mat jpeg = fp::decode_portrait({"ISO/IEC 19794-5", "jpeg", 240, 160, encode(".jpg", image)});
    EXPECT_EQ(jpeg.size(), image.size());
    const auto jp2_bytes = encode(".jp2", image);
    if (jp2_bytes.empty()) GTEST_FAIL() << "this OpenCV cannot write JPEG 2000 (libopenjp2 missing?)";
    const cv::Mat jp2 = fp::decode_portrait({"ISO/IEC 19794-5", "jp2", 240, 160, jp2_bytes});
    ASSERT_EQ(jp2.size(), image.size());
    EXPECT_EQ(jp2.type(), CV_8UC3);
    EXPECT_LT(cv::norm(jp2, image, cv::NORM_L1) / (240.0 * 160 * 3), 8.0) << "the decoded portrait is the image";
}

TEST(Portrait, HugeDeclaredSizeIsRefusedBeforeDecoding) {
    auto jp2 = encode(".jp2", portrait_image());
    const std::size_t ihdr = find(jp2, "ihdr");
    ASSERT_NE(ihdr, std::string::npos);
    put_be32(jp2, ihdr + 4, 100000);  // height
    put_be32(jp2, ihdr + 8, 100000);  // width
    EXPECT_EQ(code_of({"", "jp2", 0, 0, jp2}), fp::ErrorCode::image_too_large);

    // A raw codestream (FF4F FF51) whose SIZ claims 2^31 x 2^31.
    std::vector<std::uint8_t> codestream{0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x29, 0x00, 0x00};
    for (int k = 0; k < 2; ++k) codestream.insert(codestream.end(), {0x80, 0x00, 0x00, 0x00});
    codestream.resize(codestream.size() + 40, 0);
    EXPECT_EQ(code_of({"", "jp2", 0, 0, codestream}), fp::ErrorCode::image_too_large);
}

TEST(Portrait, TruncatedOrUnknownIsUnreadable) {
    const auto jp2 = encode(".jp2", portrait_image());
    for (std::size_t keep : {std::size_t{0}, std::size_t{12}, std::size_t{40}, jp2.size() / 2}) {
        const std::vector<std::uint8_t> cut(jp2.begin(), jp2.begin() + static_cast<std::ptrdiff_t>(keep));
        EXPECT_EQ(code_of({"", "jp2", 0, 0, cut}), fp::ErrorCode::image_unreadable) << keep << " bytes";
    }
    EXPECT_EQ(code_of({"", "png", 0, 0, encode(".png", portrait_image())}), fp::ErrorCode::image_unreadable);
    const auto jpeg = encode(".jpg", portrait_image());
    EXPECT_EQ(code_of({"", "jpeg", 0, 0, std::vector<std::uint8_t>(jpeg.begin(), jpeg.begin() + 200)}),
              fp::ErrorCode::image_unreadable);
}

}  // namespace
