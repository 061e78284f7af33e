// faceproof eval liveness-sessions — how often a recorded capture passes a challenge it was not
// made for (a replayed or injected recording), beside how often it passes its own.
//
// Two sources, either or both: --synthetic N simulated honest captures (measured values from
// src/eval/session_simulation.hpp, each made for its own fresh challenge: the honest acceptance of
// the rules and the replay rate of a perfect recording of a real person) and --captures DIR.
//
// A captures directory holds one sub-directory per recorded capture, each with capture.json:
//   {"challenge": {...the challenge object...},
//    "frames": [{"file": "f000.jpg", "time_ms": 0, "color_index": -1}, ...]}
// (build/faceproof_session_captures writes such a set). Each capture's frames are measured once;
// the capture is then decided against its own challenge and against N fresh challenges of the same
// mode, drawn like the server draws them. Theory for the motion steps alone: with k actions and s
// steps, no action twice in a row, a fixed recording matches a fresh sequence with probability
// 1 / (k (k-1)^(s-1)) (1/150 for 6 actions and 3 steps) — before timing and light. In motion_light
// only those fresh challenges can pass, and of them only the ones whose colours the recorded face
// happens to follow; both counts are reported.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <thread>

#include "cli/cli.hpp"
#include "eval/session_simulation.hpp"
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

// Decides every capture against its own and fresh challenges, on all cores (decide_session is pure;
// LivenessChallenge::draw uses libsodium's thread-safe CSPRNG). Per-capture results in input order.
struct ReplayRun {
    ReplayTally tally;
    std::vector<CaptureReplay> per_capture;
};

ReplayRun replay_all(const std::vector<const LivenessChallenge*>& challenges, const std::vector<const std::vector<SessionFrame>*>& frames,
                     int fresh_challenges, const SessionDecisionOptions& options) {
    ReplayRun run;
    run.per_capture.resize(challenges.size());
    const std::size_t workers =
        std::max<std::size_t>(1, std::min<std::size_t>(std::thread::hardware_concurrency(), challenges.size()));
    std::vector<ReplayTally> tallies(workers);
    std::vector<std::exception_ptr> failures(workers);
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> threads;
    for (std::size_t w = 0; w < workers; ++w)
        threads.emplace_back([&, w] {
            try {
                for (std::size_t i = next++; i < challenges.size(); i = next++)
                    run.per_capture[i] = replay_capture(*challenges[i], *frames[i], fresh_challenges, options, tallies[w]);
            } catch (...) {
                failures[w] = std::current_exception();
            }
        });
    for (auto& t : threads) t.join();
    for (const auto& failure : failures)
        if (failure) std::rethrow_exception(failure);
    for (const auto& t : tallies) run.tally.add(t);
    return run;
}

nlohmann::json counts_json(const std::map<std::string, std::size_t>& counts) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& item : counts) out[item.first] = item.second;
    return out;
}

// The figures of one source of captures (simulated or recorded).
nlohmann::json source_json(const std::string& source, const ReplayTally& t) {
    const double chance = motion_sequence_chance(kChallengeSteps);
    const auto rate = [](std::size_t part, std::size_t whole) { return whole ? double(part) / double(whole) : 0.0; };
    nlohmann::json out = {
        {"source", source},
        {"captures", t.captures},
        {"own_challenge_live", t.own_live},
        {"own_challenge_live_rate", rate(t.own_live, t.captures)},
        {"own_refusal_reasons", counts_json(t.own_reasons)},
        {"fresh_challenges", t.trials},
        {"fresh_challenges_passed", t.passed},
        {"replay_pass_rate", rate(t.passed, t.trials)},
        // exact one-sided 95 % bound (3/n when none passed)
        {"replay_pass_rate_upper_95", t.trials ? binomial_upper_bound(t.passed, t.trials) : 1.0},
        {"replay_pass_rate_theory", chance},
        {"fresh_same_sequence", t.same_sequence},
        {"fresh_same_sequence_passed", t.same_sequence_passed},
        {"replay_refusal_reasons", counts_json(t.replay_reasons)},
        {"mean_decide_ms_per_session", t.decisions ? t.decide_ms / double(t.decisions) : 0.0}};
    return out;
}

