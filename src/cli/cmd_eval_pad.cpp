// faceproof eval pad — presentation-attack detection error rates (ISO/IEC 30107-3) of the passive
// liveness score on a labelled image set, and (with --calibrate-out) the shipped threshold, chosen
// on a subject-disjoint calibration part of the set.
//
// Rates: APCER per attack type = attacks of the type accepted as live / attacks of the type;
// APCER = the worst attack type's APCER; BPCER = bona fide rejected / bona fide; ACER = mean of the
// two. Images without a face (or that cannot be read) are rejected: an attack without a face is
// not accepted, a bona fide without a face is a BPCER error.
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
#include "liveness/det_plot.hpp"
#include "liveness/pad_batch.hpp"
#include "liveness/pad_labels.hpp"
#include "liveness/pad_metrics.hpp"
#include "util/input_file.hpp"

namespace faceproof::cli {
namespace {

constexpr const char* kFormat = "faceproof-liveness-calibration/1";
// Operating points reported as "BPCER at APCER x" (x = 5% is the BPCER20 of 30107-3 reporting).
const std::pair<const char*, double> kApcerTargets[] = {{"0.01", 0.01}, {"0.05", 0.05}};
constexpr const char* kNoFaceRule =
    "an image without a detected face (or unreadable) is rejected: an attack without a face is not accepted, a "
    "bona fide without a face counts as rejected (a BPCER error)";

std::string utc_now() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::ostringstream out;
    out << std::put_time(std::gmtime(&now), "%Y-%m-%dT%H:%M:%SZ");
    return out.str();
}

std::string labels_sha256(const std::filesystem::path& labels) {
    const auto bytes = read_input_file(labels, input_limit::dataset_list, "labels file");
    return sha256_hex(bytes);
}

std::set<std::string> parse_subject_list(const std::string& list) {
    std::set<std::string> subjects;
    std::stringstream in(list);
    for (std::string s; std::getline(in, s, ',');) {
        const auto a = s.find_first_not_of(' '), b = s.find_last_not_of(' ');
        if (a != std::string::npos) subjects.insert(s.substr(a, b - a + 1));
    }
    return subjects;
}

std::vector<pad::Presentation> subset(const std::vector<pad::Presentation>& all, const std::vector<PadLabel>& labels,
                                      const std::set<std::string>& subjects, bool inside) {
    std::vector<pad::Presentation> out;
    for (std::size_t i = 0; i < all.size(); ++i)
        if (subjects.count(labels[i].subject) == static_cast<std::size_t>(inside)) out.push_back(all[i]);
    return out;
}

nlohmann::json metrics_json(const std::vector<pad::Presentation>& p, double threshold) {
    const pad::PadRates r = pad::pad_rates(p, threshold);
    nlohmann::json types = nlohmann::json::object();
    for (const auto& [type, t] : r.per_attack_type)
        types[type] = {{"presentations", t.presentations}, {"accepted", t.accepted}, {"apcer", t.apcer}};
    nlohmann::json at = nlohmann::json::object();
    for (const auto& [key, target] : kApcerTargets) {
        bool resolvable = true;
        const double t = pad::threshold_at_apcer(p, target, &resolvable);
        const pad::PadRates rt = pad::pad_rates(p, t);
        at[key] = {{"threshold", t}, {"bpcer", rt.bpcer}, {"apcer", rt.apcer}, {"resolvable", resolvable}};
    }
    const pad::DetPoint eer = pad::equal_error_point(pad::det_curve(p));
    return {{"threshold", threshold},
            {"apcer", r.apcer},
            {"worst_attack_type", r.worst_attack_type},
            {"bpcer", r.bpcer},
            {"acer", r.acer},
            {"apcer_pooled", r.apcer_pooled},
            {"attacks", r.attacks},
            {"attacks_accepted", r.attacks_accepted},
            {"bona_fide", r.bona_fide},
            {"bona_fide_rejected", r.bona_fide_rejected},
            {"per_attack_type", types},
            {"bpcer_at_apcer", at},
            {"eer", {{"threshold", eer.threshold}, {"apcer", eer.apcer}, {"bpcer", eer.bpcer}}}};
}

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
    for (const auto& [key, target] : kApcerTargets) {
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
            const std::vector<PadLabel> labels = parse_pad_labels(args->labels);
            // The threshold in force, known before the long scoring run.
            std::optional<LivenessCalibration> calibration;
            if (!args->calibrate_out)
                calibration = args->calibration ? LivenessCalibration::load(*args->calibration) : LivenessCalibration::shipped();
            const PassiveOptions options{args->channel_order == "rgb", args->live_class};
            std::vector<std::filesystem::path> images;
            for (const auto& l : labels) images.push_back(args->root / l.file);

            auto models = context.open_models();
            ProgressBar bar("eval pad");
            const auto scores = score_images(models, options, images, args->threads,
                                             [&](std::size_t done, std::size_t total) { bar.update(done, total); });
            bar.finish();

            std::vector<pad::Presentation> all;
            int no_face = 0, no_face_bona_fide = 0, no_face_attacks = 0, failed = 0;
            std::map<std::string, std::pair<std::array<double, 3>, int>> class_sums;  // group -> sums, count
            for (std::size_t i = 0; i < labels.size(); ++i) {
                const auto& s = scores[i];
                pad::Presentation p{labels[i].bona_fide, labels[i].bona_fide ? "" : labels[i].attack_type, std::nullopt};
                if (s.probabilities) {
                    p.score = (*s.probabilities)[options.live_class];
                    auto& [sums, n] = class_sums[labels[i].bona_fide ? "bona_fide" : labels[i].attack_type];
                    for (int k = 0; k < 3; ++k) sums[k] += (*s.probabilities)[k];
                    ++n;
                } else if (s.error == "no_face") {
                    ++no_face;
                    ++(labels[i].bona_fide ? no_face_bona_fide : no_face_attacks);
                } else {
                    ++failed;
                    std::cerr << "eval pad: " << images[i].string() << ": " << s.error << " (counted as rejected)\n";
                }
                all.push_back(std::move(p));
            }
            nlohmann::json class_means = nlohmann::json::object();
            for (const auto& [group, sn] : class_sums)
                class_means[group] = {sn.first[0] / sn.second, sn.first[1] / sn.second, sn.first[2] / sn.second};

            std::set<std::string> subjects;
            for (const auto& l : labels) subjects.insert(l.subject);
            const std::string sha = labels_sha256(args->labels);

            nlohmann::json j;
            std::string threshold_source;
            double threshold = 0;
            std::optional<std::set<std::string>> calibration_subjects;
            nlohmann::json calibration_part = nullptr;
            if (args->calibrate_out) {
                std::string split_rule;
                std::set<std::string> chosen;
                if (args->calibration_subjects) {
                    chosen = parse_subject_list(*args->calibration_subjects);
                    for (const auto& s : chosen)
                        if (!subjects.count(s))
                            throw Error(ErrorCode::invalid_argument, "--calibration-subjects: no subject \"" + s +
                                                                         "\" in " + args->labels.string());
                    split_rule = "listed on the command line (--calibration-subjects)";
                } else if (args->split_seed) {
                    chosen = split_subjects_hashed(subjects, *args->split_seed);
                    split_rule = "FNV-1a 64 of \"" + std::to_string(*args->split_seed) + ":<subject>\" is even";
                } else {
                    chosen = split_subjects_alternate(subjects);
                    split_rule = "subjects sorted by name, every other one starting with the first";
                }
                if (chosen.empty() || chosen.size() == subjects.size())
                    throw Error(ErrorCode::invalid_argument, "calibration split leaves no calibration or no held-out subject");
                const auto cal = subset(all, labels, chosen, true);
                bool resolvable = true;
                // Rounded up to 4 decimals: a readable number that keeps every calibration decision.
                const double exact = pad::threshold_at_apcer(cal, args->target_apcer, &resolvable);
                threshold = std::ceil(exact * 1e4) / 1e4;
                while (threshold < exact) threshold += 1e-4;
                threshold = std::min(threshold, 1.0);  // scores are probabilities: 1 rejects all but 1.0
                calibration_subjects = chosen;
                threshold_source = "chosen now on the calibration subjects";
                calibration_part = metrics_json(cal, threshold);

                std::set<std::string> held;
                for (const auto& s : subjects)
                    if (!chosen.count(s)) held.insert(s);
                std::ostringstream command;
                command << "faceproof eval pad --root " << args->root.string() << " --labels " << args->labels.string()
                        << " --calibrate-out " << args->calibrate_out->string();
                if (args->calibration_subjects) command << " --calibration-subjects " << *args->calibration_subjects;
                if (args->split_seed) command << " --split-seed " << *args->split_seed;
                if (args->target_apcer != 0.05) command << " --target-apcer " << args->target_apcer;
                if (args->channel_order != "bgr") command << " --channel-order " << args->channel_order;
                if (args->live_class != 0) command << " --live-class " << args->live_class;
                std::ostringstream rule;
                rule << "lowest threshold at which the worst attack type's APCER on the calibration subjects is <= "
                     << args->target_apcer << ", rounded up to 4 decimals (scores >= threshold are live; the "
                     << "BPCER-at-APCER operating point of ISO/IEC 30107-3)";
                nlohmann::json doc{
                    {"format", kFormat},
                    {"threshold", threshold},
                    {"model", "fr_liveness"},
                    {"model_sha256", model_info("fr_liveness").sha256},
                    {"score", std::string("softmax probability of output ") + std::to_string(options.live_class) +
                                  " (live); crop = face box x2.7 fitted into the image, 128x128, " +
                                  (options.rgb ? "RGB" : "BGR") + " 0-255"},
                    {"rule", rule.str()},
                    {"target_apcer", args->target_apcer},
                    {"target_resolvable", resolvable},
                    {"no_face_rule", kNoFaceRule},
                    {"created", utc_now()},
                    {"source",
                     {{"labels", args->labels.filename().string()},
                      {"labels_sha256", sha},
                      {"images", labels.size()},
                      {"subjects", subjects.size()},
                      {"split", split_rule},
                      {"calibration_subjects", chosen},
                      {"held_out_subjects", held},
                      {"command", command.str()}}},
                    {"calibration", calibration_part},
                    {"held_out", metrics_json(subset(all, labels, chosen, false), threshold)}};
                LivenessCalibration::from_json(doc.dump());  // never write a file we could not read back
                std::ofstream out(*args->calibrate_out);
                out << doc.dump(2) << '\n';
                if (!out) throw Error(ErrorCode::io_error, "cannot write " + args->calibrate_out->string());
            } else {
                threshold = calibration->threshold;
                threshold_source = args->calibration ? args->calibration->string() : "shipped calibration";
                // Held-out figures when this labels file is the calibration's own source.
                try {
                    const auto doc = nlohmann::json::parse(calibration->json);
                    const auto& src = doc.at("source");
                    if (src.at("labels_sha256").get<std::string>() == sha)
                        calibration_subjects = src.at("calibration_subjects").get<std::set<std::string>>();
                } catch (const nlohmann::json::exception&) {
                    // a calibration without provenance: no held-out report
                }
            }

            j = metrics_json(all, threshold);
            j["threshold_source"] = threshold_source;
            j["images"] = labels.size();
            j["no_face"] = no_face;
            j["no_face_bona_fide"] = no_face_bona_fide;
            j["no_face_attacks"] = no_face_attacks;
            j["failed_images"] = failed;
            j["no_face_rule"] = kNoFaceRule;
            j["labels_sha256"] = sha;
            j["class_probability_means"] = class_means;
            j["preprocessing"] = {{"channel_order", args->channel_order}, {"live_class", args->live_class}};
            j["held_out"] = nullptr;
            if (calibration_subjects) {
                nlohmann::json h = metrics_json(subset(all, labels, *calibration_subjects, false), threshold);
                std::set<std::string> held;
                for (const auto& s : subjects)
                    if (!calibration_subjects->count(s)) held.insert(s);
                h["subjects"] = held;
                j["held_out"] = h;
            }
            if (args->calibrate_out) {
                j["calibration"] = calibration_part;
                j["calibration"]["subjects"] = *calibration_subjects;
                j["calibration_file"] = args->calibrate_out->string();
            }
            if (args->det) write_det_png(*args->det, all, threshold, "PAD " + args->labels.parent_path().filename().string() + "/" + args->labels.filename().string());

            print(context, j, [&](std::ostream& out) {
                out << "eval pad: " << labels.size() << " images; " << no_face << " without a face (" << no_face_bona_fide
                    << " bona fide, " << no_face_attacks << " attacks), " << failed << " unreadable\n";
                out << "  (" << kNoFaceRule << ")\n";
                out << "threshold " << std::fixed << std::setprecision(4) << threshold << " (" << threshold_source << ")\n";
                if (args->calibrate_out) {
                    print_metrics(out, "calibration subjects (" + std::to_string(calibration_subjects->size()) + ")",
                                  j["calibration"]);
                    out << "wrote " << args->calibrate_out->string() << '\n';
                }
                if (!j["held_out"].is_null())
                    print_metrics(out, "held-out subjects (" + std::to_string(j["held_out"]["subjects"].size()) + ")",
                                  j["held_out"]);
                print_metrics(out, "all images", j);
                out << "mean softmax outputs [0, 1, 2]:";
                for (const auto& [group, m] : class_means.items())
                    out << "  " << group << " [" << std::setprecision(3) << m[0].get<double>() << ", "
                        << m[1].get<double>() << ", " << m[2].get<double>() << "]";
                out << '\n';
            });
            return exit_ok;
        };
    });
}

}  // namespace faceproof::cli
