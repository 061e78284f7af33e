// Tests of the image loader: every image is generated here with OpenCV or built byte by byte.
#include <gtest/gtest.h>

#include <cstring>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include <cstdio>  // jpeglib.h needs FILE
#include <jpeglib.h>

#include <opencv2/imgcodecs.hpp>

#include "faceproof/error.hpp"
#include "faceproof/image.hpp"
#include "image/jpeg_decoder.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
using Bytes = std::vector<std::uint8_t>;

namespace {

const cv::Vec3b kRed{0, 0, 255}, kBlue{255, 0, 0}, kGreen{0, 255, 0}, kWhite{255, 255, 255};

// 40 wide, 20 high, one flat colour per quadrant so that every rotation and mirror is distinct.
cv::Mat quadrants(int width = 40, int height = 20) {
    cv::Mat m(height, width, CV_8UC3);
    const int w = width / 2, h = height / 2;
    m(cv::Rect(0, 0, w, h)).setTo(kRed);
    m(cv::Rect(w, 0, width - w, h)).setTo(kBlue);
    m(cv::Rect(0, h, w, height - h)).setTo(kGreen);
    m(cv::Rect(w, h, width - w, height - h)).setTo(kWhite);
    return m;
}

// Noise compresses badly, which gives the truncation tests plenty of payload to cut.
cv::Mat noise(int width, int height) {
    cv::Mat m(height, width, CV_8UC3);
    cv::RNG rng(1234);
    rng.fill(m, cv::RNG::UNIFORM, 0, 256);
    return m;
}

Bytes encode(const std::string& ext, const cv::Mat& image, const std::vector<int>& params = {}) {
    Bytes out;
    EXPECT_TRUE(cv::imencode(ext, image, out, params));
    return out;
}

// Colour at the centre of each quadrant, in the order TL, TR, BL, BR.
std::vector<cv::Vec3b> corners(const cv::Mat& m) {
    const int x0 = m.cols / 4, x1 = 3 * m.cols / 4, y0 = m.rows / 4, y1 = 3 * m.rows / 4;
    return {m.at<cv::Vec3b>(y0, x0), m.at<cv::Vec3b>(y0, x1), m.at<cv::Vec3b>(y1, x0),
            m.at<cv::Vec3b>(y1, x1)};
}

void expect_near(const cv::Vec3b& actual, const cv::Vec3b& expected, const char* where) {
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(actual[c], expected[c], 40) << where << " channel " << c;
}

void expect_layout(const cv::Mat& m, std::vector<cv::Vec3b> expected) {
    const auto got = corners(m);
    const char* names[] = {"top-left", "top-right", "bottom-left", "bottom-right"};
    for (int i = 0; i < 4; ++i) expect_near(got[i], expected[i], names[i]);
}

template <typename F>
void expect_error(F&& f, fp::ErrorCode code) {
    try {
        f();
        ADD_FAILURE() << "expected faceproof::Error " << fp::to_string(code) << ", nothing was thrown";
    } catch (const fp::Error& e) {
        EXPECT_EQ(e.code(), code) << "message: " << e.what();
        EXPECT_STRNE(e.what(), "");
    }
}

void put_be16(Bytes& b, std::uint32_t v) { b.insert(b.end(), {std::uint8_t(v >> 8), std::uint8_t(v)}); }
void put_be32(Bytes& b, std::uint32_t v) {
    b.insert(b.end(), {std::uint8_t(v >> 24), std::uint8_t(v >> 16), std::uint8_t(v >> 8), std::uint8_t(v)});
}
void put_le32(Bytes& b, std::uint32_t v) {
    b.insert(b.end(), {std::uint8_t(v), std::uint8_t(v >> 8), std::uint8_t(v >> 16), std::uint8_t(v >> 24)});
}
void put_str(Bytes& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }

std::uint32_t crc32(const std::uint8_t* p, std::size_t n) {
    std::uint32_t c = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < n; ++i) {
        c ^= p[i];
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

Bytes png_chunk(std::string_view type, const Bytes& data) {
    Bytes c;
    put_be32(c, static_cast<std::uint32_t>(data.size()));
    put_str(c, type);
    c.insert(c.end(), data.begin(), data.end());
    put_be32(c, crc32(c.data() + 4, c.size() - 4));
    return c;
}

// A TIFF structure whose IFD0 holds the single entry Orientation (0x0112, SHORT, 1) = value.
Bytes exif_tiff(int orientation, bool little_endian) {
    Bytes t;
    // clang-format off
    if (little_endian) {
        t = {'I', 'I', 0x2A, 0, 8, 0, 0, 0,  // header, IFD0 at offset 8
             1, 0,                           // one entry
             0x12, 0x01, 3, 0, 1, 0, 0, 0, std::uint8_t(orientation), 0, 0, 0,
             0, 0, 0, 0};                    // no next IFD
    } else {
        t = {'M', 'M', 0, 0x2A, 0, 0, 0, 8,
             0, 1,
             0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, std::uint8_t(orientation), 0, 0,
             0, 0, 0, 0};
    }
    // clang-format on
    return t;
}

// Inserts an APP1 Exif segment right after SOI.
Bytes jpeg_with_orientation(const cv::Mat& image, int orientation, bool little_endian = true) {
    Bytes jpeg = encode(".jpg", image, {cv::IMWRITE_JPEG_QUALITY, 95});
    const Bytes tiff = exif_tiff(orientation, little_endian);
    Bytes app1 = {0xFF, 0xE1};
    put_be16(app1, static_cast<std::uint32_t>(2 + 6 + tiff.size()));
    app1.insert(app1.end(), {'E', 'x', 'i', 'f', 0, 0});
    app1.insert(app1.end(), tiff.begin(), tiff.end());
    jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
    return jpeg;
}

Bytes truncated(Bytes b, std::size_t size) {
    b.resize(size);
    return b;
}

// A decode that must fail: it throws image_unreadable and so never hands out a Mat.
void expect_unreadable(const Bytes& b) {
    expect_error([&] { (void)fp::decode_image(b); }, fp::ErrorCode::image_unreadable);
}

std::filesystem::path temp_path(const std::string& name) {
    return std::filesystem::temp_directory_path() /
           ("faceproof_test_image_" + std::to_string(::getpid()) + "_" + name);
}

}  // namespace

TEST(ImageLoader, FormatNames) {
    EXPECT_EQ(fp::to_string(fp::ImageFormat::jpeg), "jpeg");
    EXPECT_EQ(fp::to_string(fp::ImageFormat::png), "png");
    EXPECT_EQ(fp::to_string(fp::ImageFormat::webp), "webp");
    EXPECT_EQ(fp::to_string(fp::ImageFormat::bmp), "bmp");
}

TEST(ImageLoader, RoundTripEveryFormat) {
    const cv::Mat image = quadrants();
    const std::vector<std::pair<Bytes, fp::ImageFormat>> cases = {
        {encode(".jpg", image, {cv::IMWRITE_JPEG_QUALITY, 95}), fp::ImageFormat::jpeg},
        {encode(".png", image), fp::ImageFormat::png},
        {encode(".webp", image, {cv::IMWRITE_WEBP_QUALITY, 90}), fp::ImageFormat::webp},   // VP8
        {encode(".webp", image, {cv::IMWRITE_WEBP_QUALITY, 101}), fp::ImageFormat::webp},  // VP8L
        {encode(".bmp", image), fp::ImageFormat::bmp},
    };
    for (const auto& [bytes, format] : cases) {
        SCOPED_TRACE(std::string(fp::to_string(format)));
        const fp::ImageInfo info = fp::probe_image(bytes);
        EXPECT_EQ(info.format, format);
        EXPECT_EQ(info.width, 40);
        EXPECT_EQ(info.height, 20);
        EXPECT_EQ(info.exif_orientation, 1);

        const cv::Mat decoded = fp::decode_image(bytes);
        ASSERT_EQ(decoded.type(), CV_8UC3);
        ASSERT_EQ(decoded.cols, 40);
        ASSERT_EQ(decoded.rows, 20);
        expect_layout(decoded, {kRed, kBlue, kGreen, kWhite});
    }
}

TEST(ImageLoader, GreyscaleAndAlphaBecomeBgr) {
    cv::Mat grey(10, 12, CV_8UC1, cv::Scalar(77));
    cv::Mat bgra(10, 12, CV_8UC4, cv::Scalar(10, 20, 30, 128));
    for (const cv::Mat& m : {grey, bgra}) {
        const cv::Mat decoded = fp::decode_image(encode(".png", m));
        EXPECT_EQ(decoded.type(), CV_8UC3);
        EXPECT_EQ(decoded.size(), cv::Size(12, 10));
    }
}

// A CMYK JPEG (Adobe-style, as print workflows write them), compressed with libjpeg itself:
// OpenCV's encoder writes no CMYK.
Bytes cmyk_jpeg(int width, int height) {
    jpeg_compress_struct cinfo{};
    jpeg_error_mgr errors{};
    cinfo.err = jpeg_std_error(&errors);
    jpeg_create_compress(&cinfo);
    unsigned char* buffer = nullptr;
    unsigned long size = 0;
    jpeg_mem_dest(&cinfo, &buffer, &size);
    cinfo.image_width = static_cast<JDIMENSION>(width);
    cinfo.image_height = static_cast<JDIMENSION>(height);
    cinfo.input_components = 4;
    cinfo.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&cinfo);
    jpeg_start_compress(&cinfo, TRUE);
    std::vector<unsigned char> row(static_cast<size_t>(width) * 4);
    while (cinfo.next_scanline < cinfo.image_height) {
        for (int x = 0; x < width; ++x)
            for (int c = 0; c < 4; ++c) row[x * 4 + c] = static_cast<unsigned char>((x * 7 + cinfo.next_scanline * 3 + c * 50) & 255);
        JSAMPROW p = row.data();
        jpeg_write_scanlines(&cinfo, &p, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    Bytes out(buffer, buffer + size);
    std::free(buffer);
    return out;
}

// JPEGs are decoded by libjpeg-turbo straight to BGR (never through OpenCV, whose decoding work
// cannot be bounded): the pixels must be OpenCV's, bit for bit, for colour (baseline and
// progressive), greyscale and CMYK files.
TEST(ImageLoader, JpegPixelsAreOpenCvs) {
    const cv::Mat colour = noise(97, 61);
    cv::Mat grey;
    cv::extractChannel(colour, grey, 1);
    const std::vector<std::pair<const char*, Bytes>> files = {
        {"colour", encode(".jpg", colour, {cv::IMWRITE_JPEG_QUALITY, 90})},
        {"progressive", encode(".jpg", colour, {cv::IMWRITE_JPEG_PROGRESSIVE, 1})},
        {"greyscale", encode(".jpg", grey)},
        {"cmyk", cmyk_jpeg(33, 21)},
    };
    for (const auto& [what, bytes] : files) {
        const cv::Mat ours = fp::decode_image(bytes);
        const cv::Mat opencv = cv::imdecode(bytes, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
        ASSERT_FALSE(opencv.empty()) << what;
        ASSERT_EQ(ours.type(), CV_8UC3) << what;
        ASSERT_EQ(ours.size(), opencv.size()) << what;
        EXPECT_EQ(cv::norm(ours, opencv, cv::NORM_INF), 0) << what;
        EXPECT_EQ(cv::norm(fp::decode_jpeg_bgr(bytes, 1 << 20), opencv, cv::NORM_INF), 0) << what;
    }
}

TEST(ImageLoader, ProgressiveScanBombIsRefused) {
    const cv::Mat image = noise(640, 480);
    // A few bogus scans more are damage libjpeg recovers from (warnings): still an image.
    EXPECT_EQ(fp::decode_image(fptest::jpeg_with_extra_scans(image, 20)).size(), cv::Size(640, 480));
    const Bytes bomb = fptest::jpeg_with_extra_scans(image, 2000);
    const std::string message =
        fptest::expect_error_code(fp::ErrorCode::image_too_large, [&] { (void)fp::decode_image(bomb); });
    EXPECT_NE(message.find("scans"), std::string::npos) << message;
    // Just over the limit is refused too (the file had 10 scans of its own).
    expect_error([&] { (void)fp::decode_image(fptest::jpeg_with_extra_scans(image, fp::kMaxJpegScans)); },
                 fp::ErrorCode::image_too_large);
}

// A blank 24 Mpx 1-bit PNG is 3 KB: decoding is bounded by the pixel limit (40 Mpx ones are
// refused from the header), and what decodes is a plain image.
TEST(ImageLoader, DefaultPixelLimitRefusesPixelBombs) {
    const Bytes bomb = fptest::blank_png(16384, 2441);
    EXPECT_LT(bomb.size(), 64u * 1024);
    expect_error([&] { (void)fp::decode_image(bomb); }, fp::ErrorCode::image_too_large);
    EXPECT_EQ(fp::ImageLimits{}.max_pixels, 24'000'000);
}

TEST(ImageLoader, BmpTopDownHeight) {
    Bytes bmp = encode(".bmp", quadrants());
    // Negating biHeight turns the bottom-up rows into top-down ones: the same pixels, flipped.
    const std::int32_t negative = -20;
    std::memcpy(bmp.data() + 22, &negative, 4);  // little-endian host, as the BMP format
    const fp::ImageInfo info = fp::probe_image(bmp);
    EXPECT_EQ(info.width, 40);
    EXPECT_EQ(info.height, 20);
    expect_layout(fp::decode_image(bmp), {kGreen, kWhite, kRed, kBlue});
}

TEST(ImageLoader, EmptyAndGarbage) {
    expect_error([] { (void)fp::probe_image({}); }, fp::ErrorCode::image_unreadable);
    expect_unreadable({});
    std::mt19937 rng(42);
    Bytes garbage(4096);
    for (auto& b : garbage) b = static_cast<std::uint8_t>(rng());
    expect_unreadable(garbage);
    expect_unreadable(Bytes{'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0});
    expect_unreadable(Bytes{0xFF, 0xD8, 0xFF});                 // JPEG signature only
    expect_unreadable(Bytes{0x89, 'P', 'N', 'G', '\r', '\n'});  // half a PNG signature
    expect_unreadable(Bytes{'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P'});
    expect_unreadable(Bytes{'B', 'M', 0, 0});
}

TEST(ImageLoader, TruncatedImagesAreRefused) {
    const cv::Mat image = noise(64, 48);
    const std::vector<Bytes> valid = {
        encode(".jpg", image), encode(".png", image), encode(".webp", image, {cv::IMWRITE_WEBP_QUALITY, 90}),
        encode(".webp", image, {cv::IMWRITE_WEBP_QUALITY, 101}), encode(".bmp", image)};
    for (const Bytes& bytes : valid) {
        SCOPED_TRACE(std::string(fp::to_string(fp::probe_image(bytes).format)));
        ASSERT_NO_THROW((void)fp::decode_image(bytes));
        for (std::size_t cut : {bytes.size() / 2, bytes.size() - 1, bytes.size() - 2, std::size_t{40}}) {
            SCOPED_TRACE("cut at " + std::to_string(cut));
            expect_unreadable(truncated(bytes, cut));
        }
    }
}

TEST(ImageLoader, JpegWithTrailingBytesStillDecodes) {
    Bytes jpeg = encode(".jpg", quadrants());
    jpeg.insert(jpeg.end(), 1000, 0);  // some cameras and editors pad files
    EXPECT_EQ(fp::decode_image(jpeg).size(), cv::Size(40, 20));
}

TEST(ImageLoader, HugePngHeaderIsRefusedBeforeDecoding) {
    Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    Bytes ihdr;
    put_be32(ihdr, 60000);
    put_be32(ihdr, 60000);
    ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8-bit RGB, deflate, no filter, no interlace
    const Bytes idat = {0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01};
    for (const Bytes& chunk : {png_chunk("IHDR", ihdr), png_chunk("IDAT", idat), png_chunk("IEND", {})}) {
        png.insert(png.end(), chunk.begin(), chunk.end());
    }
    const fp::ImageInfo info = fp::probe_image(png);
    EXPECT_EQ(info.format, fp::ImageFormat::png);
    EXPECT_EQ(info.width, 60000);
    EXPECT_EQ(info.height, 60000);
    expect_error([&] { (void)fp::decode_image(png); }, fp::ErrorCode::image_too_large);
    // Even with generous side and pixel limits the pixel budget stops it.
    fp::ImageLimits limits;
    limits.max_side = 100000;
    expect_error([&] { (void)fp::decode_image(png, limits); }, fp::ErrorCode::image_too_large);
}

TEST(ImageLoader, HugeJpegFrameIsRefused) {
    Bytes jpeg = {0xFF, 0xD8};
    // SOF0: length 17, precision 8, height 65535, width 65535, 3 components.
    jpeg.insert(jpeg.end(), {0xFF, 0xC0, 0x00, 0x11, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x03, 0x01, 0x11, 0x00,
                             0x02, 0x11, 0x00, 0x03, 0x11, 0x00});
    jpeg.insert(jpeg.end(),
                {0xFF, 0xDA, 0x00, 0x0C, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3F, 0x00});
    jpeg.insert(jpeg.end(), {0x12, 0x34, 0xFF, 0xD9});
    const fp::ImageInfo info = fp::probe_image(jpeg);
    EXPECT_EQ(info.width, 65535);
    EXPECT_EQ(info.height, 65535);
    expect_error([&] { (void)fp::decode_image(jpeg); }, fp::ErrorCode::image_too_large);
}

TEST(ImageLoader, LimitsAreEnforced) {
    const Bytes png = encode(".png", quadrants());
    fp::ImageLimits limits;
    limits.max_bytes = png.size() - 1;
    expect_error([&] { (void)fp::decode_image(png, limits); }, fp::ErrorCode::image_too_large);
    limits = {};
    limits.max_pixels = 40 * 20 - 1;
    expect_error([&] { (void)fp::decode_image(png, limits); }, fp::ErrorCode::image_too_large);
    limits = {};
    limits.max_side = 39;
    expect_error([&] { (void)fp::decode_image(png, limits); }, fp::ErrorCode::image_too_large);
    limits.max_side = 40;
    EXPECT_NO_THROW((void)fp::decode_image(png, limits));
}

TEST(ImageLoader, ExifOrientationIsAppliedOnce) {
    const cv::Mat image = quadrants();  // 40x20: red blue / green white
    {
        const Bytes jpeg = jpeg_with_orientation(image, 6);
        EXPECT_EQ(fp::probe_image(jpeg).exif_orientation, 6);
        const cv::Mat rotated = fp::decode_image(jpeg);
        ASSERT_EQ(rotated.size(), cv::Size(20, 40));
        // 90 degrees clockwise: the left column becomes the top row, read right to left.
        expect_layout(rotated, {kGreen, kRed, kWhite, kBlue});
    }
    {
        const cv::Mat rotated = fp::decode_image(jpeg_with_orientation(image, 3));
        ASSERT_EQ(rotated.size(), cv::Size(40, 20));
        expect_layout(rotated, {kWhite, kGreen, kBlue, kRed});
    }
    {
        const cv::Mat rotated = fp::decode_image(jpeg_with_orientation(image, 8, false));
        ASSERT_EQ(rotated.size(), cv::Size(20, 40));
        expect_layout(rotated, {kBlue, kWhite, kRed, kGreen});  // 90 degrees counter-clockwise
    }
    {
        const cv::Mat mirrored = fp::decode_image(jpeg_with_orientation(image, 2));
        expect_layout(mirrored, {kBlue, kRed, kWhite, kGreen});
    }
}

TEST(ImageLoader, AllEightOrientations) {
    // Where the red, blue, green and white quadrants of the stored image end up (TL, TR, BL, BR).
    const std::vector<std::vector<cv::Vec3b>> expected = {
        {kRed, kBlue, kGreen, kWhite},  // 1 as stored
        {kBlue, kRed, kWhite, kGreen},  // 2 mirrored left-right
        {kWhite, kGreen, kBlue, kRed},  // 3 rotated 180
        {kGreen, kWhite, kRed, kBlue},  // 4 mirrored top-bottom
        {kRed, kGreen, kBlue, kWhite},  // 5 transposed
        {kGreen, kRed, kWhite, kBlue},  // 6 rotated 90 clockwise
        {kWhite, kBlue, kGreen, kRed},  // 7 transversed
        {kBlue, kWhite, kRed, kGreen},  // 8 rotated 90 counter-clockwise
    };
    for (int orientation = 1; orientation <= 8; ++orientation) {
        SCOPED_TRACE("orientation " + std::to_string(orientation));
        const cv::Mat m = fp::decode_image(jpeg_with_orientation(quadrants(), orientation));
        EXPECT_EQ(m.size(), orientation >= 5 ? cv::Size(20, 40) : cv::Size(40, 20));
        expect_layout(m, expected[orientation - 1]);
    }
}

TEST(ImageLoader, ProbeReadsExifInBothByteOrders) {
    const cv::Mat image = quadrants();
    for (int orientation = 1; orientation <= 8; ++orientation) {
        EXPECT_EQ(fp::probe_image(jpeg_with_orientation(image, orientation, true)).exif_orientation,
                  orientation);
        EXPECT_EQ(fp::probe_image(jpeg_with_orientation(image, orientation, false)).exif_orientation,
                  orientation);
    }
    // Out-of-range values and broken IFDs mean "as stored", not a rejected photo.
    EXPECT_EQ(fp::probe_image(jpeg_with_orientation(image, 9)).exif_orientation, 1);
    Bytes broken = jpeg_with_orientation(image, 6);
    broken[2 + 4 + 6 + 4] = 0xF0;  // IFD0 offset far beyond the segment
    EXPECT_EQ(fp::probe_image(broken).exif_orientation, 1);
    EXPECT_EQ(fp::decode_image(broken).size(), cv::Size(40, 20));
}

TEST(ImageLoader, PngExifOrientation) {
    const Bytes plain = encode(".png", quadrants());
    const Bytes exif = png_chunk("eXIf", exif_tiff(6, false));
    Bytes png(plain.begin(), plain.begin() + 33);  // signature + IHDR
    png.insert(png.end(), exif.begin(), exif.end());
    png.insert(png.end(), plain.begin() + 33, plain.end());
    EXPECT_EQ(fp::probe_image(png).exif_orientation, 6);
    const cv::Mat rotated = fp::decode_image(png);
    ASSERT_EQ(rotated.size(), cv::Size(20, 40));
    expect_layout(rotated, {kGreen, kRed, kWhite, kBlue});
}

TEST(ImageLoader, WebpExtendedWithExif) {
    // Wrap a lossy VP8 bitstream in a VP8X container carrying an EXIF chunk.
    const Bytes simple = encode(".webp", quadrants(), {cv::IMWRITE_WEBP_QUALITY, 90});
    ASSERT_EQ(std::string(simple.begin() + 12, simple.begin() + 16), "VP8 ");
    const Bytes vp8(simple.begin() + 12, simple.end());
    Bytes body = {'W', 'E', 'B', 'P'};
    put_str(body, "VP8X");
    put_le32(body, 10);
    body.insert(body.end(), {0x08, 0, 0, 0, 39, 0, 0, 19, 0, 0});  // EXIF flag, canvas 40x20
    body.insert(body.end(), vp8.begin(), vp8.end());
    const Bytes tiff = exif_tiff(3, true);
    put_str(body, "EXIF");
    put_le32(body, static_cast<std::uint32_t>(tiff.size()));
    body.insert(body.end(), tiff.begin(), tiff.end());
    Bytes webp = {'R', 'I', 'F', 'F'};
    put_le32(webp, static_cast<std::uint32_t>(body.size()));
    webp.insert(webp.end(), body.begin(), body.end());

    const fp::ImageInfo info = fp::probe_image(webp);
    EXPECT_EQ(info.format, fp::ImageFormat::webp);
    EXPECT_EQ(info.width, 40);
    EXPECT_EQ(info.height, 20);
    EXPECT_EQ(info.exif_orientation, 3);
    expect_layout(fp::decode_image(webp), {kWhite, kGreen, kBlue, kRed});
}

TEST(ImageLoader, LoadImageFromFiles) {
    expect_error([] { (void)fp::load_image(temp_path("does_not_exist.png")); }, fp::ErrorCode::io_error);
    expect_error([] { (void)fp::load_image(std::filesystem::temp_directory_path()); },
                 fp::ErrorCode::io_error);

    const std::filesystem::path path = temp_path("ok.png");
    const Bytes png = encode(".png", quadrants());
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
    EXPECT_EQ(fp::read_file_limited(path, png.size()), png);
    expect_error([&] { (void)fp::read_file_limited(path, png.size() - 1); }, fp::ErrorCode::image_too_large);
    EXPECT_EQ(fp::load_image(path).size(), cv::Size(40, 20));
    fp::ImageLimits limits;
    limits.max_bytes = 10;
    expect_error([&] { (void)fp::load_image(path, limits); }, fp::ErrorCode::image_too_large);

    const std::filesystem::path junk = temp_path("junk.jpg");
    std::ofstream(junk, std::ios::binary) << "not an image";
    try {
        (void)fp::load_image(junk);
        ADD_FAILURE() << "junk decoded";
    } catch (const fp::Error& e) {
        EXPECT_EQ(e.code(), fp::ErrorCode::image_unreadable);
        EXPECT_NE(std::string(e.what()).find(junk.string()), std::string::npos) << e.what();
    }
    std::filesystem::remove(path);
    std::filesystem::remove(junk);
}

TEST(ImageLoader, MutatedInputsNeverCrash) {
    const cv::Mat image = noise(48, 32);
    const std::vector<Bytes> seeds = {
        encode(".jpg", image), encode(".png", image), jpeg_with_orientation(quadrants(), 6, false),
        encode(".webp", image, {cv::IMWRITE_WEBP_QUALITY, 90}), encode(".bmp", image)};
    std::mt19937 rng(7);
    int decoded = 0, refused = 0;
    for (int i = 0; i < 300; ++i) {
        Bytes b = seeds[i % seeds.size()];
        switch (rng() % 4) {
            case 0: b.resize(rng() % b.size()); break;  // truncate anywhere
            case 1:                                     // flip a few bytes anywhere
                for (int k = 0, n = 1 + rng() % 8; k < n; ++k)
                    b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
                break;
            case 2:  // hit the headers, where the lengths and sizes live
                for (int k = 0, n = 1 + rng() % 4; k < n; ++k)
                    b[rng() % std::min<std::size_t>(b.size(), 200)] = static_cast<std::uint8_t>(rng());
                break;
            case 3: {  // insert random bytes
                Bytes extra(1 + rng() % 32);
                for (auto& x : extra) x = static_cast<std::uint8_t>(rng());
                b.insert(b.begin() + static_cast<std::ptrdiff_t>(rng() % b.size()), extra.begin(),
                         extra.end());
                break;
            }
        }
        try {
            const cv::Mat m = fp::decode_image(b);
            ASSERT_FALSE(m.empty());
            ASSERT_EQ(m.type(), CV_8UC3);
            ++decoded;
        } catch (const fp::Error& e) {
            ASSERT_TRUE(e.code() == fp::ErrorCode::image_unreadable ||
                        e.code() == fp::ErrorCode::image_too_large)
                << e.what();
            ++refused;
        } catch (const std::exception& e) {
            FAIL() << "mutation " << i << " threw a foreign exception: " << e.what();
        }
    }
    EXPECT_EQ(decoded + refused, 300);
    EXPECT_GT(refused, 0);
}
