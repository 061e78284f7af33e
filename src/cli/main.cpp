// `faceproof` — thin command line over the library. Parsing and dispatch only; each command lives
// in its own file, errors become exit codes in report_error().
#include <iostream>

#include "cli/cli.hpp"
#include "inference/network.hpp"

int main(int argc, char** argv) {
    using namespace faceproof;
    cli::Context context;
    CLI::App app{"faceproof — identity proofing by face: verify that a live capture shows the owner of an ID portrait"};
    app.require_subcommand(1);
    app.fallthrough();  // global options may follow the command name too
    app.add_option("--models", context.models_dir,
                   "Model directory (default: $FACEPROOF_MODELS, else ~/.local/share/faceproof/models)");
    std::string backend;
    app.add_option("--backend", backend,
                   "Inference backend: onednn (default; faceproof's executor) or opencv (OpenCV DNN, the reference); "
                   "default $FACEPROOF_BACKEND")
        ->check(CLI::IsMember({"onednn", "opencv"}));
    cli::register_verify(app, context);
    cli::register_detect(app, context);
    cli::register_template(app, context);
    cli::register_eval(app, context);
    cli::register_calibrate(app, context);
    cli::register_models(app, context);
    cli::register_keys(app, context);
    cli::register_quality(app, context);
    cli::register_liveness(app, context);
    cli::register_document(app, context);
    cli::register_enroll(app, context);
    cli::register_search(app, context);
    cli::register_subjects(app, context);
    cli::register_audit(app, context);
    cli::register_serve(app, context);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return cli::exit_usage;
    }
    try {
        if (!backend.empty()) set_inference_backend(parse_inference_backend(backend));
        return context.action ? context.action() : cli::exit_usage;
    } catch (const Error& e) {
        return cli::report_error(context, e);
    } catch (const std::exception& e) {
        return cli::report_error(context, Error(ErrorCode::internal, e.what()));
    }
}
