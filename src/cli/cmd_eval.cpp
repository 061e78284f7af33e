// faceproof eval lfw — accuracy on an LFW-format pairs file.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <map>

#include "cli/cli.hpp"
#include "cli/progress.hpp"
#include "eval/impostor_scores.hpp"
#include "eval/template_batch.hpp"
#include "eval/lfw_pairs.hpp"
#include "eval/roc.hpp"
#include "report/json_report.hpp"

namespace faceproof::cli {

std::vector<BatchItem> templates_with_progress(const Context& context, const std::vector<std::filesystem::path>& images,
                                               const EngineOptions& options, int threads, const std::string& label) {
    auto models = context.open_models();
    ProgressBar bar(label);
    auto items = compute_templates(models, options, images, threads,
                                   [&](std::size_t done, std::size_t total) { bar.update(done, total); });
    bar.finish();
    return items;
}

namespace {

StageTimings median_timings(const std::vector<BatchItem>& items) {
    std::map<std::string, std::vector<double>> samples;
    for (const auto& item : items)
        if (item.face_template)
            for (const auto& [stage, ms] : item.timings) samples[stage].push_back(ms);
    StageTimings medians;
    for (auto& [stage, values] : samples) {
        std::nth_element(values.begin(), values.begin() + values.size() / 2, values.end());
        medians[stage] = values[values.size() / 2];
    }
    return medians;
}

const std::pair<const char*, double> kReportedFmrs[] = {{"1e-2", 1e-2}, {"1e-3", 1e-3}, {"1e-4", 1e-4}};

}  // namespace

void register_eval(CLI::App& app, Context& context) {
    struct Args {
        std::filesystem::path root, pairs;
        std::optional<std::filesystem::path> roc;
        int threads = 0;
        std::string channel_order = "bgr";
        bool no_flip = false;
        std::optional<double> threshold;
    };
    auto args = std::make_shared<Args>();
    auto* eval = app.add_subcommand("eval", "Measure accuracy");
    eval->require_subcommand(1);
    register_eval_pad(*eval, context);
    register_eval_sessions(*eval, context);
    auto* lfw = eval->add_subcommand("lfw", "LFW protocol on a pairs file: 10-fold accuracy (plain best-threshold "
                                            "accuracy for files that are not 10 folds), TAR at FMR, timings");
    lfw->add_option("--root", args->root, "Image root: ROOT/Name/Name_0001.jpg")->required()->check(CLI::ExistingDirectory);
    lfw->add_option("--pairs", args->pairs, "Pairs file (pairs.txt / pairsDevTest.txt format)")->required()->check(CLI::ExistingFile);
    lfw->add_option("--roc", args->roc, "Write the ROC curve (TAR against log FMR) as a PNG");
    lfw->add_option("--threads", args->threads, "Worker threads (default: all cores)");
    lfw->add_option("--threshold", args->threshold,
                    "Also report the accuracy at this fixed threshold (e.g. one chosen on another file)");
    // Variants of the embedding preprocessing, to measure the choices the defaults rest on.
    lfw->add_option("--channel-order", args->channel_order, "Embedding input channel order (measurement)")
        ->check(CLI::IsMember({"rgb", "bgr"}));
    lfw->add_flag("--no-flip", args->no_flip, "Embed the face only, not also its mirror image (measurement)");
    add_json_flag(*lfw, context);
    lfw->callback([&context, args] {
        context.action = [&context, args] {
            const LfwPairs parsed = parse_lfw_pairs(args->pairs);
            EngineOptions options;
            options.rgb_embedding = args->channel_order == "rgb";
            options.flip_fusion = !args->no_flip;
            // Each distinct image once.
            std::map<std::pair<std::string, int>, int> index;
            std::vector<std::filesystem::path> images;
            std::vector<std::string> identity_names;
            auto image_id = [&](const std::string& name, int i) {
                auto [it, inserted] = index.try_emplace({name, i}, static_cast<int>(images.size()));
                if (inserted) {
                    images.push_back(lfw_image_path(args->root, name, i));
                    identity_names.push_back(name);
                }
                return it->second;
            };
            std::vector<std::pair<int, int>> pair_images;
            for (const auto& p : parsed.pairs) pair_images.emplace_back(image_id(p.name_a, p.index_a), image_id(p.name_b, p.index_b));

            const auto items = templates_with_progress(context, images, options, args->threads, "eval lfw");
            int no_face = 0, failed = 0;
            for (const auto& item : items) {
                if (item.face_template) continue;
                ++failed;
                no_face += item.error == "no_face";
            }
            // A pair with a failed image counts as a non-match (score -1): failures cost accuracy.
            std::vector<ScoredPair> scored;
            int pairs_failed = 0;
            for (std::size_t k = 0; k < parsed.pairs.size(); ++k) {
                const auto& a = items[pair_images[k].first].face_template;
                const auto& b = items[pair_images[k].second].face_template;
                const double s = (a && b) ? similarity(*a, *b) : -1.0;
                pairs_failed += !(a && b);
                scored.push_back({s, parsed.pairs[k].same, parsed.pairs[k].fold});
            }
            const FoldedAccuracy accuracy = folded_accuracy(scored, parsed.folds);

            // TAR at low FMR needs far more impostors than the file's mismatched pairs (500 in
            // DevTest cannot resolve 1e-3): use the file's genuine pairs against every
            // cross-identity pair of its images.
            std::vector<const Template*> templates;
            std::vector<int> identity;
            std::map<std::string, int> identity_ids;
            for (std::size_t i = 0; i < items.size(); ++i) {
                if (!items[i].face_template) continue;
                templates.push_back(&*items[i].face_template);
                identity.push_back(identity_ids.try_emplace(identity_names[i], static_cast<int>(identity_ids.size())).first->second);
            }
            const std::vector<double> impostors = all_pair_scores(templates, identity).impostor;
            std::vector<double> genuine;
            for (const auto& p : scored)
                if (p.same) genuine.push_back(p.score);

            nlohmann::json tar = nlohmann::json::object();
            for (const auto& [key, fmr] : kReportedFmrs) {
                bool resolvable = true;
                const double t = threshold_at_fmr(impostors, fmr, &resolvable);
                if (resolvable) tar[key] = tar_at_threshold(genuine, t);
            }
            if (args->roc) write_roc_png(*args->roc, genuine, impostors, "LFW " + args->pairs.filename().string());

            const StageTimings medians = median_timings(items);
            nlohmann::json j{{"pairs", scored.size()},
                             {"images", images.size()},
                             {"no_face", no_face},
                             {"failed_images", failed},
                             {"failed_pairs", pairs_failed},
                             {"folds", parsed.folds},
                             {"cross_validated", accuracy.cross_validated},
                             {"accuracy", accuracy.accuracy},
                             {"accuracy_std", accuracy.accuracy_std},
                             {"fold_thresholds", accuracy.fold_thresholds},
                             {"tar_at_fmr", tar},
                             {"accuracy_at_threshold",
                              args->threshold ? nlohmann::json{{"threshold", *args->threshold},
                                                               {"accuracy", accuracy_at(scored, *args->threshold)}}
                                              : nlohmann::json()},
                             {"tar_impostor_pairs", impostors.size()},
                             {"tar_genuine_pairs", genuine.size()},
                             {"template_model", templates.empty() ? "" : templates[0]->model_id},
                             {"timing_ms_median", timings_json(medians)}};
            print(context, j, [&](std::ostream& out) {
                out << std::fixed << std::setprecision(2);
                out << "pairs " << scored.size() << " (" << images.size() << " images, " << no_face << " without a face, "
                    << pairs_failed << " pairs failed)\n";
                if (accuracy.cross_validated)
                    out << "accuracy " << 100 * accuracy.accuracy << "% ± " << 100 * accuracy.accuracy_std << " ("
                        << parsed.folds << "-fold: threshold chosen on the other folds)\n";
                else
                    out << "accuracy " << 100 * accuracy.accuracy << "% (not a 10-fold file: best-threshold accuracy "
                        << "on all pairs)\n";
                if (args->threshold)
                    out << "accuracy " << 100 * accuracy_at(scored, *args->threshold) << "% at the fixed threshold "
                        << std::setprecision(4) << *args->threshold << std::setprecision(2) << '\n';
                for (const auto& [key, fmr] : kReportedFmrs)
                    if (tar.contains(key))
                        out << "TAR@FMR" << key << " " << 100 * tar[key].get<double>() << "% ";
                out << "(" << genuine.size() << " genuine pairs vs " << impostors.size()
                    << " cross-identity impostor pairs of the file's images)\n";
                out << "median ms per image:";
                for (const auto& [stage, ms] : medians) out << ' ' << stage << ' ' << ms;
                out << '\n';
            });
            return exit_ok;
        };
    });
}

}  // namespace faceproof::cli
