// faceproof keys generate FILE — a new data key for sealing templates at rest (32 random bytes,
// written as 64 hex characters to a new owner-only file; an existing file is never overwritten).
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
}

}  // namespace faceproof::cli
