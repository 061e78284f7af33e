// Shared pieces of the `faceproof` command line: global options, the one output printer, and the
// registration function of each command (one file per command).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "faceproof/engine.hpp"
#include "faceproof/error.hpp"
#include "faceproof/models.hpp"
#include "faceproof/audit_trail.hpp"
#include "faceproof/registry.hpp"
#include "faceproof/store.hpp"

namespace faceproof {
struct BatchItem;
}

namespace faceproof::cli {

// Exit codes of every command (README "Exit codes").
enum ExitCode : int { exit_ok = 0, exit_no_match = 1, exit_cannot_decide = 2, exit_usage = 64 };

struct Context {
    std::optional<std::filesystem::path> models_dir;
    bool json = false;
    // The action of the command that was parsed; returns the exit code.
    std::function<int()> action;

    std::shared_ptr<const ModelSet> open_models() const;
};

// All command output goes through here: JSON on stdout with --json, else the text form.
void print(const Context& context, const nlohmann::json& json, const std::function<void(std::ostream&)>& text);
// The one place errors become exit codes and messages.
int report_error(const Context& context, const Error& error);
// A remark beside the result ("faceproof: MESSAGE" on stderr), so stdout stays the result alone.
void note(const std::string& message);

// Templates of image files on `threads` cores (0 = all) with a progress bar on stderr.
std::vector<BatchItem> templates_with_progress(const Context& context, const std::vector<std::filesystem::path>& images,
                                               const EngineOptions& options, int threads, const std::string& label);

// --db, --key-file, --tenant of the commands that use the store.
struct StoreOptions {
    std::string db;  // default: $FACEPROOF_DB, else "sqlite:" (the embedded store in the XDG data dir)
    std::optional<std::filesystem::path> key_file;  // default: $FACEPROOF_KEY_FILE
    std::string tenant = "default";
};
void add_store_options(CLI::App& command, StoreOptions& options, bool with_key);
// The store of --db. Only the commands that may be the first to write (enroll, verify, serve,
// api-keys create) pass create_if_missing; a store they create is announced ("faceproof: created
// the store PATH"). Every other command refuses a store that does not exist (a mistyped --db).
std::unique_ptr<Store> open_store(const std::string& url, StoreOpening opening);
std::unique_ptr<Store> open_store(const StoreOptions& options, StoreOpening opening);
// The key is loaded when need_key, or when one is given (flag or environment) anyway.
std::unique_ptr<Registry> open_registry(const StoreOptions& options, StoreOpening opening, bool need_key,
                                        const RegistryOptions& registry_options = {});
std::string database_url(const StoreOptions& options);

// The time of a document decision: --now as YYYY-MM-DD (midnight UTC) or an RFC 3339 time, else now.
// throws: invalid_argument (exit 64) for anything else.
std::chrono::system_clock::time_point document_decision_time(const std::optional<std::string>& now);

// Adds --json to a subcommand.
void add_json_flag(CLI::App& command, Context& context);

void register_verify(CLI::App& app, Context& context);
void register_detect(CLI::App& app, Context& context);
void register_template(CLI::App& app, Context& context);  // template + compare
void register_eval(CLI::App& app, Context& context);
void register_calibrate(CLI::App& app, Context& context);
void register_models(CLI::App& app, Context& context);
void register_keys(CLI::App& app, Context& context);
void register_quality(CLI::App& app, Context& context);
void register_liveness(CLI::App& app, Context& context);
void register_document(CLI::App& app, Context& context);  // document check, mrz, id-number
void register_eval_pad(CLI::App& eval, Context& context);  // `eval pad`, called by register_eval
void register_eval_sessions(CLI::App& eval, Context& context);  // `eval liveness-sessions`, likewise
void register_enroll(CLI::App& app, Context& context);
void register_search(CLI::App& app, Context& context);
void register_subjects(CLI::App& app, Context& context);  // subjects list|show|delete + purge
void register_audit(CLI::App& app, Context& context);
void register_serve(CLI::App& app, Context& context);  // serve + api-keys

}  // namespace faceproof::cli
