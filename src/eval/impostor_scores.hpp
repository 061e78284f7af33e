// Similarity scores of all pairs of templates with different identities (and the same-identity
// pairs too), computed as one matrix product.
#pragma once

#include <vector>

#include "faceproof/template.hpp"

namespace faceproof {

struct PairScores {
    std::vector<double> genuine;   // i < j, same identity
    std::vector<double> impostor;  // i < j, different identities
};

// templates[i] belongs to identity[i]; all templates must share model and dimension.
PairScores all_pair_scores(const std::vector<const Template*>& templates, const std::vector<int>& identity);

}  // namespace faceproof
