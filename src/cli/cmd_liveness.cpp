// faceproof liveness IMAGE... — is the capture a live person (not a print or a screen)?
// One image: passive score against the calibrated threshold. Several images: one capture burst
// (frames in capture order): median of the frame scores, a blink or head turn across the frames,
// and the same face in every frame.
#include <iomanip>
#include <iostream>

#include "cli/cli.hpp"
#include "faceproof/engine.hpp"
#include "faceproof/liveness.hpp"
#include "faceproof/proofing.hpp"
#include "report/liveness_json.hpp"
#include "report/proofing_json.hpp"

namespace faceproof::cli {

void register_liveness(CLI::App& app, Context& context) {
    struct Args {
        std::vector<std::filesystem::path> images;
        std::optional<std::filesystem::path> calibration;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("liveness", "Passive liveness (presentation-attack detection) of a capture; several "
                                               "images are one burst, in capture order. Exit 0 = live, 1 = not live, "
                                               "2 = cannot decide (e.g. no face), 64 = usage");
    cmd->add_option("IMAGE", args->images, "Image(s) of one capture")->required();
    cmd->add_option("--calibration", args->calibration, "Liveness calibration file (default: the shipped one)");
    add_json_flag(*cmd, context);
    cmd->callback([&context, args] {
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
