// faceproof keys generate FILE — a new data key for sealing templates at rest (32 random bytes,
// written as 64 hex characters to a new owner-only file; an existing file is never overwritten).
// faceproof keys rotate --new-key-file NEW — re-seal everything stored under the new key.
#include <iostream>

#include "cli/cli.hpp"
#include "faceproof/crypto.hpp"

namespace faceproof::cli {

void register_keys(CLI::App& app, Context& context) {
    auto file = std::make_shared<std::filesystem::path>();
    auto* keys = app.add_subcommand("keys", "Data keys that seal stored templates");
    keys->require_subcommand(1);
    auto* generate = keys->add_subcommand("generate", "Write a new random data key to FILE (mode 0600, never "
                                                      "overwrites); keep it outside the database and back it up");
    generate->add_option("FILE", *file, "Key file to create")->required();
    add_json_flag(*generate, context);
    generate->callback([&context, file] {
        context.action = [&context, file] {
            DataKey::generate_file(*file);
            const std::string id = DataKey::from_file(*file).id();
            print(context, {{"key_file", file->string()}, {"key_id", id}}, [&](std::ostream& out) {
                out << "wrote " << file->string() << " (key id " << id << ")\n";
            });
            return exit_ok;
        };
    });

    struct RotateArgs {
        StoreOptions store;
        std::filesystem::path new_key_file;
    };
    auto rotate_args = std::make_shared<RotateArgs>();
    auto* rotate = keys->add_subcommand(
        "rotate", "Re-seal every stored template and image under the new key, batch by batch (reads keep "
                  "working; an interrupted run can be rerun). Then point --key-file / $FACEPROOF_KEY_FILE at "
                  "the new key and retire the old one");
    add_store_options(*rotate, rotate_args->store, true);
    rotate->add_option("--new-key-file", rotate_args->new_key_file, "The new data key")->required();
    add_json_flag(*rotate, context);
    rotate->callback([&context, rotate_args] {
        context.action = [&context, rotate_args] {
            DataKey new_key = DataKey::from_file(rotate_args->new_key_file);
            const std::string id = new_key.id();
            auto registry = open_registry(rotate_args->store, StoreOpening::existing_only, true);
            registry->rotate_key(cli_actor(), std::move(new_key));
            print(context, {{"new_key_id", id}, {"rotated", true}}, [&](std::ostream& out) {
                out << "every stored template is now sealed with key " << id << '\n';
            });
            return exit_ok;
        };
    });
}

}  // namespace faceproof::cli