void print_source(std::ostream& o, const nlohmann::json& s) {
    const auto captures = s["captures"].get<std::size_t>();
    const auto trials = s["fresh_challenges"].get<std::size_t>();
    const auto passed = s["fresh_challenges_passed"].get<std::size_t>();
    o << std::defaultfloat << s["source"].get<std::string>() << " (" << s["mode"].get<std::string>() << "): " << captures
      << " captures, " << s["own_challenge_live"].get<std::size_t>() << " live against their own challenge (rate "
      << std::setprecision(4) << s["own_challenge_live_rate"].get<double>() << ")\n";
    if (!s["own_refusal_reasons"].empty()) o << "  own-challenge refusals: " << s["own_refusal_reasons"].dump() << "\n";
    o << "  fresh challenges: " << passed << " of " << trials << " passed (rate " << s["replay_pass_rate"].get<double>()
      << ", 95 % upper bound " << s["replay_pass_rate_upper_95"].get<double>() << "; motion sequence by chance: 1/"
      << std::lround(1 / s["replay_pass_rate_theory"].get<double>()) << ")\n";
    o << "  fresh challenges asking the recorded actions in order: " << s["fresh_same_sequence"].get<std::size_t>()
      << ", of which passed " << s["fresh_same_sequence_passed"].get<std::size_t>() << "; other sequences passed: "
      << passed - s["fresh_same_sequence_passed"].get<std::size_t>() << "\n";
    if (s.contains("passive_rule")) o << "  passive rule: " << s["passive_rule"].get<std::string>() << "\n";
    o << "  replay refusal reasons: " << s["replay_refusal_reasons"].dump() << "\n";
    o << "  time: " << std::setprecision(3) << s["mean_decide_ms_per_session"].get<double>() << " ms per session to decide";
    if (s.contains("mean_measure_ms_per_frame"))
        o << ", " << std::setprecision(3) << s["mean_measure_ms_per_frame"].get<double>() << " ms per frame to measure";
    o << "\n";
}

constexpr const char* kTheory =
    "1 / (k (k-1)^(s-1)) with k = 6 actions, s = 3 steps, no action twice in a row: the chance that a fresh motion "
    "sequence equals the recorded one (timing not counted). In motion_light a replay passes less often still: only "
    "the fresh challenges with the recorded sequence (fresh_same_sequence) can pass, and of those only the ones whose "
    "colours the recorded face happens to follow (fresh_same_sequence_passed of them).";

}  // namespace

