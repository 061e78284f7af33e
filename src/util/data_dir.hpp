// Where faceproof keeps its own files by default: $XDG_DATA_HOME/faceproof when XDG_DATA_HOME is
// an absolute path (as the XDG spec requires), else ~/.local/share/faceproof; empty when neither
// is set. The default store and the default data key live there.
#pragma once

#include <filesystem>

namespace faceproof {

std::filesystem::path default_data_dir();

// Creates dir and every missing parent with mode 0700 (owner only: the store and the key hold
// biometric data and its key); directories that exist are left as they are.
// throws: Error{io_error} naming the directory that could not be created.
void create_private_directories(const std::filesystem::path& dir);

}  // namespace faceproof
