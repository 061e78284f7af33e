// faceproof verify REFERENCE PROBE [PROBE...] — is the live probe (one image, or the frames of one
// capture burst) the owner of the reference ID portrait, and a live person of usable quality?
// faceproof verify --document DIR --trust PATH PROBE [PROBE...] — the same against a chip document:
// the reference is its DG2 portrait, and the document must be valid too.
#include <chrono>
#include <iomanip>
#include <iostream>

#include "cli/cli.hpp"
#include "faceproof/document.hpp"
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
        std::vector<std::filesystem::path> images;  // REFERENCE PROBE..., or PROBE... with --document
        std::optional<std::filesystem::path> document, trust, card;
        std::optional<std::string> now;
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
    cmd->add_option("IMAGES", args->images,
                    "REFERENCE PROBE [PROBE...]: the reference image (ID portrait), then the probe (one live capture, "
                    "or the frames of one burst in order); with --document only the probe")
        ->required();
    auto* document = cmd->add_option("--document", args->document,
                                     "Chip document directory (EF.SOD, DG1, DG2 as read by an NFC reader): its DG2 "
                                     "portrait is the reference, and the document must be valid");
    auto* trust = cmd->add_option("--trust", args->trust,
                                  "CSCA trust store for --document: CSCA certificates (PEM/DER), master lists, CRLs");
    document->needs(trust);
    trust->needs(document);
    cmd->add_option("--now", args->now, "Decision time for --document (YYYY-MM-DD or RFC 3339; default: now)")
        ->needs(document);
    cmd->add_option("--card", args->card,
                    "With --document: a photo of the printed card, whose portrait must match the chip portrait "
                    "(a substituted printed portrait shows)")
        ->needs(document);
    cmd->add_option("--fmr", args->fmr, "Target false-match rate (calibrated: 1e-1 .. 1e-5)")
        ->default_val(kDefaultFmr)->check(CLI::Range(1e-9, 0.5));
    cmd->add_flag("--require-liveness,!--no-require-liveness", args->require_liveness,
                  "A spoof or an unusable probe is a non-match (default; --no-require-liveness only reports "
                  "quality and liveness, e.g. to compare two archival photos)");
    cmd->add_option("--calibration", args->calibration, "Match calibration file (default: the shipped one)");
    cmd->add_option("--liveness-calibration", args->liveness_calibration,
                    "Liveness calibration file (default: the shipped one)");
    add_store_options(*cmd, args->store, true);
    cmd->get_option("--key-file")
        ->description("Data key (default: $FACEPROOF_KEY_FILE, else the default key when it exists): with --document, "
                      "the audit entry names the document number only as a pseudonym keyed with it");
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
            const bool with_document = args->document.has_value();
            if (!with_document && args->images.size() < 2)
                throw Error(ErrorCode::invalid_argument, "verify needs REFERENCE and PROBE images (or --document DIR)");
            // The document is checked first: an unreadable bundle or trust store costs no decoding.
            std::optional<DocumentCheck> document;
            if (with_document) {
                const auto trust_store = load_trust_store(*args->trust);
                document = check_document(DocumentBundle::read_directory(*args->document), *trust_store,
                                          document_decision_time(args->now));
            }
            const auto start = std::chrono::steady_clock::now();
            cv::Mat reference;
            if (!with_document) reference = load_as(args->images.front(), "reference image");
            const std::vector<std::filesystem::path> probe_files(args->images.begin() + (with_document ? 0 : 1),
                                                                 args->images.end());
            std::vector<cv::Mat> probes;
            for (std::size_t i = 0; i < probe_files.size(); ++i)
                probes.push_back(load_as(probe_files[i], probe_files.size() == 1 ? std::string("probe image")
                                                                                 : "probe frame " + std::to_string(i + 1)));
            const cv::Mat card = args->card ? load_as(*args->card, "card image") : cv::Mat();
            const double decode_ms =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
            // No decision without its audit entry, so the store is opened before deciding (and after
            // the cheap checks, so a mistyped option or image path makes no store); on a fresh machine
            // that entry starts the default store.
            // The audit needs no data key, except to pseudonymise a document number (keyed: document
            // numbers are too few to hide behind a plain hash); without one, the number is left out.
            std::vector<DataKey> keys;
            if (with_document && DataKey::configured(args->store.key_file))
                keys.push_back(DataKey::from_environment_or_file(args->store.key_file));
            auto registry = Registry::open(open_store(args->store, StoreOpening::create_if_missing), std::move(keys),
                                           calibration);
            auto verifier = IdentityVerifier::create(context.open_models(), calibration, liveness_calibration);
            ProofingResult r = document ? verify_document_holder(*verifier, std::move(*document), probes,
                                                                 {args->fmr, args->require_liveness})
                                        : verifier->check(reference, probes, {args->fmr, args->require_liveness});
            if (!card.empty()) compare_card(*verifier, r, card);
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
                if (r.document)
                    out << "document  " << to_string(r.document->status) << ": " << r.document->mrz.document_code << " "
                        << r.document->mrz.issuing_state << ", chain " << r.document->chain << ", portrait "
                        << r.document->portrait.format << " " << r.document->portrait.width << "x"
                        << r.document->portrait.height << " (the reference)\n";
                if (r.card)
                    out << "card      printed portrait " << (r.card->match ? "matches" : "DOES NOT MATCH")
                        << " the chip portrait: similarity " << std::fixed << std::setprecision(4) << r.card->similarity
                        << "\n";
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
