#include "image/jpeg_decoder.hpp"

#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE
#include <string>
#include <vector>

#include <jpeglib.h>
#include <jerror.h>

#include "faceproof/error.hpp"

namespace faceproof {
namespace {

// Above what the coefficient buffers of the largest allowed image need (4 components, 2 bytes per
// coefficient): room for libjpeg's working buffers.
constexpr std::int64_t kMemorySlack = 64ll << 20;

struct ErrorManager {
    jpeg_error_mgr base;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    bool too_much_work = false;  // the scan or memory cap, not damaged data
};

// libjpeg's fatal errors must not return; the jump lands in decode_jpeg_bgr, whose C++ objects
// were all constructed before setjmp (no destructor is skipped) and are not changed after the
// setjmp in force (their values stay determinate).
void on_fatal_error(j_common_ptr cinfo) {
    auto* errors = reinterpret_cast<ErrorManager*>(cinfo->err);
    errors->base.format_message(cinfo, errors->message);
    const int code = errors->base.msg_code;
    if (code == JERR_OUT_OF_MEMORY || code == JERR_NO_BACKING_STORE) errors->too_much_work = true;
    std::longjmp(errors->jump, 1);
}

void ignore_message(j_common_ptr) {}

// Called by libjpeg between units of work; input_scan_number counts the scans read so far.
void check_scan_count(j_common_ptr cinfo) {
    const auto* decompress = reinterpret_cast<j_decompress_ptr>(cinfo);
    if (decompress->input_scan_number <= kMaxJpegScans) return;
    auto* errors = reinterpret_cast<ErrorManager*>(cinfo->err);
    std::snprintf(errors->message, sizeof errors->message,
                  "it has more than %d scans (a limit on decoding work; encoders write a few dozen at most)",
                  kMaxJpegScans);
    errors->too_much_work = true;
    std::longjmp(errors->jump, 1);
}

[[noreturn]] void fail(jpeg_decompress_struct& cinfo, const ErrorManager& errors) {
    jpeg_destroy_decompress(&cinfo);
    if (errors.too_much_work)
        throw Error(ErrorCode::image_too_large, std::string("jpeg image refused: ") + errors.message);
    throw Error(ErrorCode::image_unreadable, std::string("jpeg image could not be decoded: ") + errors.message);
}

// OpenCV's conversion (icvCvt_CMYK2BGR_8u_C4C3R): Adobe applications write CMYK inverted.
void cmyk_row_to_bgr(const JSAMPLE* cmyk, std::uint8_t* bgr, int width) {
    for (int x = 0; x < width; ++x, cmyk += 4, bgr += 3) {
        const int k = cmyk[3];
        bgr[2] = static_cast<std::uint8_t>(k - ((255 - cmyk[0]) * k >> 8));
        bgr[1] = static_cast<std::uint8_t>(k - ((255 - cmyk[1]) * k >> 8));
        bgr[0] = static_cast<std::uint8_t>(k - ((255 - cmyk[2]) * k >> 8));
    }
}

}  // namespace

cv::Mat decode_jpeg_bgr(std::span<const std::uint8_t> bytes, std::int64_t max_pixels) {
    cv::Mat image;
    std::vector<JSAMPLE> cmyk_row;
    jpeg_decompress_struct cinfo{};
    ErrorManager errors{};
    jpeg_progress_mgr progress{};
    progress.progress_monitor = check_scan_count;
    cinfo.err = jpeg_std_error(&errors.base);
    errors.base.error_exit = on_fatal_error;
    errors.base.output_message = ignore_message;
    if (setjmp(errors.jump) != 0) fail(cinfo, errors);
    jpeg_create_decompress(&cinfo);
    cinfo.progress = &progress;
    cinfo.mem->max_memory_to_use = static_cast<long>(8 * max_pixels + kMemorySlack);
    jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(&cinfo, TRUE);
    const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_EXT_BGR;
    jpeg_start_decompress(&cinfo);  // a progressive file's scans are all read here
    image.create(static_cast<int>(cinfo.output_height), static_cast<int>(cinfo.output_width), CV_8UC3);
    if (cmyk) cmyk_row.resize(static_cast<std::size_t>(cinfo.output_width) * 4);
    if (setjmp(errors.jump) != 0) fail(cinfo, errors);  // from here on only pixels change
    while (cinfo.output_scanline < cinfo.output_height) {
        std::uint8_t* out = image.ptr(static_cast<int>(cinfo.output_scanline));
        JSAMPROW row = cmyk ? cmyk_row.data() : out;
        if (jpeg_read_scanlines(&cinfo, &row, 1) == 1 && cmyk)
            cmyk_row_to_bgr(cmyk_row.data(), out, static_cast<int>(cinfo.output_width));
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return image;
}

}  // namespace faceproof
