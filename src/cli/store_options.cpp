// Options shared by the commands that use the store: which database, which data key, which tenant.
#include <cstdlib>

#include "cli/cli.hpp"
#include "faceproof/crypto.hpp"

namespace faceproof::cli {

void add_store_options(CLI::App& command, StoreOptions& options, bool with_key) {
    command.add_option("--db", options.db,
                       "Database: sqlite:PATH, sqlite: (default: $FACEPROOF_DB, else the embedded store in "
                       "$XDG_DATA_HOME/faceproof) or postgresql://...");
    if (with_key)
        command.add_option("--key-file", options.key_file,
                           "Data key sealing the templates (default: $FACEPROOF_KEY_FILE, else "
                           "$XDG_DATA_HOME/faceproof/data.key if it exists; `faceproof keys generate FILE` makes one)");
    command.add_option("--tenant", options.tenant, "Tenant (the operator's partition of the store)")
        ->default_val("default");
}

std::string database_url(const StoreOptions& options) { return Store::resolve_url(options.db); }

std::unique_ptr<Store> open_store(const std::string& url, StoreOpening opening) {
    OpenedStore opened = Store::open(url, opening);
    if (!opened.created.empty()) note("created the store " + opened.created);
    return std::move(opened.store);
}

std::unique_ptr<Store> open_store(const StoreOptions& options, StoreOpening opening) {
    return open_store(database_url(options), opening);
}

std::unique_ptr<Registry> open_registry(const StoreOptions& options, StoreOpening opening, bool need_key,
                                        const RegistryOptions& registry_options) {
    std::vector<DataKey> keys;
    if (need_key || DataKey::configured(options.key_file)) keys.push_back(DataKey::from_environment_or_file(options.key_file));
    return Registry::open(open_store(options, opening), std::move(keys), Calibration::shipped(), registry_options);
}

}  // namespace faceproof::cli
