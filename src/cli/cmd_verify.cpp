// faceproof verify REFERENCE PROBE [PROBE...] — is the live probe (one image, or the frames of one
// capture burst) the owner of the reference ID portrait, and a live person of usable quality?
#include <chrono>
#include <iomanip>
#include <iostream>

#include "cli/cli.hpp"
#include "faceproof/proofing.hpp"
#include "report/proofing_json.hpp"

namespace faceproof::cli {
namespace {

cv::Mat load_as(const std::filesystem::path& path, const std::string& role) {
    try {
        return load_image(path);
    } catch (const Error& e) {
        throw Error(e.code(), role + ": " + e.what());
    }
}

void print_side(std::ostream& out, const char* role, const FaceContext& a, const QualityReport& quality) {
    const auto& b = a.face().box;
    out << std::setw(10) << std::left << role << a.faces().size() << (a.faces().size() == 1 ? " face" : " faces")
        << ", box [" << std::fixed << std::setprecision(0) << b.x << ", " << b.y << ", " << b.width << ", "
        << b.height << "], detection score " << std::setprecision(3) << a.face().detection_score;
    if (a.face().rotation) out << ", found after rotating " << a.face().rotation << "° clockwise";
    out << "\n          quality (" << to_string(quality.profile) << "): " << (quality.pass ? "pass" : "FAIL");
    for (const auto& code : quality.feedback) out << ' ' << code;
    out << '\n';
}

}  // namespace

void register_verify(CLI::App& app, Context& context) {
    struct Args {
        std::filesystem::path reference;
        std::vector<std::filesystem::path> probes;
        double fmr = kDefaultFmr;
        bool require_liveness = true;
        std::optional<std::filesystem::path> calibration, liveness_calibration;
        StoreOptions store;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = app.add_subcommand(
        "verify", "Is the probe (a live capture: one image, or several frames of one burst) the person of the "
                  "reference (ID portrait), live and of usable quality? Exit 0 = yes, 1 = no (not the same "
                  "person, spoof suspected, or unusable probe), 2 = cannot decide, 64 = usage");
    cmd->add_option("REFERENCE", args->reference, "Reference image (ID document portrait)")->required();
    cmd->add_option("PROBE", args->probes, "Probe image(s): one live capture, or the frames of one burst in order")
        ->required();
    cmd->add_option("--fmr", args->fmr, "Target false-match rate (calibrated: 1e-1 .. 1e-5)")
        ->default_val(kDefaultFmr)->check(CLI::Range(1e-9, 0.5));
    cmd->add_flag("--require-liveness,!--no-require-liveness", args->require_liveness,
                  "A spoof or an unusable probe is a non-match (default; --no-require-liveness only reports "
                  "quality and liveness, e.g. to compare two archival photos)");
    cmd->add_option("--calibration", args->calibration, "Match calibration file (default: the shipped one)");
    cmd->add_option("--liveness-calibration", args->liveness_calibration,
                    "Liveness calibration file (default: the shipped one)");
    add_store_options(*cmd, args->store, false);
    cmd->get_option("--db")->description("Database whose audit trail records the decision (default: $FACEPROOF_DB, "
                                         "else the embedded store)");
    add_json_flag(*cmd, context);
    cmd->callback([&context, args] {
        context.action = [&context, args] {
            const Calibration calibration =
                args->calibration ? Calibration::load(*args->calibration) : Calibration::shipped();
            const LivenessCalibration liveness_calibration = args->liveness_calibration
                                                                 ? LivenessCalibration::load(*args->liveness_calibration)
                                                                 : LivenessCalibration::shipped();
            calibration.threshold_for(args->fmr);  // an uncalibrated --fmr is a usage error, found before any work
            const auto start = std::chrono::steady_clock::now();
            const cv::Mat reference = load_as(args->reference, "reference image");
            std::vector<cv::Mat> probes;
            for (std::size_t i = 0; i < args->probes.size(); ++i)
                probes.push_back(load_as(args->probes[i], args->probes.size() == 1
                                                              ? std::string("probe image")
                                                              : "probe frame " + std::to_string(i + 1)));
            const double decode_ms =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
            // No decision without its audit entry, so the store is opened before deciding (and after
            // the cheap checks, so a mistyped option or image path makes no store); on a fresh machine
            // that entry starts the default store.
            // The audit needs no data key: the registry is opened without one.
            auto registry = Registry::open(open_store(args->store, StoreOpening::create_if_missing), {}, calibration);
            auto verifier = IdentityVerifier::create(context.open_models(), calibration, liveness_calibration);
            ProofingResult r = verifier->check(reference, probes, {args->fmr, args->require_liveness});
            r.match.reference.timings()["decode"] = decode_ms;  // all images; verify_json adds the stages up
            record_verification(*registry, cli_actor(), args->store.tenant, "", r);
            print(context, proofing_json(r), [&](std::ostream& out) {
                out << (r.accepted ? "MATCH" : "NO MATCH") << ": similarity " << std::fixed << std::setprecision(4)
                    << r.match.similarity << (r.match.match ? " >= " : " < ") << "threshold " << r.match.threshold
                    << " (FMR " << std::scientific << std::setprecision(0) << r.match.fmr << ")";
                if (!r.reasons.empty()) {
                    out << " —";
                    for (const auto& reason : r.reasons) out << ' ' << reason;
                }
                out << '\n';
                print_side(out, "reference", r.match.reference, r.reference_quality);
                print_side(out, "probe", r.match.probe, r.probe.quality[r.probe.best_frame]);
                const LivenessReport& l = r.probe.liveness;
                out << "liveness  " << (l.live ? "live" : "NOT LIVE") << ", score " << std::fixed
                    << std::setprecision(4) << l.score << " (threshold " << l.threshold << ")";
                if (l.burst)
                    out << ", " << l.frame_scores.size() << " frames, blink " << (l.challenge.blink ? "yes" : "no")
                        << ", head turn " << std::setprecision(0) << l.challenge.yaw_range_deg << "°";
                out << (r.checks_required ? "" : " (reported only: --no-require-liveness)") << '\n';
            });
            return r.accepted ? exit_ok : exit_no_match;
        };
    });
}

}  // namespace faceproof::cli
