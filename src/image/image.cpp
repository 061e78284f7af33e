// faceproof — decoding untrusted image bytes (see include/faceproof/image.hpp for the contract).
//
// The bytes come from strangers, so nothing reaches a decoder (libjpeg-turbo for JPEG, OpenCV for
// the rest) until we have read the header ourselves: the format must be one of the four we support
// (smaller attack surface than everything imdecode accepts), the declared dimensions must fit the
// limits (a 60000x60000 PNG is a few hundred bytes but would make the decoder allocate 10 GB), and
// the data must not be cut short (libjpeg happily returns a grey-padded half image for a truncated
// file).
#include "faceproof/image.hpp"

#include <algorithm>
#include <array>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <webp/decode.h>

#include "faceproof/error.hpp"
#include "image/jpeg_decoder.hpp"
#include "util/input_file.hpp"

namespace faceproof {

namespace {

using Bytes = std::span<const std::uint8_t>;

[[noreturn]] void unreadable(const std::string& message) {
    throw Error(ErrorCode::image_unreadable, message);
}

// Every multi-byte read goes through these, after the caller proved `off + n <= size`
// with fits(); the sizes are size_t so the checks cannot overflow.
bool fits(Bytes b, std::size_t off, std::size_t n) { return off <= b.size() && n <= b.size() - off; }
std::uint32_t be16(Bytes b, std::size_t off) { return (b[off] << 8) | b[off + 1]; }
std::uint32_t le16(Bytes b, std::size_t off) { return b[off] | (b[off + 1] << 8); }
std::uint32_t be32(Bytes b, std::size_t off) {
    return (std::uint32_t{b[off]} << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
}
std::uint32_t le32(Bytes b, std::size_t off) {
    return b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (std::uint32_t{b[off + 3]} << 24);
}
bool starts_with(Bytes b, std::size_t off, std::string_view tag) {
    return fits(b, off, tag.size()) && std::memcmp(b.data() + off, tag.data(), tag.size()) == 0;
}

// Orientation tag (0x0112) of IFD0 of a TIFF structure ("II*\0" or "MM\0*" header), as found in
// JPEG APP1, PNG eXIf and WebP EXIF. Malformed EXIF is not worth rejecting a photo over: the
// answer is then 1 (as stored).
int tiff_orientation(Bytes tiff) {
    bool little = false;
    if (starts_with(tiff, 0, std::string_view("II*\0", 4))) {
        little = true;
    } else if (!starts_with(tiff, 0, std::string_view("MM\0*", 4))) {
        return 1;
    }
    auto u16 = [&](std::size_t off) { return little ? le16(tiff, off) : be16(tiff, off); };
    auto u32 = [&](std::size_t off) { return little ? le32(tiff, off) : be32(tiff, off); };
    if (!fits(tiff, 4, 4)) return 1;
    const std::size_t ifd = u32(4);
    if (!fits(tiff, ifd, 2)) return 1;
    const std::size_t count = u16(ifd);
    for (std::size_t i = 0; i < count; ++i) {
        const std::size_t entry = ifd + 2 + 12 * i;
        if (!fits(tiff, entry, 12)) return 1;
        if (u16(entry) != 0x0112) continue;
        // SHORT (type 3) is what the standard says; the value sits left-justified in the field.
        const std::uint32_t type = u16(entry + 2);
        const std::uint32_t value = type == 3 ? u16(entry + 8) : type == 4 ? u32(entry + 8) : 0;
        return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
    }
    return 1;
}

ImageInfo make_info(ImageFormat format, std::int64_t width, std::int64_t height, int orientation) {
    if (width <= 0 || height <= 0 || width > INT_MAX || height > INT_MAX) {
        unreadable("image header declares invalid dimensions " + std::to_string(width) + "x" +
                   std::to_string(height));
    }
    return {format, static_cast<int>(width), static_cast<int>(height), orientation};
}

// --- JPEG -------------------------------------------------------------------------------------

struct JpegHeader {
    std::optional<std::pair<int, int>> size;  // width, height of the first SOF
    int orientation = 1;
    std::size_t scan_start = 0;  // offset of the first SOS marker, 0 if not reached
};

// Walks the marker segments from SOI up to the first SOS (Exif normally precedes the SOF, but
// nothing forbids it to follow, so we do not stop at the SOF). Stops quietly at anything malformed;
// the callers decide what is missing.
JpegHeader walk_jpeg(Bytes b) {
    JpegHeader h;
    std::size_t pos = 2;  // after SOI
    bool exif_seen = false;
    while (pos < b.size()) {
        if (b[pos] != 0xFF) break;
        while (pos < b.size() && b[pos] == 0xFF) ++pos;  // fill bytes are allowed before a marker
        if (pos >= b.size()) break;
        const std::uint8_t marker = b[pos++];
        const std::size_t marker_at = pos - 2;
        if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;  // no payload
        if (marker == 0xD9 || marker == 0x00) break;                         // EOI / not a marker
        if (marker == 0xDA) {
            h.scan_start = marker_at;
            break;
        }
        if (!fits(b, pos, 2)) break;
        const std::size_t length = be16(b, pos);  // includes the two length bytes
        if (length < 2 || !fits(b, pos, length)) break;
        const Bytes payload = b.subspan(pos + 2, length - 2);
        const bool is_sof =
            marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (is_sof && !h.size && payload.size() >= 5) {
            h.size = std::pair{static_cast<int>(be16(payload, 3)), static_cast<int>(be16(payload, 1))};
        } else if (marker == 0xE1 && !exif_seen && starts_with(payload, 0, std::string_view("Exif\0\0", 6))) {
            exif_seen = true;
            h.orientation = tiff_orientation(payload.subspan(6));
        }
        pos += length;
    }
    return h;
}

ImageInfo probe_jpeg(Bytes b) {
    const JpegHeader h = walk_jpeg(b);
    if (!h.size) unreadable("JPEG header is truncated or has no frame (SOF) marker");
    return make_info(ImageFormat::jpeg, h.size->first, h.size->second, h.orientation);
}

// --- PNG --------------------------------------------------------------------------------------

constexpr std::string_view png_signature("\x89PNG\r\n\x1a\n", 8);

ImageInfo probe_png(Bytes b) {
    if (!fits(b, 8, 8 + 13) || be32(b, 8) != 13 || !starts_with(b, 12, "IHDR")) {
        unreadable("PNG header is truncated or does not start with IHDR");
    }
    // Orientation lives in an eXIf chunk, which must precede IDAT. Chunk = length, type, data, CRC.
    int orientation = 1;
    for (std::size_t pos = 8; fits(b, pos, 8);) {
        const std::size_t length = be32(b, pos);
        if (starts_with(b, pos + 4, "IDAT") || starts_with(b, pos + 4, "IEND")) break;
        if (!fits(b, pos + 8, length)) break;
        if (starts_with(b, pos + 4, "eXIf")) {
            orientation = tiff_orientation(b.subspan(pos + 8, length));
            break;
        }
        pos += 12 + length;
    }
    return make_info(ImageFormat::png, be32(b, 16), be32(b, 20), orientation);
}

// --- WebP -------------------------------------------------------------------------------------

ImageInfo probe_webp(Bytes b) {
    constexpr std::size_t first = 12;  // "RIFF" size "WEBP", then the first chunk
    if (!fits(b, first, 8)) unreadable("WebP header is truncated");
    const std::size_t payload = first + 8;
    if (starts_with(b, first, "VP8 ")) {
        // Lossy: 3-byte frame tag, start code 9D 01 2A, then 14-bit width and height.
        if (!fits(b, payload, 10) || b[payload + 3] != 0x9D || b[payload + 4] != 0x01 ||
            b[payload + 5] != 0x2A) {
            unreadable("WebP VP8 header is truncated or malformed");
        }
        return make_info(ImageFormat::webp, le16(b, payload + 6) & 0x3FFF, le16(b, payload + 8) & 0x3FFF, 1);
    }
    if (starts_with(b, first, "VP8L")) {
        // Lossless: signature 0x2F, then width-1 and height-1 in 14 bits each.
        if (!fits(b, payload, 5) || b[payload] != 0x2F) unreadable("WebP VP8L header is malformed");
        const std::uint32_t bits = le32(b, payload + 1);
        return make_info(ImageFormat::webp, (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, 1);
    }
    if (starts_with(b, first, "VP8X")) {
        // Extended: flags, 3 reserved bytes, canvas width-1 and height-1 in 24 bits each.
        if (!fits(b, payload, 10)) unreadable("WebP VP8X header is truncated");
        auto le24 = [&](std::size_t off) { return le16(b, off) | (std::uint32_t{b[off + 2]} << 16); };
        int orientation = 1;
        for (std::size_t pos = first; fits(b, pos, 8);) {  // look for the EXIF chunk
            const std::size_t size = le32(b, pos + 4);
            if (!fits(b, pos + 8, size)) break;
            if (starts_with(b, pos, "EXIF")) {
                Bytes exif = b.subspan(pos + 8, size);
                // Some writers keep the JPEG-style "Exif\0\0" prefix.
                if (starts_with(exif, 0, std::string_view("Exif\0\0", 6))) exif = exif.subspan(6);
                orientation = tiff_orientation(exif);
                break;
            }
            pos += 8 + size + (size & 1);  // chunks are padded to an even size
        }
        return make_info(ImageFormat::webp, std::int64_t{le24(payload + 4)} + 1,
                         std::int64_t{le24(payload + 7)} + 1, orientation);
    }
    unreadable("WebP file has an unknown first chunk");
}

// --- BMP --------------------------------------------------------------------------------------

struct BmpHeader {
    std::int64_t width = 0, height = 0;
    std::uint32_t data_offset = 0, bit_count = 0, compression = 0, image_size = 0;
};

BmpHeader read_bmp(Bytes b) {
    // BITMAPFILEHEADER (14 bytes), then BITMAPINFOHEADER or a later version (>= 40 bytes).
    if (!fits(b, 14, 40) || le32(b, 14) < 40) {
        unreadable("BMP header is truncated or uses an unsupported (pre-Windows 3) info header");
    }
    BmpHeader h;
    h.data_offset = le32(b, 10);
    h.width = static_cast<std::int32_t>(le32(b, 18));
    h.height = std::abs(std::int64_t{static_cast<std::int32_t>(le32(b, 22))});  // < 0: top-down
    h.bit_count = le16(b, 28);
    h.compression = le32(b, 30);
    h.image_size = le32(b, 34);
    return h;
}

// --- completeness -----------------------------------------------------------------------------

// Decoders disagree on truncated input (libjpeg pads with grey and only warns), so we refuse it
// ourselves: the data must reach the end marker the format defines.
bool is_complete(Bytes b, const ImageInfo& info) {
    // End markers may be followed by junk some writers append; look only at the tail.
    constexpr std::size_t tail = 64 * 1024;
    const std::size_t tail_start = b.size() > tail ? b.size() - tail : 0;
    switch (info.format) {
        case ImageFormat::jpeg: {
            // EOI after the first scan: an EOI earlier on could belong to an Exif thumbnail.
            const std::size_t scan = walk_jpeg(b).scan_start;
            if (scan == 0) return false;
            for (std::size_t i = b.size() - 1; i > std::max(tail_start, scan); --i) {
                if (b[i - 1] == 0xFF && b[i] == 0xD9) return true;
            }
            return false;
        }
        case ImageFormat::png: {
            // An IEND chunk: zero length, type, fixed CRC.
            constexpr std::string_view iend("\0\0\0\0IEND\xAE\x42\x60\x82", 12);
            constexpr std::size_t after_ihdr = 33;
            if (b.size() < after_ihdr + iend.size()) return false;
            for (std::size_t i = b.size() - iend.size(); i >= std::max(tail_start, after_ihdr); --i) {
                if (starts_with(b, i, iend)) return true;
            }
            return false;
        }
        case ImageFormat::webp: return std::size_t{le32(b, 4)} + 8 <= b.size();
        case ImageFormat::bmp: {
            const BmpHeader h = read_bmp(b);
            std::uint64_t pixel_bytes = h.image_size;
            if (h.compression == 0 || h.compression == 3) {  // BI_RGB, BI_BITFIELDS: rows of pixels
                const std::uint64_t stride =
                    (static_cast<std::uint64_t>(h.width) * h.bit_count + 31) / 32 * 4;
                pixel_bytes = stride * static_cast<std::uint64_t>(h.height);
            }
            return pixel_bytes > 0 && h.data_offset + pixel_bytes <= b.size();
        }
    }
    return false;
}

void check_limits(const ImageInfo& info, const ImageLimits& limits) {
    const std::int64_t pixels = std::int64_t{info.width} * info.height;
    if (info.width > limits.max_side || info.height > limits.max_side || pixels > limits.max_pixels) {
        throw Error(ErrorCode::image_too_large,
                    "image is " + std::to_string(info.width) + "x" + std::to_string(info.height) + " (" +
                        std::to_string(pixels) + " pixels); the limits are " +
                        std::to_string(limits.max_side) + " pixels per side and " +
                        std::to_string(limits.max_pixels) + " pixels in total");
    }
}

// EXIF orientation says how the stored pixels must be transformed for display (TIFF 6.0, tag 274).
cv::Mat apply_orientation(cv::Mat image, int orientation) {
    cv::Mat out;
    switch (orientation) {
        case 2: cv::flip(image, out, 1); break;  // mirror horizontally
        case 3: cv::rotate(image, out, cv::ROTATE_180); break;
        case 4: cv::flip(image, out, 0); break;    // mirror vertically
        case 5: cv::transpose(image, out); break;  // mirror along the main diagonal
        case 6: cv::rotate(image, out, cv::ROTATE_90_CLOCKWISE); break;
        case 7:  // mirror along the anti-diagonal
            cv::transpose(image, out);
            cv::flip(out, out, -1);
            break;
        case 8: cv::rotate(image, out, cv::ROTATE_90_COUNTERCLOCKWISE); break;
        default: return image;
    }
    return out;
}

}  // namespace

std::string_view to_string(ImageFormat format) noexcept {
    switch (format) {
        case ImageFormat::jpeg: return "jpeg";
        case ImageFormat::png: return "png";
        case ImageFormat::webp: return "webp";
        case ImageFormat::bmp: return "bmp";
    }
    return "unknown";
}

ImageInfo probe_image(Bytes bytes) {
    if (bytes.empty()) unreadable("empty image data");
    if (fits(bytes, 0, 3) && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF)
        return probe_jpeg(bytes);
    if (starts_with(bytes, 0, png_signature)) return probe_png(bytes);
    if (starts_with(bytes, 0, "RIFF") && starts_with(bytes, 8, "WEBP")) return probe_webp(bytes);
    if (starts_with(bytes, 0, "BM")) {
        const BmpHeader h = read_bmp(bytes);
        return make_info(ImageFormat::bmp, h.width, h.height, 1);
    }
    unreadable("unsupported or unrecognised image format (expected JPEG, PNG, WebP or BMP)");
}

ImageInfo probe_image_within(Bytes bytes, const ImageLimits& limits) {
    if (bytes.size() > limits.max_bytes || bytes.size() > static_cast<std::size_t>(INT_MAX)) {
        throw Error(ErrorCode::image_too_large, "image data is " + std::to_string(bytes.size()) +
                                                    " bytes; the limit is " +
                                                    std::to_string(limits.max_bytes) + " bytes");
    }
    const ImageInfo info = probe_image(bytes);
    check_limits(info, limits);
    return info;
}

cv::Mat decode_image(Bytes bytes, const ImageLimits& limits) {
    const ImageInfo info = probe_image_within(bytes, limits);
    if (!is_complete(bytes, info)) {
        unreadable(std::string(to_string(info.format)) + " image data is truncated or incomplete");
    }
    // OpenCV's own size guard (OPENCV_IO_MAX_IMAGE_PIXELS) is read once when libopencv_imgcodecs
    // is loaded, so it cannot be tightened from here; the deployment may set it in the
    // environment. The header check above is what protects us.
    //
    // JPEG (nearly every photo) goes to libjpeg-turbo directly (jpeg_decoder.hpp: BGR written by
    // libjpeg, the scan count and memory bounded); the rest to OpenCV, whose work is bounded by
    // the pixel count. IGNORE_ORIENTATION: we apply the orientation we probed ourselves, so it
    // happens exactly once and identically for every format and OpenCV version.
    //
    // cv::imdecode picks its decoder by its own signature tests, in a fixed order. For PNG and BMP
    // the test is the same magic we probed, but OpenCV's WebP decoder claims only data whose first
    // 32 bytes libwebp's WebPGetFeatures accepts; other RIFF/WEBP data went on to the next decoder
    // that claims it, such as GDCM's DICOM reader ("DICM" at offset 128), which allocated 2.7 GB
    // for a 271-byte input (found by fuzz/fuzz_image.cpp). So the WebP decoder must claim it.
    if (info.format == ImageFormat::webp) {
        constexpr std::size_t kOpenCvWebpSignature = 32;  // OpenCV's WEBP_HEADER_SIZE
        WebPBitstreamFeatures features;
        if (bytes.size() < kOpenCvWebpSignature ||
            WebPGetFeatures(bytes.data(), kOpenCvWebpSignature, &features) != VP8_STATUS_OK) {
            unreadable("webp image header is malformed");
        }
    }
    cv::Mat image;
    if (info.format == ImageFormat::jpeg) {
        image = decode_jpeg_bgr(bytes, limits.max_pixels);
    } else {
        try {
            const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8U,
                                  const_cast<std::uint8_t*>(bytes.data()));
            image = cv::imdecode(encoded, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
        } catch (const cv::Exception& e) {
            unreadable(std::string(to_string(info.format)) + " image could not be decoded: " + e.err);
        }
    }
    if (image.empty()) unreadable(std::string(to_string(info.format)) + " image could not be decoded");
    // The limits were checked against the header; a decoder that disagrees with it is not trusted.
    if (image.cols != info.width || image.rows != info.height || image.type() != CV_8UC3) {
        unreadable(std::string(to_string(info.format)) +
                   " image decoded to a different size than its header declares");
    }
    return apply_orientation(image, info.exif_orientation);
}

std::vector<std::uint8_t> read_file_limited(const std::filesystem::path& path, std::size_t max_bytes) {
    // Only regular files, size checked before reading (src/util/input_file.hpp); images keep their
    // own code for "too large".
    return read_input_file(path, max_bytes, "image file", ErrorCode::image_too_large);
}

cv::Mat load_image(const std::filesystem::path& path, const ImageLimits& limits) {
    const std::vector<std::uint8_t> bytes = read_file_limited(path, limits.max_bytes);
    try {
        return decode_image(bytes, limits);
    } catch (const Error& e) {
        throw Error(e.code(), path.string() + ": " + e.what());  // say which file was at fault
    }
}

}  // namespace faceproof
