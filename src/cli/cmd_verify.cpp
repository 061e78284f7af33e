// faceproof verify REFERENCE PROBE — is the probe the person of the reference (ID portrait)?
#include <chrono>
#include <iomanip>
#include <iostream>

#include "cli/cli.hpp"
#include "faceproof/engine.hpp"
#include "report/json_report.hpp"

namespace faceproof::cli {
namespace {

cv::Mat load_as(const std::filesystem::path& path, const char* role) {
    try {
        return load_image(path);
    } catch (const Error& e) {
        throw Error(e.code(), std::string(role) + " image: " + e.what());
    }
}

void print_side(std::ostream& out, const char* role, const FaceAnalysis& a) {
    const auto& b = a.face.box;
    out << std::setw(10) << std::left << role << a.face_count << (a.face_count == 1 ? " face" : " faces")
        << ", box [" << std::fixed << std::setprecision(0) << b.x << ", " << b.y << ", " << b.width << ", "
        << b.height << "], detection score " << std::setprecision(3) << a.face.detection_score;
    if (a.face.rotation) out << ", found after rotating " << a.face.rotation << "° clockwise";
    out << '\n';
}

}  // namespace

void register_verify(CLI::App& app, Context& context) {
    struct Args {
        std::filesystem::path reference, probe;
        double fmr = kDefaultFmr;
        std::optional<std::filesystem::path> calibration;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("verify", "Compare a reference (ID portrait) with a probe (live capture). "
                                             "Exit 0 = same person, 1 = not the same, 2 = cannot decide, 64 = usage");
    cmd->add_option("REFERENCE", args->reference, "Reference image (ID document portrait)")->required();
    cmd->add_option("PROBE", args->probe, "Probe image (live capture)")->required();
    cmd->add_option("--fmr", args->fmr, "Target false-match rate (calibrated: 1e-2 .. 1e-5)")
        ->default_val(kDefaultFmr)->check(CLI::Range(1e-9, 0.5));
    cmd->add_option("--calibration", args->calibration, "Calibration file (default: the shipped one)");
    add_json_flag(*cmd, context);
    cmd->callback([&context, args] {
        context.action = [&context, args] {
            const Calibration calibration =
                args->calibration ? Calibration::load(*args->calibration) : Calibration::shipped();
            calibration.threshold_for(args->fmr);  // an uncalibrated --fmr is a usage error, found before any work
            const auto start = std::chrono::steady_clock::now();
            const cv::Mat reference = load_as(args->reference, "reference");
            const cv::Mat probe = load_as(args->probe, "probe");
            const double decode_ms =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
            auto engine = Engine::create(context.open_models());
            VerifyResult r = verify(*engine, calibration, reference, probe, args->fmr);
            r.reference.timings["decode"] = decode_ms;  // both images; verify_json adds the stages up
            print(context, verify_json(r), [&](std::ostream& out) {
                out << (r.match ? "MATCH" : "NO MATCH") << ": similarity " << std::fixed << std::setprecision(4)
                    << r.similarity << (r.match ? " >= " : " < ") << "threshold " << r.threshold << " (FMR "
                    << std::scientific << std::setprecision(0) << r.fmr << ")\n";
                print_side(out, "reference", r.reference);
                print_side(out, "probe", r.probe);
            });
            return r.match ? exit_ok : exit_no_match;
        };
    });
}

}  // namespace faceproof::cli
