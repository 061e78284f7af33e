// faceproof template IMAGE -o FILE, and faceproof compare FILE FILE.
#include <fstream>
#include <iomanip>
#include <iostream>

#include "cli/cli.hpp"
#include "faceproof/engine.hpp"
#include "report/json_report.hpp"
#include "util/input_file.hpp"

namespace faceproof::cli {
namespace {

Template read_template(const std::filesystem::path& path) {
    // Templates are ~2 KiB; anything far larger is not one.
    const auto bytes = read_input_file(path, input_limit::template_file, "template file");
    try {
        return parse_template(bytes);
    } catch (const Error& e) {
        throw Error(e.code(), path.string() + ": " + e.what());
    }
}

// The thresholds hold only for templates of the model (id) and model file (SHA-256, when the
// calibration records it) that were calibrated.
void check_calibrated(const Template& t, const std::filesystem::path& path, const Calibration& calibration) {
    if (t.model_id != calibration.model_id())
        throw Error(ErrorCode::template_mismatch, path.string() + ": template model '" + t.model_id +
                                                      "' is not the calibrated one ('" + calibration.model_id() + "')");
    if (!calibration.model_sha256().empty() && t.model_sha256 != calibration.model_sha256())
        throw Error(ErrorCode::template_mismatch, path.string() + ": template made by the model file with SHA-256 " +
                                                      t.model_sha256 + ", the calibration by " +
                                                      calibration.model_sha256());
}

void write_file_atomically(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
    const std::filesystem::path temporary = path.string() + ".tmp";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        if (!out) throw Error(ErrorCode::io_error, "cannot write " + temporary.string());
    }
    std::error_code ec;
    std::filesystem::rename(temporary, path, ec);
    if (ec) throw Error(ErrorCode::io_error, "cannot write " + path.string() + ": " + ec.message());
}

}  // namespace

void register_template(CLI::App& app, Context& context) {
    struct Args {
        std::filesystem::path image, output, first, second;
        double fmr = kDefaultFmr;
        std::optional<std::filesystem::path> calibration;
    };
    auto args = std::make_shared<Args>();

    auto* make = app.add_subcommand("template", "Write the template (512-D, versioned binary) of the most "
                                                "prominent face of IMAGE");
    make->add_option("IMAGE", args->image, "Image file")->required();
    make->add_option("-o,--output", args->output, "Template file to write")->required();
    add_json_flag(*make, context);
    make->callback([&context, args] {
        context.action = [&context, args] {
            const cv::Mat image = load_image(args->image);
            auto engine = Engine::create(context.open_models());
            const FaceContext face = engine->analyze(image);
            write_file_atomically(args->output, serialize_template(face.face_template()));
            nlohmann::json j = context_json(face);
            j["template"] = args->output.string();
            j["template_model"] = face.face_template().model_id;
            print(context, j, [&](std::ostream& out) {
                out << "wrote " << args->output.string() << " (" << face.face_template().model_id << ", "
                    << face.face_template().values.size() << " dimensions)\n";
            });
            return exit_ok;
        };
    });

    auto* compare = app.add_subcommand("compare", "Compare two template files. Exit 0 = same person, 1 = not");
    compare->add_option("FIRST", args->first, "Template file")->required();
    compare->add_option("SECOND", args->second, "Template file")->required();
    compare->add_option("--fmr", args->fmr, "Target false-match rate")->default_val(kDefaultFmr);
    compare->add_option("--calibration", args->calibration, "Calibration file (default: the shipped one)");
    add_json_flag(*compare, context);
    compare->callback([&context, args] {
        context.action = [&context, args] {
            const Calibration calibration =
                args->calibration ? Calibration::load(*args->calibration) : Calibration::shipped();
            const Template a = read_template(args->first);
            const Template b = read_template(args->second);
            const double s = similarity(a, b);  // template_mismatch unless both come from one model file
            check_calibrated(a, args->first, calibration);
            check_calibrated(b, args->second, calibration);
            const double threshold = calibration.threshold_for(args->fmr);
            const bool match = s >= threshold;
            print(context,
                  {{"match", match}, {"similarity", s}, {"threshold", threshold}, {"fmr", args->fmr},
                   {"template_model", a.model_id}},
                  [&](std::ostream& out) {
                      out << (match ? "MATCH" : "NO MATCH") << ": similarity " << std::fixed << std::setprecision(4)
                          << s << (match ? " >= " : " < ") << "threshold " << threshold << '\n';
                  });
            return match ? exit_ok : exit_no_match;
        };
    });
}

}  // namespace faceproof::cli
