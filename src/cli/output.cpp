#include <iostream>

#include "cli/cli.hpp"
#include "report/json_report.hpp"

namespace faceproof::cli {

std::shared_ptr<const ModelSet> Context::open_models() const {
    return ModelSet::open(resolve_model_dir(models_dir));
}

void print(const Context& context, const nlohmann::json& json, const std::function<void(std::ostream&)>& text) {
    if (context.json)
        std::cout << json.dump(2) << '\n';
    else
        text(std::cout);
    std::cout.flush();
}

void add_json_flag(CLI::App& command, Context& context) {
    command.add_flag("--json", context.json, "Print the result as JSON on stdout");
}

int exit_code_for(ErrorCode code) {
    switch (code) {
        case ErrorCode::invalid_argument: return exit_usage;
        case ErrorCode::not_found: return exit_no_match;  // "subjects show/delete REF": no such subject
        default: return exit_cannot_decide;
    }
}

void note(const std::string& message) { std::cerr << "faceproof: " << message << '\n'; }

int report_error(const Context& context, const Error& error) {
    if (context.json)
        std::cout << nlohmann::json{{"error", error_json(error)}}.dump(2) << '\n';
    else
        std::cerr << "faceproof: " << error.what() << " [" << to_string(error.code()) << "]\n";
    return exit_code_for(error.code());
}

}  // namespace faceproof::cli
