// Test inputs for the web page's end-to-end test (tests/e2e, scripts/test_web.sh).
//
//   faceproof_fake_camera IMAGE OUT.y4m [--frames N] [--width W] [--height H]
//     A YUV4MPEG2 clip (C420jpeg, i.e. planar I420, 30 fps) for Chromium's
//     --use-file-for-fake-video-capture: IMAGE (a face image, e.g. a --crop-face output) centred on
//     a W x H canvas (default 640 x 480) over a blurred, darkened fill of itself, as a webcam would
//     show it. To give the clip a little life, the frames sway: a small scale and shift along a
//     closed path, so that Chromium's endless replay of the file has no jump. N defaults to 60 (2 s).
//
//   faceproof_fake_camera --crop-face PHOTO OUT.jpg [--margin M] [--size S] [--grey] [--models DIR]
//     A single-face crop of the most prominent face of PHOTO (a group photo): the face box widened
//     by M (default 0.6) of its size on each side, narrowed if that would take in another face;
//     what is left of any other face is blurred away. The crop is scaled so its longer side is S
//     pixels (default: unscaled); --grey makes it greyscale, like many printed ID portraits.
//     Writes JPEG quality 90.
//
// Exit status: 0 done, 2 failure (message on stderr), 64 usage.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "tool_args.hpp"
#include "faceproof/engine.hpp"
#include "faceproof/error.hpp"
#include "faceproof/image.hpp"
#include "faceproof/models.hpp"

using namespace faceproof;

