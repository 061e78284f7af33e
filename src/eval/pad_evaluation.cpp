// faceproof — the PAD evaluation: scoring, rates, the calibration split and the threshold choice.
#include "eval/pad_evaluation.hpp"

#include <array>
#include <chrono>
#include <cmath>
#include <ctime>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>

#include "eval/pad_batch.hpp"
#include "eval/pad_labels.hpp"
#include "faceproof/crypto.hpp"
#include "faceproof/error.hpp"
#include "faceproof/liveness.hpp"
#include "util/input_file.hpp"

namespace faceproof {
namespace {

constexpr const char* kFormat = "faceproof-liveness-calibration/1";

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

}  // namespace

nlohmann::json pad_metrics_json(const std::vector<pad::Presentation>& p, double threshold) {
    const pad::PadRates r = pad::pad_rates(p, threshold);
    nlohmann::json types = nlohmann::json::object();
    for (const auto& [type, t] : r.per_attack_type)
        types[type] = {{"presentations", t.presentations}, {"accepted", t.accepted}, {"apcer", t.apcer}};
    nlohmann::json at = nlohmann::json::object();
    for (const auto& [key, target] : kPadApcerTargets) {
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

PadEvaluation evaluate_pad(std::shared_ptr<const ModelSet> models, const PadEvaluationOptions& options,
                           const std::function<void(std::size_t, std::size_t)>& progress) {
    PadEvaluation result;
    const std::vector<PadLabel> labels = parse_pad_labels(options.labels);
    // The threshold in force, known before the long scoring run.
    std::optional<LivenessCalibration> calibration;
    if (!options.calibrate_out)
        calibration = options.calibration ? LivenessCalibration::load(*options.calibration) : LivenessCalibration::shipped();
    std::vector<std::filesystem::path> images;
    for (const auto& l : labels) images.push_back(options.root / l.file);

    const auto scores = score_images(std::move(models), options.passive, images, options.threads, progress);

    std::vector<pad::Presentation> all;
    int no_face = 0, no_face_bona_fide = 0, no_face_attacks = 0, failed = 0;
    std::map<std::string, std::pair<std::array<double, 3>, int>> class_sums;  // group -> sums, count
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const auto& s = scores[i];
        pad::Presentation p{labels[i].bona_fide, labels[i].bona_fide ? "" : labels[i].attack_type, std::nullopt};
        if (s.probabilities) {
            p.score = (*s.probabilities)[options.passive.live_class];
            auto& [sums, n] = class_sums[labels[i].bona_fide ? "bona_fide" : labels[i].attack_type];
            for (int k = 0; k < 3; ++k) sums[k] += (*s.probabilities)[k];
            ++n;
        } else if (s.error == "no_face") {
            ++no_face;
            ++(labels[i].bona_fide ? no_face_bona_fide : no_face_attacks);
        } else {
            ++failed;
            result.failures.push_back(images[i].string() + ": " + s.error);
        }
        all.push_back(std::move(p));
    }
    nlohmann::json class_means = nlohmann::json::object();
    for (const auto& [group, sn] : class_sums)
        class_means[group] = {sn.first[0] / sn.second, sn.first[1] / sn.second, sn.first[2] / sn.second};

    std::set<std::string> subjects;
    for (const auto& l : labels) subjects.insert(l.subject);
    const std::string sha = labels_sha256(options.labels);

    nlohmann::json& j = result.report;
    std::string& threshold_source = result.threshold_source;
    double& threshold = result.threshold;
    std::optional<std::set<std::string>> calibration_subjects;
    nlohmann::json calibration_part = nullptr;
    if (options.calibrate_out) {
        std::string split_rule;
        std::set<std::string> chosen;
        if (options.calibration_subjects) {
            chosen = parse_subject_list(*options.calibration_subjects);
            for (const auto& s : chosen)
                if (!subjects.count(s))
                    throw Error(ErrorCode::invalid_argument, "--calibration-subjects: no subject \"" + s +
                                                                 "\" in " + options.labels.string());
            split_rule = "listed on the command line (--calibration-subjects)";
        } else if (options.split_seed) {
            chosen = split_subjects_hashed(subjects, *options.split_seed);
            split_rule = "FNV-1a 64 of \"" + std::to_string(*options.split_seed) + ":<subject>\" is even";
        } else {
            chosen = split_subjects_alternate(subjects);
            split_rule = "subjects sorted by name, every other one starting with the first";
        }
        if (chosen.empty() || chosen.size() == subjects.size())
            throw Error(ErrorCode::invalid_argument, "calibration split leaves no calibration or no held-out subject");
        const auto cal = subset(all, labels, chosen, true);
        bool resolvable = true;
        // Rounded up to 4 decimals: a readable number that keeps every calibration decision.
        const double exact = pad::threshold_at_apcer(cal, options.target_apcer, &resolvable);
        threshold = std::ceil(exact * 1e4) / 1e4;
        while (threshold < exact) threshold += 1e-4;
        threshold = std::min(threshold, 1.0);  // scores are probabilities: 1 rejects all but 1.0
        calibration_subjects = chosen;
        threshold_source = "chosen now on the calibration subjects";
        calibration_part = pad_metrics_json(cal, threshold);

        std::set<std::string> held;
        for (const auto& s : subjects)
            if (!chosen.count(s)) held.insert(s);
        std::ostringstream command;
        command << "faceproof eval pad --root " << options.root.string() << " --labels " << options.labels.string()
                << " --calibrate-out " << options.calibrate_out->string();
        if (options.calibration_subjects) command << " --calibration-subjects " << *options.calibration_subjects;
        if (options.split_seed) command << " --split-seed " << *options.split_seed;
        if (options.target_apcer != 0.05) command << " --target-apcer " << options.target_apcer;
        if (options.passive.rgb) command << " --channel-order rgb";
        if (options.passive.live_class != 0) command << " --live-class " << options.passive.live_class;
        std::ostringstream rule;
        rule << "lowest threshold at which the worst attack type's APCER on the calibration subjects is <= "
             << options.target_apcer << ", rounded up to 4 decimals (scores >= threshold are live; the "
             << "BPCER-at-APCER operating point of ISO/IEC 30107-3)";
        nlohmann::json doc{
            {"format", kFormat},
            {"threshold", threshold},
            {"model", "fr_liveness"},
            {"model_sha256", model_info("fr_liveness").sha256},
            {"score", std::string("softmax probability of output ") + std::to_string(options.passive.live_class) +
                          " (live); crop = face box x2.7 fitted into the image, 128x128, " +
                          (options.passive.rgb ? "RGB" : "BGR") + " 0-255"},
            {"rule", rule.str()},
            {"target_apcer", options.target_apcer},
            {"target_resolvable", resolvable},
            {"no_face_rule", kPadNoFaceRule},
            {"created", utc_now()},
            {"source",
             {{"labels", options.labels.filename().string()},
              {"labels_sha256", sha},
              {"images", labels.size()},
              {"subjects", subjects.size()},
              {"split", split_rule},
              {"calibration_subjects", chosen},
              {"held_out_subjects", held},
              {"command", command.str()}}},
            {"calibration", calibration_part},
            {"held_out", pad_metrics_json(subset(all, labels, chosen, false), threshold)}};
        LivenessCalibration::from_json(doc.dump());  // never write a file we could not read back
        result.calibration_file = std::move(doc);
    } else {
        threshold = calibration->threshold;
        threshold_source = options.calibration ? options.calibration->string() : "shipped calibration";
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

    j = pad_metrics_json(all, threshold);
    j["threshold_source"] = threshold_source;
    j["images"] = labels.size();
    j["no_face"] = no_face;
    j["no_face_bona_fide"] = no_face_bona_fide;
    j["no_face_attacks"] = no_face_attacks;
    j["failed_images"] = failed;
    j["no_face_rule"] = kPadNoFaceRule;
    j["labels_sha256"] = sha;
    j["class_probability_means"] = class_means;
    j["preprocessing"] = {{"channel_order", options.passive.rgb ? "rgb" : "bgr"}, {"live_class", options.passive.live_class}};
    j["held_out"] = nullptr;
    if (calibration_subjects) {
        nlohmann::json h = pad_metrics_json(subset(all, labels, *calibration_subjects, false), threshold);
        std::set<std::string> held;
        for (const auto& s : subjects)
            if (!calibration_subjects->count(s)) held.insert(s);
        h["subjects"] = held;
        j["held_out"] = h;
    }
    if (options.calibrate_out) {
        j["calibration"] = calibration_part;
        j["calibration"]["subjects"] = *calibration_subjects;
        j["calibration_file"] = options.calibrate_out->string();
    }
    result.presentations = std::move(all);
    return result;
}

}  // namespace faceproof
