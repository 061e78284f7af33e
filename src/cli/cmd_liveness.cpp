// faceproof liveness IMAGE... — is the capture a live person (not a print or a screen)?
// One image: passive score against the calibrated threshold. Several images: one capture burst
// (frames in capture order): median of the frame scores, a blink or head turn across the frames,
// and the same face in every frame.
// faceproof liveness challenge — a fresh random challenge (what the server draws for a session).
// faceproof liveness check --challenge FILE FRAME... — a recorded capture decided against a
// challenge by the session rules (liveness_session.hpp), offline.
#include <iomanip>
#include <iostream>
#include <optional>

#include "cli/cli.hpp"
#include "faceproof/engine.hpp"
#include "faceproof/liveness.hpp"
#include "faceproof/liveness_session.hpp"
#include "faceproof/proofing.hpp"
#include "util/input_file.hpp"
#include "util/number_list.hpp"
#include "util/text_file.hpp"
#include "report/liveness_json.hpp"
#include "report/proofing_json.hpp"

namespace faceproof::cli {

namespace {

// --colors / --timestamps-ms: one value per frame, or none.
std::vector<double> per_frame(const std::optional<std::string>& list, const char* option, std::size_t frames) {
    if (!list) return {};
    std::vector<double> values = parse_number_list(*list, option, frames);
    if (values.size() != frames)
        throw Error(ErrorCode::invalid_argument, std::string(option) + ": " + std::to_string(values.size()) +
                                                     " values for " + std::to_string(frames) + " frames");
    return values;
}

// The challenge object, or a session's creation answer that holds one ("challenge").
LivenessChallenge read_challenge(const std::filesystem::path& file) {
    const std::string text = read_text_file(file, "challenge file", input_limit::challenge);
    const auto json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded()) throw Error(ErrorCode::invalid_argument, "challenge file " + file.string() + ": not JSON");
    try {
        return LivenessChallenge::from_json(json.contains("challenge") ? json["challenge"] : json);
    } catch (const Error& e) {
        throw Error(e.code(), "challenge file " + file.string() + ": " + e.what());
    }
}

void print_decision(std::ostream& out, const SessionDecision& d) {
    out << (d.decision == "live" ? "LIVE" : d.decision == "retry" ? "RETRY" : "NOT LIVE") << '\n';
    for (const auto& step : d.steps) {
        out << "  " << std::left << std::setw(12) << to_string(step.action) << (step.passed ? "ok " : "NO ");
        if (step.first_frame >= 0) out << " frames " << step.first_frame + 1 << "-" << step.last_frame + 1;
        out << std::fixed << std::setprecision(2) << ", measured " << step.measured;
        if (!step.reason.empty()) out << " (" << step.reason << ")";
        out << '\n';
    }
    out << std::setprecision(3) << "passive median " << d.passive_median << ", same face >= " << d.min_same_face_similarity
        << ", " << std::setprecision(1) << d.frames_per_second << " fps";
    if (d.planar_residual >= 0) out << std::setprecision(4) << ", planar residual " << d.planar_residual;
    if (d.light_correlation > -1) out << std::setprecision(3) << ", light correlation " << d.light_correlation;
    out << '\n';
    if (!d.reasons.empty()) {
        out << "reasons:";
        for (const auto& reason : d.reasons) out << ' ' << reason;
        out << '\n';
    }
}

void register_challenge_commands(CLI::App& liveness, Context& context) {
    auto mode = std::make_shared<std::string>("motion");
    auto* challenge = liveness.add_subcommand("challenge", "Print a fresh random liveness challenge (the object a "
                                                           "session gives the capture page)");
    challenge->add_option("--mode", *mode, "motion (head movements) or motion_light (also screen colours)")
        ->check(CLI::IsMember({"motion", "motion_light"}));
    add_json_flag(*challenge, context);
    challenge->callback([&context, mode] {
        context.action = [&context, mode] {
            const LivenessChallenge c = LivenessChallenge::draw(parse_challenge_mode(*mode));
            print(context, c.to_json(), [&](std::ostream& out) { out << c.to_json().dump(2) << '\n'; });
            return exit_ok;
        };
    });

    struct CheckArgs {
        std::filesystem::path challenge;
        std::vector<std::filesystem::path> frames;
        std::optional<std::string> timestamps, colors;
        std::optional<std::filesystem::path> calibration;
    };
    auto args = std::make_shared<CheckArgs>();
    auto* check = liveness.add_subcommand(
        "check", "Decide a recorded capture against a challenge with the session rules. Exit 0 = live, 1 = not live "
                 "or retry, 2 = cannot decide, 64 = usage");
    check->add_option("--challenge", args->challenge, "Challenge file (the challenge object, or a session's answer)")
        ->required();
    check->add_option("FRAME", args->frames, "Frames in capture order, unmirrored")->required();
    check->add_option("--timestamps-ms", args->timestamps,
                      "Capture time of each frame in ms since the first, comma-separated (default: 100 ms apart)");
    check->add_option("--colors", args->colors,
                      "Index of the challenge colour on screen at each frame, comma-separated (motion_light)");
    check->add_option("--calibration", args->calibration, "Liveness calibration file (default: the shipped one)");
    add_json_flag(*check, context);
    check->callback([&context, args] {
        context.action = [&context, args] {
            const LivenessChallenge challenge = read_challenge(args->challenge);
            const std::size_t n = args->frames.size();
            std::vector<double> times = per_frame(args->timestamps, "--timestamps-ms", n);
            if (times.empty())
                for (std::size_t i = 0; i < n; ++i) times.push_back(100.0 * static_cast<double>(i));
            const std::vector<double> colors = per_frame(args->colors, "--colors", n);
            const LivenessCalibration calibration =
                args->calibration ? LivenessCalibration::load(*args->calibration) : LivenessCalibration::shipped();
            auto verifier = IdentityVerifier::create(context.open_models(), Calibration::shipped(), calibration);
            std::vector<SessionFrame> frames;
            for (std::size_t i = 0; i < n; ++i) {
                const std::string role = "frame " + std::to_string(i + 1) + " (" + args->frames[i].string() + ")";
                try {
                    const FaceContext face = verifier->engine().context(load_image(args->frames[i]));
                    frames.push_back(measure_session_frame(face, times[i], colors.empty() ? -1 : static_cast<int>(colors[i]),
                                                           verifier->liveness()));
                } catch (const Error& e) {
                    throw Error(e.code(), role + ": " + e.what());
                }
            }
            SessionDecisionOptions options;
            options.passive_threshold = calibration.threshold;
            const SessionDecision d = decide_session(challenge, frames, options);
            print(context, d.to_json(), [&](std::ostream& out) { print_decision(out, d); });
            return d.decision == "live" ? exit_ok : exit_no_match;
        };
    });
}

}  // namespace

