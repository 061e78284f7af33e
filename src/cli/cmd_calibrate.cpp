// faceproof calibrate — thresholds for target false-match rates from every cross-identity pair of
// a labelled image folder (ROOT/<identity>/<image>), written as the calibration file.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/cli.hpp"
#include "eval/impostor_scores.hpp"
#include "eval/template_batch.hpp"
#include "faceproof/engine.hpp"
#include "eval/roc.hpp"

namespace faceproof::cli {
namespace {

// Listed in the file so every threshold used in production is traceable to its data.
const double kFmrGrid[] = {1e-1, 5e-2, 2e-2, 1e-2, 5e-3, 2e-3, 1e-3, 5e-4, 2e-4, 1e-4, 5e-5, 2e-5, 1e-5, 5e-6, 2e-6, 1e-6};
// A threshold resting on fewer false matches than this is noise (a handful of mislabelled or
// duplicate images decides it); such FMRs are left out.
constexpr double kMinFalseMatches = 100;

std::vector<std::filesystem::path> labelled_images(const std::filesystem::path& root) {
    std::vector<std::filesystem::path> images;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
        if (!entry.is_regular_file()) continue;
        std::string ext = entry.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), ::tolower);
        if (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp" || ext == ".bmp")
            images.push_back(entry.path());
    }
    std::sort(images.begin(), images.end());
    return images;
}

std::string utc_now() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::ostringstream out;
    out << std::put_time(std::gmtime(&now), "%Y-%m-%dT%H:%M:%SZ");
    return out.str();
}

}  // namespace

void register_calibrate(CLI::App& app, Context& context) {
    struct Args {
        std::filesystem::path root, output;
        std::string dataset = "unnamed";
        int threads = 0;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("calibrate", "Compute decision thresholds for target FMRs from all "
                                                "cross-identity pairs of ROOT/<identity>/<image> and write the "
                                                "calibration file");
    cmd->add_option("--root", args->root, "Labelled image folder: ROOT/<identity>/<image>")->required()->check(CLI::ExistingDirectory);
    cmd->add_option("-o,--output", args->output, "Calibration file to write (JSON)")->required();
    cmd->add_option("--dataset", args->dataset, "Name of the data set, recorded in the file");
    cmd->add_option("--threads", args->threads, "Worker threads (default: all cores)");
    add_json_flag(*cmd, context);
    cmd->callback([&context, args] {
        context.action = [&context, args] {
            const auto images = labelled_images(args->root);
            if (images.size() < 2) throw Error(ErrorCode::invalid_argument, "calibrate: fewer than 2 images under " + args->root.string());
            const auto items = templates_with_progress(context, images, EngineOptions{}, args->threads, "calibrate");
            std::vector<const Template*> templates;
            std::vector<int> identity;
            std::map<std::string, int> identity_ids;
            int failed = 0;
            for (std::size_t i = 0; i < items.size(); ++i) {
                if (!items[i].face_template) {
                    ++failed;
                    continue;
                }
                templates.push_back(&*items[i].face_template);
                const std::string name = images[i].parent_path().filename().string();
                identity.push_back(identity_ids.try_emplace(name, static_cast<int>(identity_ids.size())).first->second);
            }
            if (templates.empty()) throw Error(ErrorCode::no_face, "calibrate: no face found in any image");
            const PairScores scores = all_pair_scores(templates, identity);

            nlohmann::json points = nlohmann::json::array();
            for (double fmr : kFmrGrid) {
                if (fmr * static_cast<double>(scores.impostor.size()) < kMinFalseMatches) continue;
                const double t = threshold_at_fmr(scores.impostor, fmr);
                points.push_back({{"fmr", fmr}, {"threshold", t}, {"tar", tar_at_threshold(scores.genuine, t)}});
            }
            nlohmann::json doc{
                {"format", "faceproof-calibration/1"},
                {"model_id", templates[0]->model_id},
                {"model_sha256", templates[0]->model_sha256},
                {"created", utc_now()},
                {"source",
                 {{"dataset", args->dataset},
                  {"images", images.size()},
                  {"images_without_template", failed},
                  {"identities", identity_ids.size()},
                  {"impostor_pairs", scores.impostor.size()},
                  {"genuine_pairs", scores.genuine.size()},
                  {"method", "every cross-identity pair of the images is an impostor pair; threshold = smallest "
                             "similarity whose impostor share >= it is <= fmr; tar = share of same-identity pairs "
                             "accepted"},
                  {"command", "faceproof calibrate --root <" + args->dataset + "> --dataset " + args->dataset +
                                  " -o " + args->output.filename().string()}}},
                {"default_fmr", kDefaultFmr},
                {"operating_points", points}};
            Calibration::from_json(doc.dump());  // never write a file we could not read back
            std::ofstream out(args->output);
            out << doc.dump(2) << '\n';
            if (!out) throw Error(ErrorCode::io_error, "cannot write " + args->output.string());
            print(context, doc, [&](std::ostream& o) {
                o << "wrote " << args->output.string() << ": " << templates.size() << " templates, "
                  << identity_ids.size() << " identities, " << scores.impostor.size() << " impostor pairs\n";
                for (const auto& p : points)
                    o << "  FMR " << std::scientific << std::setprecision(0) << p["fmr"].get<double>() << "  threshold "
                      << std::fixed << std::setprecision(4) << p["threshold"].get<double>() << "  TAR "
                      << std::setprecision(4) << p["tar"].get<double>() << '\n';
            });
            return exit_ok;
        };
    });
}

}  // namespace faceproof::cli
