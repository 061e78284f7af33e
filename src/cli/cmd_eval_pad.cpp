// faceproof eval pad — the options and the output of the PAD evaluation (src/eval/pad_evaluation.hpp):
// error rates of the passive liveness score on a labelled set and, with --calibrate-out, the
// shipped threshold chosen on a subject-disjoint calibration part of the set.
#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "cli/cli.hpp"
#include "cli/progress.hpp"
#include "faceproof/image.hpp"
#include "faceproof/liveness.hpp"
#include "eval/det_plot.hpp"
#include "eval/pad_evaluation.hpp"

namespace faceproof::cli {
namespace {

void print_metrics(std::ostream& out, const std::string& title, const nlohmann::json& m) {
    const auto pct = [](const nlohmann::json& v) {
        std::ostringstream s;
        s << std::fixed << std::setprecision(2) << 100 * v.get<double>() << '%';
        return s.str();
    };
    out << title << ": " << m["bona_fide"] << " bona fide, " << m["attacks"] << " attacks\n";
    out << "  at threshold " << std::fixed << std::setprecision(4) << m["threshold"].get<double>() << ": APCER "
        << pct(m["apcer"]) << " (worst type: " << m["worst_attack_type"].get<std::string>() << ")  BPCER "
        << pct(m["bpcer"]) << "  ACER " << pct(m["acer"]) << "  (pooled APCER " << pct(m["apcer_pooled"]) << ")\n";
    for (const auto& [type, t] : m["per_attack_type"].items())
        out << "    " << std::left << std::setw(16) << type << std::right << std::setw(4) << t["accepted"] << " of "
            << std::setw(4) << t["presentations"] << " accepted  APCER " << pct(t["apcer"]) << '\n';
    for (const auto& [key, target] : kPadApcerTargets) {
        const auto& a = m["bpcer_at_apcer"][key];
        out << "  BPCER at APCER " << std::setprecision(0) << 100 * target << "%: " << pct(a["bpcer"])
            << " (threshold " << std::setprecision(4) << a["threshold"].get<double>() << ", APCER " << pct(a["apcer"])
            << (a["resolvable"].get<bool>() ? "" : "; some attack type too small for this target: none may pass")
            << ")\n";
    }
    const auto& e = m["eer"];
    out << "  equal-error point: APCER " << pct(e["apcer"]) << ", BPCER " << pct(e["bpcer"]) << " (threshold "
        << std::setprecision(4) << e["threshold"].get<double>() << ")\n";
}

}  // namespace

void register_eval_pad(CLI::App& eval, Context& context) {
    struct Args {
        std::filesystem::path root, labels;
        std::optional<std::filesystem::path> det, calibrate_out, calibration;
        std::optional<std::string> calibration_subjects;
        std::optional<std::uint64_t> split_seed;
        double target_apcer = 0.05;
        int threads = 0;
        std::string channel_order = "bgr";
        int live_class = 0;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = eval.add_subcommand(
        "pad", "Presentation-attack detection: APCER / BPCER / ACER (ISO/IEC 30107-3) of the passive liveness score "
               "on a labelled set, per attack type; with --calibrate-out, choose and write the liveness threshold");
    cmd->add_option("--root", args->root, "Image root; the labels' file column is relative to it")
        ->required()->check(CLI::ExistingDirectory);
    cmd->add_option("--labels", args->labels, "labels.csv: file,label(real|spoof),attack_type,subject,...")
        ->required()->check(CLI::ExistingFile);
    cmd->add_option("--det", args->det, "Write the DET plot (BPCER against APCER, probit axes) as a PNG");
    cmd->add_option("--calibration", args->calibration, "Liveness calibration to evaluate (default: the shipped one)");
    auto* out_opt = cmd->add_option("--calibrate-out", args->calibrate_out,
                                    "Choose the threshold on the calibration subjects and write the calibration file");
    auto* subjects_opt = cmd->add_option("--calibration-subjects", args->calibration_subjects,
                                         "Comma-separated calibration subjects (default: the subjects sorted by "
                                         "name, every other one starting with the first)");
    auto* seed_opt = cmd->add_option("--split-seed", args->split_seed,
                                     "Calibration subjects = those whose FNV-1a hash of \"SEED:subject\" is even");
    subjects_opt->excludes(seed_opt)->needs(out_opt);
    seed_opt->needs(out_opt);
    cmd->add_option("--target-apcer", args->target_apcer,
                    "Calibration rule: lowest threshold with the worst attack type's APCER <= this on the "
                    "calibration subjects")
        ->default_val(0.05)->check(CLI::Range(0.0, 0.5));
    cmd->add_option("--threads", args->threads, "Worker threads (default: all cores)");
    // Variants of the preprocessing, to measure the conventions the defaults rest on.
    cmd->add_option("--channel-order", args->channel_order, "Liveness input channel order (measurement)")
        ->check(CLI::IsMember({"rgb", "bgr"}));
    cmd->add_option("--live-class", args->live_class, "Output index taken as live (measurement)")->check(CLI::Range(0, 2));
    add_json_flag(*cmd, context);
    cmd->callback([&context, args] {
        context.action = [&context, args] {
            PadEvaluationOptions options;
            options.root = args->root;
            options.labels = args->labels;
            options.calibration = args->calibration;
            options.calibrate_out = args->calibrate_out;
            options.calibration_subjects = args->calibration_subjects;
            options.split_seed = args->split_seed;
            options.target_apcer = args->target_apcer;
            options.threads = args->threads;
            options.passive = PassiveOptions{args->channel_order == "rgb", args->live_class};
            ProgressBar bar("eval pad");
            const PadEvaluation evaluation = evaluate_pad(
                context.open_models(), options, [&](std::size_t done, std::size_t total) { bar.update(done, total); });
            bar.finish();
            for (const auto& failure : evaluation.failures)
                std::cerr << "eval pad: " << failure << " (counted as rejected)\n";
            if (evaluation.calibration_file) {
                std::ofstream out(*args->calibrate_out);
                out << evaluation.calibration_file->dump(2) << '\n';
                if (!out) throw Error(ErrorCode::io_error, "cannot write " + args->calibrate_out->string());
            }
            const nlohmann::json& j = evaluation.report;
            const double threshold = evaluation.threshold;
            if (args->det) write_det_png(*args->det, evaluation.presentations, threshold, "PAD " + args->labels.parent_path().filename().string() + "/" + args->labels.filename().string());

            print(context, j, [&](std::ostream& out) {
                out << "eval pad: " << j["images"] << " images; " << j["no_face"] << " without a face (" << j["no_face_bona_fide"]
                    << " bona fide, " << j["no_face_attacks"] << " attacks), " << j["failed_images"] << " unreadable\n";
                out << "  (" << kPadNoFaceRule << ")\n";
                out << "threshold " << std::fixed << std::setprecision(4) << threshold << " (" << evaluation.threshold_source << ")\n";
                if (args->calibrate_out) {
                    print_metrics(out, "calibration subjects (" + std::to_string(j["calibration"]["subjects"].size()) + ")",
                                  j["calibration"]);
                    out << "wrote " << args->calibrate_out->string() << '\n';
                }
                if (!j["held_out"].is_null())
                    print_metrics(out, "held-out subjects (" + std::to_string(j["held_out"]["subjects"].size()) + ")",
                                  j["held_out"]);
                print_metrics(out, "all images", j);
                out << "mean softmax outputs [0, 1, 2]:";
                for (const auto& [group, m] : j["class_probability_means"].items())
                    out << "  " << group << " [" << std::setprecision(3) << m[0].get<double>() << ", "
                        << m[1].get<double>() << ", " << m[2].get<double>() << "]";
                out << '\n';
            });
            return exit_ok;
        };
    });
}

}  // namespace faceproof::cli
