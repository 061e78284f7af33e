#include "image/jpeg_decoder.hpp"

#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE
#include <string>

#include <jpeglib.h>

#include "faceproof/error.hpp"

namespace faceproof {
namespace {

struct ErrorManager {
    jpeg_error_mgr base;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

// libjpeg's fatal errors must not return; the jump lands in decode_jpeg_bgr, whose C++ objects
// were all constructed before setjmp (no destructor is skipped) and are not changed after the
// setjmp in force (their values stay determinate).
void on_fatal_error(j_common_ptr cinfo) {
    auto* errors = reinterpret_cast<ErrorManager*>(cinfo->err);
    errors->base.format_message(cinfo, errors->message);
    std::longjmp(errors->jump, 1);
}

void ignore_message(j_common_ptr) {}

[[noreturn]] void fail(jpeg_decompress_struct& cinfo, const ErrorManager& errors) {
    jpeg_destroy_decompress(&cinfo);
    throw Error(ErrorCode::image_unreadable, std::string("jpeg image could not be decoded: ") + errors.message);
}

}  // namespace

cv::Mat decode_jpeg_bgr(std::span<const std::uint8_t> bytes) {
    cv::Mat image;
    jpeg_decompress_struct cinfo{};
    ErrorManager errors{};
    cinfo.err = jpeg_std_error(&errors.base);
    errors.base.error_exit = on_fatal_error;
    errors.base.output_message = ignore_message;
    if (setjmp(errors.jump) != 0) fail(cinfo, errors);
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.jpeg_color_space != JCS_YCbCr && cinfo.jpeg_color_space != JCS_GRAYSCALE &&
        cinfo.jpeg_color_space != JCS_RGB) {
        jpeg_destroy_decompress(&cinfo);
        return image;
    }
    cinfo.out_color_space = JCS_EXT_BGR;
    jpeg_start_decompress(&cinfo);
    image.create(static_cast<int>(cinfo.output_height), static_cast<int>(cinfo.output_width), CV_8UC3);
    if (setjmp(errors.jump) != 0) fail(cinfo, errors);  // from here on only image's pixels change
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = image.ptr(static_cast<int>(cinfo.output_scanline));
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return image;
}

}  // namespace faceproof
