// Labelled presentation-attack sets: the labels CSV and the split of subjects for calibration.
//
// parse_pad_labels(file)
//   requires: a CSV with a header naming at least the columns file, label, subject and (for attacks)
//             attack_type, in any order; label is "real" (bona fide) or "spoof" (attack); no quoted
//             fields containing commas.
//   ensures:  one row per data line, in file order; blank lines skipped. Throws invalid_argument
//             with the line number on malformed input, io_error when missing, unreadable, not a
//             regular file or larger than 64 MiB (input_limit::dataset_list, refused before reading).
// split_subjects_alternate(subjects): the distinct subjects sorted by name; those at even positions
//   (0, 2, 4, ...) are the calibration subjects. Deterministic and balanced by construction.
// split_subjects_hashed(subjects, seed): a subject is a calibration subject when the FNV-1a 64-bit
//   hash of "<seed>:<subject>" is even.
// Thread safety: pure and reentrant.
#pragma once

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace faceproof {

struct PadLabel {
    std::filesystem::path file;  // relative to the data root
    bool bona_fide = false;
    std::string attack_type;     // "live" (or as given) for bona fide
    std::string subject;
};

std::vector<PadLabel> parse_pad_labels(const std::filesystem::path& file);

std::set<std::string> split_subjects_alternate(const std::set<std::string>& subjects);
std::set<std::string> split_subjects_hashed(const std::set<std::string>& subjects, std::uint64_t seed);

}  // namespace faceproof
