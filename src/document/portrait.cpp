#include "document/portrait.hpp"

#include <cstdint>
#include <span>
#include <string>

#include <opencv2/imgcodecs.hpp>

#include "faceproof/error.hpp"

namespace faceproof {
namespace {

using Bytes = std::span<const std::uint8_t>;

std::uint32_t be32(Bytes b, std::size_t at) {
    return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) | (std::uint32_t{b[at + 2]} << 8) | b[at + 3];
}

[[noreturn]] void unreadable(const std::string& why) {
    throw Error(ErrorCode::image_unreadable, "chip portrait (JPEG 2000): " + why);
}

struct Size {
    std::uint64_t width = 0, height = 0;
};

// SIZ right after SOC (FF4F FF51): Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz (ISO/IEC 15444-1 A.5.1).
Size codestream_size(Bytes b) {
    if (b.size() < 4 + 2 + 2 + 16 || b[0] != 0xFF || b[1] != 0x4F || b[2] != 0xFF || b[3] != 0x51)
        unreadable("no SIZ marker after the start of the codestream");
    const std::uint32_t x = be32(b, 8), y = be32(b, 12), x0 = be32(b, 16), y0 = be32(b, 20);
    if (x <= x0 || y <= y0) unreadable("SIZ gives an empty image");
    return {std::uint64_t{x} - x0, std::uint64_t{y} - y0};
}

// The JP2 file format: boxes of (u32 length, u32 type); 'jp2h' holds 'ihdr' (height, width, ...).
Size jp2_size(Bytes b, int depth = 0) {
    std::size_t at = 0;
    while (at + 8 <= b.size()) {
        std::uint64_t length = be32(b, at);
        const std::uint32_t type = be32(b, at + 4);
        std::size_t header = 8;
        if (length == 1) {
            if (at + 16 > b.size()) unreadable("truncated box header");
            length = (std::uint64_t{be32(b, at + 8)} << 32) | be32(b, at + 12);
            header = 16;
        } else if (length == 0) {
            length = b.size() - at;  // the last box runs to the end
        }
        if (length < header || length > b.size() - at) unreadable("a box's length runs past the data");
        const Bytes content = b.subspan(at + header, static_cast<std::size_t>(length) - header);
        if (type == 0x6A703268 /* jp2h */ && depth == 0) return jp2_size(content, depth + 1);
        if (type == 0x69686472 /* ihdr */ && depth == 1) {
            if (content.size() < 14) unreadable("ihdr box too short");
            return {be32(content, 4), be32(content, 0)};
        }
        at += static_cast<std::size_t>(length);
    }
    unreadable("no image header (ihdr) box");
}

}  // namespace

cv::Mat decode_portrait(const DocumentPortrait& portrait, const ImageLimits& limits) {
    const Bytes bytes(portrait.image);
    if (portrait.format == "jpeg") {
        try {
            return decode_image(bytes, limits);
        } catch (const Error& e) {
            throw Error(e.code(), std::string("chip portrait: ") + e.what());
        }
    }
    if (portrait.format != "jp2")
        throw Error(ErrorCode::image_unreadable, "chip portrait: format \"" + portrait.format + "\" is not decoded");
    if (bytes.size() > limits.max_bytes)
        throw Error(ErrorCode::image_too_large, "chip portrait: " + std::to_string(bytes.size()) + " bytes");
    const bool codestream = bytes.size() >= 2 && bytes[0] == 0xFF && bytes[1] == 0x4F;
    const Size size = codestream ? codestream_size(bytes) : jp2_size(bytes);
    if (size.width > static_cast<std::uint64_t>(limits.max_side) || size.height > static_cast<std::uint64_t>(limits.max_side) ||
        size.width * size.height > static_cast<std::uint64_t>(limits.max_pixels))
        throw Error(ErrorCode::image_too_large, "chip portrait: " + std::to_string(size.width) + "x" +
                                                    std::to_string(size.height) + " is over the image limits");
    const cv::Mat encoded(1, static_cast<int>(bytes.size()), CV_8U, const_cast<std::uint8_t*>(bytes.data()));
    cv::Mat image;
    try {
        image = cv::imdecode(encoded, cv::IMREAD_COLOR);
    } catch (const cv::Exception& e) {
        unreadable(std::string("the decoder failed: ") + e.what());
    }
    if (image.empty()) unreadable("the decoder could not read it");
    if (static_cast<std::uint64_t>(image.cols) != size.width || static_cast<std::uint64_t>(image.rows) != size.height)
        unreadable("decoded size differs from the header's");
    return image;
}

}  // namespace faceproof
