// faceproof detect IMAGE — every face with box, score, rotation and landmarks.
#include <iomanip>
#include <iostream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "cli/cli.hpp"
#include "faceproof/engine.hpp"
#include "report/json_report.hpp"

namespace faceproof::cli {
namespace {

void draw_faces(const cv::Mat& image, const std::vector<Face>& faces, const std::filesystem::path& out) {
    cv::Mat canvas = image.clone();
    const int thickness = std::max(1, std::max(image.cols, image.rows) / 400);
    for (std::size_t i = 0; i < faces.size(); ++i) {
        const Face& f = faces[i];
        const cv::Scalar colour = i == 0 ? cv::Scalar(0, 200, 0) : cv::Scalar(0, 160, 255);
        cv::rectangle(canvas, cv::Rect(f.box), colour, thickness);
        for (const auto& p : f.landmarks68) cv::circle(canvas, p, thickness, cv::Scalar(255, 200, 0), cv::FILLED);
        for (const auto& p : f.landmarks5) cv::circle(canvas, p, thickness * 2, cv::Scalar(0, 0, 255), cv::FILLED);
        std::ostringstream label;
        label << std::fixed << std::setprecision(2) << f.detection_score;
        cv::putText(canvas, label.str(), cv::Point(f.box.tl()) + cv::Point(0, -4 * thickness), cv::FONT_HERSHEY_SIMPLEX,
                    0.4 * thickness, colour, thickness);
    }
    bool written = false;
    try {
        written = cv::imwrite(out.string(), canvas);
    } catch (const cv::Exception& e) {
        throw Error(ErrorCode::io_error, "cannot write " + out.string() + ": " + e.what());
    }
    if (!written) throw Error(ErrorCode::io_error, "cannot write " + out.string() + " (unknown extension or unwritable)");
}

}  // namespace

void register_detect(CLI::App& app, Context& context) {
    struct Args {
        std::filesystem::path image;
        std::optional<std::filesystem::path> draw;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("detect", "Find faces: boxes, scores, rotation, 68 and 5 landmarks. "
                                             "Exit 0 = at least one face, 2 = none or unreadable image");
    cmd->add_option("IMAGE", args->image, "Image file (JPEG, PNG, WebP, BMP)")->required();
    cmd->add_option("--draw", args->draw, "Write an annotated copy of the image (PNG or JPEG)");
    add_json_flag(*cmd, context);
    cmd->callback([&context, args] {
        context.action = [&context, args] {
            const cv::Mat image = load_image(args->image);
            auto engine = Engine::create(context.open_models());
            StageTimings timings;
            const std::vector<Face> faces = engine->detect(image, &timings);
            if (args->draw) draw_faces(image, faces, *args->draw);
            if (faces.empty()) throw Error(ErrorCode::no_face, "no face found in " + args->image.string());
            nlohmann::json j{{"image", {{"width", image.cols}, {"height", image.rows}}},
                             {"faces", nlohmann::json::array()},
                             {"timing_ms", timings_json(timings)}};
            for (const Face& f : faces) j["faces"].push_back(face_json(f, true));
            print(context, j, [&](std::ostream& out) {
                out << faces.size() << (faces.size() == 1 ? " face" : " faces") << " in " << args->image.string()
                    << " (" << image.cols << "x" << image.rows << "), most prominent first\n";
                for (const Face& f : faces) {
                    out << std::fixed << std::setprecision(0) << "  box [" << f.box.x << ", " << f.box.y << ", "
                        << f.box.width << ", " << f.box.height << "] score " << std::setprecision(3)
                        << f.detection_score << " rotation " << f.rotation << '\n';
                }
            });
            return exit_ok;
        };
    });
}

}  // namespace faceproof::cli