namespace {

constexpr const char* kUsage =
    "usage: faceproof_fake_camera IMAGE OUT.y4m [--frames N] [--width W] [--height H]\n"
    "       faceproof_fake_camera --crop-face PHOTO OUT.jpg [--margin M] [--size S] [--grey] [--models DIR]\n";

using faceproof::tools::UsageError;
using faceproof::tools::parse_double;
using faceproof::tools::parse_int;


// ---------------------------------------------------------------------------------------------
// Y4M clip

// The image scaled to fit (contain) in the canvas at `scale` of the fitting size, centred and moved
// by (dx, dy) pixels, over a blurred, darkened cover-fit of itself.
cv::Mat compose_frame(const cv::Mat& image, const cv::Mat& background, cv::Size canvas, double scale, double dx,
                      double dy) {
    cv::Mat frame = background.clone();
    const double fit = std::min(double(canvas.width) / image.cols, double(canvas.height) / image.rows) * scale;
    const double cx = canvas.width / 2.0 + dx, cy = canvas.height / 2.0 + dy;
    // Affine map image -> canvas: scale about the image centre, then centre on (cx, cy).
    cv::Mat m = (cv::Mat_<double>(2, 3) << fit, 0, cx - fit * image.cols / 2.0, 0, fit, cy - fit * image.rows / 2.0);
    cv::warpAffine(image, frame, m, canvas, cv::INTER_LINEAR, cv::BORDER_TRANSPARENT);
    return frame;
}

cv::Mat make_background(const cv::Mat& image, cv::Size canvas) {
    const double cover = std::max(double(canvas.width) / image.cols, double(canvas.height) / image.rows);
    cv::Mat scaled;
    cv::resize(image, scaled, {}, cover, cover, cv::INTER_AREA);
    const cv::Rect centre((scaled.cols - canvas.width) / 2, (scaled.rows - canvas.height) / 2, canvas.width,
                          canvas.height);
    cv::Mat background = scaled(centre).clone();
    cv::GaussianBlur(background, background, {0, 0}, 25);
    background.convertTo(background, -1, 0.6, 0);  // darker, so the face itself stands out
    return background;
}

int write_y4m(const std::string& image_path, const std::string& out_path, int frames, int width, int height) {
    const cv::Mat image = load_image(image_path);
    const cv::Size canvas(width, height);
    const cv::Mat background = make_background(image, canvas);

    std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(ErrorCode::io_error, "cannot write " + out_path);
    // C420jpeg: 4:2:0 planar (I420 layout: Y, then U, then V), as Chromium's Y4M reader expects.
    out << "YUV4MPEG2 W" << width << " H" << height << " F30:1 Ip A1:1 C420jpeg\n";

    const double two_pi = 2.0 * std::acos(-1.0);
    cv::Mat yuv;
    for (int i = 0; i < frames; ++i) {
        // One closed loop over the clip: scale 0.90 +- 0.03, shift +-8 px across, +-4 px up and down.
        const double t = two_pi * i / frames;
        const double scale = 0.90 + 0.03 * std::sin(t);
        const double dx = 8.0 * std::sin(t + 1.0), dy = 4.0 * std::sin(2.0 * t);
        const cv::Mat frame = compose_frame(image, background, canvas, scale, dx, dy);
        cv::cvtColor(frame, yuv, cv::COLOR_BGR2YUV_I420);  // (H * 3/2) x W, one channel, planar
        out << "FRAME\n";
        out.write(reinterpret_cast<const char*>(yuv.data), static_cast<std::streamsize>(yuv.total()));
    }
    out.close();
    if (!out) throw Error(ErrorCode::io_error, "cannot write " + out_path);
    std::cout << "wrote " << out_path << " (" << width << "x" << height << ", " << frames << " frames, 30 fps)\n";
    return 0;
}

// ---------------------------------------------------------------------------------------------
// Single-face crop

cv::Rect widen(const cv::Rect2f& box, double margin, cv::Size bounds) {
    const cv::Rect2f wide(float(box.x - margin * box.width), float(box.y - margin * box.height),
                          float(box.width * (1 + 2 * margin)), float(box.height * (1 + 2 * margin)));
    return cv::Rect(wide) & cv::Rect(0, 0, bounds.width, bounds.height);
}

bool touches_other_face(const cv::Rect& crop, const std::vector<Face>& faces) {
    for (std::size_t i = 1; i < faces.size(); ++i)
        if ((crop & cv::Rect(faces[i].box)).area() > 0) return true;
    return false;
}

int crop_face(const std::string& photo_path, const std::string& out_path, double margin, int size, bool grey,
              const std::optional<std::filesystem::path>& models) {
    const cv::Mat photo = load_image(photo_path);
    auto engine = Engine::create(ModelSet::open(resolve_model_dir(models)));
    const std::vector<Face> faces = engine->detect(photo);  // most prominent first
    if (faces.empty()) throw Error(ErrorCode::no_face, "no face in " + photo_path);

    // Narrow the margin until no other face's box is in the crop (down to a tenth of the face).
    double m = margin;
    cv::Rect crop = widen(faces[0].box, m, photo.size());
    while (m > 0.1 && touches_other_face(crop, faces)) {
        m = std::max(0.1, m - 0.05);
        crop = widen(faces[0].box, m, photo.size());
    }
    cv::Mat out = photo(crop).clone();
    // Whatever remains of another face is blurred beyond detection.
    for (std::size_t i = 1; i < faces.size(); ++i) {
        cv::Rect other = cv::Rect(faces[i].box) & crop;
        if (other.area() == 0) continue;
        other -= crop.tl();
        const double sigma = std::max(8.0, faces[i].box.width / 4.0);
        cv::GaussianBlur(out(other), out(other), {0, 0}, sigma);
    }
    if (size > 0) {
        const double f = double(size) / std::max(out.cols, out.rows);
        cv::resize(out, out, {}, f, f, f < 1 ? cv::INTER_AREA : cv::INTER_CUBIC);
    }
    if (grey) {
        cv::Mat g;
        cv::cvtColor(out, g, cv::COLOR_BGR2GRAY);
        cv::cvtColor(g, out, cv::COLOR_GRAY2BGR);
    }
    if (!cv::imwrite(out_path, out, {cv::IMWRITE_JPEG_QUALITY, 90}))
        throw Error(ErrorCode::io_error, "cannot write " + out_path);
    std::cout << "wrote " << out_path << " (" << out.cols << "x" << out.rows << ", face 1 of " << faces.size()
              << ", margin " << m << ")\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
        std::vector<std::string> positional;
        bool crop = false, grey = false;
        int frames = 60, width = 640, height = 480, size = 0;
        double margin = 0.6;
        std::optional<std::filesystem::path> models;
        for (std::size_t i = 0; i < args.size(); ++i) {
            const std::string& a = args[i];
            auto value = [&]() -> const std::string& {
                if (i + 1 >= args.size()) throw UsageError{a + " needs a value"};
                return args[++i];
            };
            if (a == "-h" || a == "--help") {
                std::cout << kUsage;
                return 0;
            } else if (a == "--crop-face") {
                crop = true;
            } else if (a == "--grey") {
                grey = true;
            } else if (a == "--frames") {
                frames = parse_int(a, value(), 1, 3000);
            } else if (a == "--width") {
                width = parse_int(a, value(), 16, 4096);
            } else if (a == "--height") {
                height = parse_int(a, value(), 16, 4096);
            } else if (a == "--size") {
                size = parse_int(a, value(), 16, 8192);
            } else if (a == "--margin") {
                margin = parse_double(a, value(), 0.0, 3.0);
            } else if (a == "--models") {
                models = value();
            } else if (a.starts_with("--")) {
                throw UsageError{"unknown option " + a};
            } else {
                positional.push_back(a);
            }
        }
        if (positional.size() != 2) throw UsageError{"expected an input image and an output file"};
        if (crop) return crop_face(positional[0], positional[1], margin, size, grey, models);
        if (width % 2 || height % 2) throw UsageError{"--width and --height must be even (4:2:0 chroma)"};
        return write_y4m(positional[0], positional[1], frames, width, height);
    } catch (const UsageError& e) {
        std::cerr << "faceproof_fake_camera: " << e.message << '\n' << kUsage;
        return 64;
    } catch (const Error& e) {
        std::cerr << "faceproof_fake_camera: " << to_string(e.code()) << ": " << e.what() << '\n';
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "faceproof_fake_camera: " << e.what() << '\n';
        return 2;
    }
}