void register_liveness(CLI::App& app, Context& context) {
    struct Args {
        std::vector<std::filesystem::path> images;
        std::optional<std::filesystem::path> calibration;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("liveness", "Passive liveness (presentation-attack detection) of a capture; several "
                                               "images are one burst, in capture order. Exit 0 = live, 1 = not live, "
                                               "2 = cannot decide (e.g. no face), 64 = usage");
    cmd->add_option("IMAGE", args->images, "Image(s) of one capture");
    register_challenge_commands(*cmd, context);
    cmd->add_option("--calibration", args->calibration, "Liveness calibration file (default: the shipped one)");
    add_json_flag(*cmd, context);
    cmd->callback([&context, args, cmd] {
        if (!cmd->get_subcommands().empty()) return;  // liveness challenge / check
        if (args->images.empty())
            throw CLI::RequiredError("IMAGE (or a subcommand: challenge, check)");
        context.action = [&context, args] {
            const LivenessCalibration calibration =
                args->calibration ? LivenessCalibration::load(*args->calibration) : LivenessCalibration::shipped();
            std::vector<cv::Mat> frames;
            for (std::size_t i = 0; i < args->images.size(); ++i) {
                try {
                    frames.push_back(load_image(args->images[i]));
                } catch (const Error& e) {  // name the frame, so the user knows which one to retake
                    throw Error(e.code(), "frame " + std::to_string(i + 1) + " (" + args->images[i].string() +
                                              "): " + e.what());
                }
            }
            // The same probe assessment as verify (each frame's context gives the eye state and yaw
            // the burst challenge needs).
            auto verifier = IdentityVerifier::create(context.open_models(), Calibration::shipped(), calibration);
            const ProbeAssessment probe = verifier->assess_probe(frames);
            const LivenessReport& r = probe.liveness;
            nlohmann::json j = liveness_json(r);
            j["frames"] = probe_json(probe)["frames"];
            for (std::size_t i = 0; i < args->images.size(); ++i) j["frames"][i]["image"] = args->images[i].string();
            print(context, j, [&](std::ostream& out) {
                out << (r.live ? "LIVE" : "NOT LIVE") << ": score " << std::fixed << std::setprecision(6) << r.score
                    << (r.passive_live ? " >= " : " < ") << "threshold " << r.threshold
                    << (r.burst ? " (median of the frames)" : "") << '\n';
                if (r.burst) {
                    out << std::setprecision(4) << "frame scores:";
                    for (double s : r.frame_scores) out << ' ' << s;
                    out << "\nsame face: " << (r.challenge.same_face ? "yes" : "NO") << " (lowest similarity to frame 1 "
                        << r.challenge.min_same_face_similarity << ", needs >= " << kSameFaceMinSimilarity << ")\n";
                    out << "challenge: blink " << (r.challenge.blink ? "yes" : "no") << ", head turn "
                        << std::setprecision(0) << r.challenge.yaw_range_deg << "° (needs a blink or >= 15°)"
                        << (r.challenge.assessed ? "" : " — not assessed: eye state or pose unavailable") << '\n';
                }
                if (!r.reasons.empty()) {
                    out << "reasons:";
                    for (const auto& reason : r.reasons) out << ' ' << reason;
                    out << '\n';
                }
            });
            return r.live ? exit_ok : exit_no_match;
        };
    });
}

}  // namespace faceproof::cli
