// Where faceproof keeps its own files by default: $XDG_DATA_HOME/faceproof when XDG_DATA_HOME is
// an absolute path (as the XDG spec requires), else ~/.local/share/faceproof; empty when neither
// is set. The default store and the default data key live there.
#pragma once

#include <filesystem>

namespace faceproof {

std::filesystem::path default_data_dir();

}  // namespace faceproof
