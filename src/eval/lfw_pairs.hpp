// faceproof — LFW-style pairs files: the verification evaluation's input.
// Thread safety: all functions are reentrant.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace faceproof {

// One line of an LFW-style pairs file.
struct LfwPair {
    std::string name_a;
    int index_a = 0;
    std::string name_b;
    int index_b = 0;
    bool same = false;
    int fold = 0;  // 0-based fold the pair belongs to (see LfwPairs::folds)
};

struct LfwPairs {
    std::vector<LfwPair> pairs;
    int folds = 1;  // 10 for the View 2 format ("10 300" header), 1 for the dev format ("1100")
};

// Parses both header forms: "N" (one set: N matched then N mismatched lines) and
// "F N" (F folds, each N matched then N mismatched). Throws Error{invalid_argument} with the line
// number on malformed input, io_error when missing, unreadable, not a regular file or larger than
// 64 MiB (input_limit::dataset_list; refused from its size, before reading).
LfwPairs parse_lfw_pairs(const std::filesystem::path& file);
// Image path of (name, index) under root: root/name/name_%04d.jpg.
std::filesystem::path lfw_image_path(const std::filesystem::path& root, const std::string& name, int index);

}  // namespace faceproof
