// faceproof quality IMAGE — is this photo good enough for face verification (selfie or ID portrait)?
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/cli.hpp"
#include "faceproof/engine.hpp"
#include "faceproof/quality.hpp"
#include "report/quality_json.hpp"

namespace faceproof::cli {
namespace {

std::string format_native(const MeasureResult& r) {
    if (!r.assessed) return "-";
    std::ostringstream s;
    s << std::setprecision(4) << r.native << ' ' << r.unit;
    return s.str();
}

void print_report(std::ostream& out, const QualityReport& report, const std::filesystem::path& image,
                  const cv::Mat& pixels, std::size_t faces) {
    out << (report.pass ? "PASS" : "FAIL") << " (" << to_string(report.profile) << " profile)";
    if (!report.feedback.empty()) {
        out << ':';
        for (const auto& code : report.feedback) out << ' ' << code;
    }
    out << "\n" << image.string() << " (" << pixels.cols << "x" << pixels.rows << "), " << faces
        << (faces == 1 ? " face" : " faces") << "\n";
    for (const MeasureResult& r : report.measures) {
        out << "  " << std::left << std::setw(25) << r.measure << std::setw(26) << format_native(r);
        if (!r.assessed) {
            out << "not assessed: " << r.failure << '\n';
            continue;
        }
        out << "score " << std::right << std::setw(3) << std::fixed << std::setprecision(0) << r.score << "  "
            << (r.pass ? "pass" : "FAIL " + r.feedback) << std::defaultfloat << '\n';
    }
}

}  // namespace

void register_quality(CLI::App& app, Context& context) {
    struct Args {
        std::filesystem::path image;
        std::string profile = "selfie";
    };
    auto args = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("quality", "Face image quality: pose, eyes, size, sharpness, exposure, framing. "
                                              "Exit 0 = passes the profile, 1 = does not, 2 = unreadable image");
    cmd->add_option("IMAGE", args->image, "Image file (JPEG, PNG, WebP, BMP)")->required();
    cmd->add_option("--profile", args->profile,
                    "selfie (live capture, strict) or document (ID portrait: small, grey, soft faces accepted)")
        ->default_val("selfie")
        ->check(CLI::IsMember({"selfie", "document"}));
    add_json_flag(*cmd, context);
    cmd->callback([&context, args] {
        context.action = [&context, args] {
            const QualityProfile profile = quality_profile_from_string(args->profile);
            const cv::Mat image = load_image(args->image);
            const auto models = context.open_models();
            auto engine = Engine::create(models);
            const FaceContext face = engine->context(image);
            const QualityReport report = QualityAssessor::create()->assess(face, profile);
            nlohmann::json j = quality_json(report);
            j["faces"] = face.faces().size();
            print(context, j,
                  [&](std::ostream& out) { print_report(out, report, args->image, image, face.faces().size()); });
            return report.pass ? exit_ok : exit_no_match;
        };
    });
}

}  // namespace faceproof::cli
