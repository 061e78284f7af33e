// faceproof eval liveness-sessions — how often a recorded capture passes a challenge it was not
// made for (a replayed or injected recording), beside how often it passes its own.
//
// A captures directory holds one sub-directory per recorded capture, each with capture.json:
//   {"challenge": {...the challenge object...},
//    "frames": [{"file": "f000.jpg", "time_ms": 0, "color_index": -1}, ...]}
// (build/faceproof_session_captures writes such a set). Each capture's frames are measured once;
// the capture is then decided against its own challenge and against N fresh challenges of the same
// mode, drawn like the server draws them. Theory for the motion steps alone: with k actions and s
// steps, no action twice in a row, a fixed recording matches a fresh sequence with probability
// 1 / (k (k-1)^(s-1)) (1/150 for 6 actions and 3 steps) — before timing and light.
#include <algorithm>
#include <chrono>
#include <map>
#include <cmath>
#include <iomanip>
#include <iostream>

#include "cli/cli.hpp"
#include "faceproof/image.hpp"
#include "faceproof/liveness_session.hpp"
#include "faceproof/proofing.hpp"
#include "util/input_file.hpp"
#include "util/text_file.hpp"

namespace faceproof::cli {
namespace {

struct RecordedCapture {
    std::string name;
    LivenessChallenge challenge;
    std::vector<SessionFrame> frames;
    double measure_ms = 0;
};

RecordedCapture read_capture(const std::filesystem::path& dir, IdentityVerifier& verifier) {
    RecordedCapture capture;
    capture.name = dir.filename().string();
    const std::string text = read_text_file(dir / "capture.json", "capture file", input_limit::dataset_list);
    const auto json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object() || !json.contains("frames") || !json["frames"].is_array())
        throw Error(ErrorCode::invalid_argument, (dir / "capture.json").string() + ": expected {\"challenge\", \"frames\"}");
    capture.challenge = LivenessChallenge::from_json(json.value("challenge", nlohmann::json()));
    const auto start = std::chrono::steady_clock::now();
    for (const auto& f : json["frames"]) {
        if (!f.is_object() || !f.contains("file") || !f["file"].is_string())
            throw Error(ErrorCode::invalid_argument, (dir / "capture.json").string() + ": a frame without \"file\"");
        const FaceContext face = verifier.engine().context(load_image(dir / f["file"].get<std::string>()));
        capture.frames.push_back(measure_session_frame(face, f.value("time_ms", 0.0), f.value("color_index", -1),
                                                       verifier.liveness()));
    }
    capture.measure_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    return capture;
}

double sequences_matching_by_chance(std::size_t steps) {
    constexpr double kActions = 6;
    return 1.0 / (kActions * std::pow(kActions - 1, static_cast<double>(steps) - 1));
}

}  // namespace

void register_eval_sessions(CLI::App& eval, Context& context) {
    struct Args {
        std::filesystem::path captures;
        int challenges = 1000;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = eval.add_subcommand("liveness-sessions",
                                    "Replay recorded captures against fresh challenges: how many pass a challenge they "
                                    "were not made for (and their own)");
    cmd->add_option("--captures", args->captures, "Directory of recorded captures (one sub-directory each, capture.json)")
        ->required();
    cmd->add_option("--challenges", args->challenges, "Fresh challenges per capture")->check(CLI::Range(1, 1000000));
    add_json_flag(*cmd, context);
    cmd->callback([&context, args] {
        context.action = [&context, args] {
            auto verifier = IdentityVerifier::create(context.open_models(), Calibration::shipped(),
                                                     LivenessCalibration::shipped());
            std::vector<std::filesystem::path> dirs;
            for (const auto& entry : std::filesystem::directory_iterator(args->captures))
                if (entry.is_directory() && std::filesystem::is_regular_file(entry.path() / "capture.json"))
                    dirs.push_back(entry.path());
            std::sort(dirs.begin(), dirs.end());
            if (dirs.empty())
                throw Error(ErrorCode::invalid_argument, args->captures.string() + ": no capture directories (*/capture.json)");
            SessionDecisionOptions options;
            options.passive_threshold = LivenessCalibration::shipped().threshold;
            nlohmann::json per_capture = nlohmann::json::array();
            std::size_t own_live = 0, trials = 0, replay_live = 0, frames = 0;
            double measure_ms = 0, decide_ms = 0;
            std::map<std::string, std::size_t> replay_reasons;
            for (const auto& dir : dirs) {
                const RecordedCapture capture = read_capture(dir, *verifier);
                frames += capture.frames.size();
                measure_ms += capture.measure_ms;
                const auto start = std::chrono::steady_clock::now();
                const SessionDecision own = decide_session(capture.challenge, capture.frames, options);
                decide_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
                own_live += own.decision == "live";
                std::size_t passed = 0;
                for (int i = 0; i < args->challenges; ++i) {
                    const SessionDecision replay =
                        decide_session(LivenessChallenge::draw(capture.challenge.mode), capture.frames, options);
                    passed += replay.decision == "live";
                    for (const auto& reason : replay.reasons) ++replay_reasons[reason];
                }
                trials += static_cast<std::size_t>(args->challenges);
                replay_live += passed;
                per_capture.push_back({{"capture", capture.name},
                                       {"mode", to_string(capture.challenge.mode)},
                                       {"frames", capture.frames.size()},
                                       {"own_challenge", own.decision},
                                       {"own_reasons", own.reasons},
                                       {"fresh_challenges_passed", passed}});
            }
            const double chance = sequences_matching_by_chance(kChallengeSteps);
            nlohmann::json reasons = nlohmann::json::object();
            for (const auto& [reason, n] : replay_reasons) reasons[reason] = n;
            const nlohmann::json out = {
                {"captures", dirs.size()},
                {"own_challenge_live", own_live},
                {"own_challenge_live_rate", static_cast<double>(own_live) / static_cast<double>(dirs.size())},
                {"fresh_challenges", trials},
                {"fresh_challenges_passed", replay_live},
                {"replay_pass_rate", static_cast<double>(replay_live) / static_cast<double>(trials)},
                {"replay_pass_rate_theory", chance},
                {"theory", "1 / (k (k-1)^(s-1)) with k = 6 actions, s = 3 steps, no action twice in a row: the chance "
                           "that a fresh motion sequence equals the recorded one (timing and light not counted)"},
                {"replay_refusal_reasons", reasons},
                {"mean_measure_ms_per_frame", frames ? measure_ms / static_cast<double>(frames) : 0.0},
                {"mean_decide_ms_per_session", decide_ms / static_cast<double>(dirs.size())},
                {"per_capture", per_capture}};
            print(context, out, [&](std::ostream& o) {
                o << dirs.size() << " recorded captures: " << own_live << " live against their own challenge\n";
                o << "fresh challenges: " << replay_live << " of " << trials << " passed (rate " << std::setprecision(4)
                  << out["replay_pass_rate"].get<double>() << "; motion sequence by chance: 1/"
                  << std::setprecision(0) << std::fixed << 1 / chance << ")\n";
                o << std::setprecision(1) << "time: " << out["mean_measure_ms_per_frame"].get<double>()
                  << " ms per frame to measure, " << std::setprecision(3) << out["mean_decide_ms_per_session"].get<double>()
                  << " ms per session to decide\n";
            });
            return exit_ok;
        };
    });
}

}  // namespace faceproof::cli