void register_eval_sessions(CLI::App& eval, Context& context) {
    struct Args {
        std::filesystem::path captures;
        int synthetic = 0;
        std::string mode = "motion";
        std::optional<std::uint64_t> seed;
        int challenges = 1000;
        bool without_thumbnails = false;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = eval.add_subcommand("liveness-sessions",
                                    "Replay captures (recorded, or simulated honest ones) against fresh challenges: how "
                                    "many pass a challenge they were not made for (and their own)");
    cmd->add_option("--captures", args->captures, "Directory of recorded captures (one sub-directory each, capture.json)");
    cmd->add_option("--synthetic", args->synthetic,
                    "Simulate N honest captures (measured values, src/eval/session_simulation.hpp), each for its own "
                    "fresh challenge")
        ->check(CLI::Range(1, 100000));
    cmd->add_option("--mode", args->mode, "Challenge mode of the simulated captures: motion or motion_light")
        ->check(CLI::IsMember({"motion", "motion_light"}));
    cmd->add_option("--seed", args->seed, "Seed of the simulated captures (default: random, reported); the fresh "
                                          "challenges always come from the CSPRNG, as the server draws them");
    cmd->add_flag("--without-thumbnails", args->without_thumbnails,
                  "Simulated frames without thumbnails: the frozen/looped rule (which does not depend on the "
                  "challenge) compares pixel hashes only, so deciding is several times faster; replay counts "
                  "are unchanged, the decide time is not representative");
    cmd->add_option("--challenges", args->challenges, "Fresh challenges per capture")->check(CLI::Range(1, 1000000));
    add_json_flag(*cmd, context);
    cmd->callback([&context, args] {
        if (args->captures.empty() && args->synthetic == 0)
            throw CLI::RequiredError("--captures DIR or --synthetic N (or both)");
        context.action = [&context, args] {
            SessionDecisionOptions options;
            options.passive_threshold = LivenessCalibration::shipped().threshold;
            nlohmann::json sources = nlohmann::json::array();

            if (args->synthetic > 0) {
                const ChallengeMode mode = parse_challenge_mode(args->mode);
                const std::uint64_t seed = args->seed ? *args->seed : std::random_device{}();
                std::mt19937_64 rng(seed);
                SimulationOptions simulation;
                simulation.thumbnails = !args->without_thumbnails;
                std::vector<LivenessChallenge> own;
                std::vector<std::vector<SessionFrame>> frames;
                for (int i = 0; i < args->synthetic; ++i) {
                    own.push_back(LivenessChallenge::draw(mode));
                    frames.push_back(simulate_honest_capture(own.back(), rng, simulation));
                }
                // The passive model is not simulated (its score is a constant): its rule is left out.
                SessionDecisionOptions synthetic_options = options;
                synthetic_options.passive_threshold = 0;
                std::vector<const LivenessChallenge*> challenge_refs;
                std::vector<const std::vector<SessionFrame>*> frame_refs;
                for (std::size_t i = 0; i < own.size(); ++i) {
                    challenge_refs.push_back(&own[i]);
                    frame_refs.push_back(&frames[i]);
                }
                const ReplayRun run = replay_all(challenge_refs, frame_refs, args->challenges, synthetic_options);
                nlohmann::json s = source_json("synthetic", run.tally);
                s["mode"] = to_string(mode);
                s["seed"] = seed;
                s["thumbnails"] = simulation.thumbnails;
                s["passive_rule"] = "not simulated (threshold 0)";
                sources.push_back(s);
            }

            if (!args->captures.empty()) {
                auto verifier = IdentityVerifier::create(context.open_models(), Calibration::shipped(),
                                                         LivenessCalibration::shipped());
                std::vector<std::filesystem::path> dirs;
                for (const auto& entry : std::filesystem::directory_iterator(args->captures))
                    if (entry.is_directory() && std::filesystem::is_regular_file(entry.path() / "capture.json"))
                        dirs.push_back(entry.path());
                std::sort(dirs.begin(), dirs.end());
                if (dirs.empty())
                    throw Error(ErrorCode::invalid_argument, args->captures.string() + ": no capture directories (*/capture.json)");
                std::vector<RecordedCapture> recorded;
                std::size_t frame_count = 0;
                double measure_ms = 0;
                std::map<std::string, std::size_t> modes;
                for (const auto& dir : dirs) {  // measured one at a time: the Engine is not reentrant
                    recorded.push_back(read_capture(dir, *verifier));
                    frame_count += recorded.back().frames.size();
                    measure_ms += recorded.back().measure_ms;
                    ++modes[to_string(recorded.back().challenge.mode)];
                }
                std::vector<const LivenessChallenge*> challenge_refs;
                std::vector<const std::vector<SessionFrame>*> frame_refs;
                for (const auto& r : recorded) {
                    challenge_refs.push_back(&r.challenge);
                    frame_refs.push_back(&r.frames);
                }
                const ReplayRun run = replay_all(challenge_refs, frame_refs, args->challenges, options);
                nlohmann::json per_capture = nlohmann::json::array();
                for (std::size_t i = 0; i < recorded.size(); ++i)
                    per_capture.push_back({{"capture", recorded[i].name},
                                           {"mode", to_string(recorded[i].challenge.mode)},
                                           {"frames", recorded[i].frames.size()},
                                           {"own_challenge", run.per_capture[i].own.decision},
                                           {"own_reasons", run.per_capture[i].own.reasons},
                                           {"fresh_challenges_passed", run.per_capture[i].passed}});
                nlohmann::json s = source_json("captures", run.tally);
                s["mode"] = modes.size() == 1 ? modes.begin()->first : std::string("mixed");
                s["modes"] = counts_json(modes);
                s["mean_measure_ms_per_frame"] = frame_count ? measure_ms / double(frame_count) : 0.0;
                s["per_capture"] = per_capture;
                sources.push_back(s);
            }

            const nlohmann::json out = {{"sources", sources}, {"theory", kTheory}};
            print(context, out, [&](std::ostream& o) {
                for (const auto& s : sources) print_source(o, s);
                o << "theory: " << kTheory << "\n";
            });
            return exit_ok;
        };
    });
}

}  // namespace faceproof::cli
