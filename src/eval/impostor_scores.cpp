#include "eval/impostor_scores.hpp"

#include <opencv2/core.hpp>

#include "faceproof/error.hpp"

namespace faceproof {

PairScores all_pair_scores(const std::vector<const Template*>& templates, const std::vector<int>& identity) {
    if (templates.size() != identity.size())
        throw Error(ErrorCode::invalid_argument, "all_pair_scores: one identity per template");
    PairScores scores;
    if (templates.size() < 2) return scores;
    const int n = static_cast<int>(templates.size());
    const int dimension = static_cast<int>(templates[0]->values.size());
    cv::Mat m(n, dimension, CV_32F);
    for (int i = 0; i < n; ++i) {
        if (templates[i]->model_id != templates[0]->model_id || static_cast<int>(templates[i]->values.size()) != dimension)
            throw Error(ErrorCode::template_mismatch, "all_pair_scores: templates of different models");
        std::copy(templates[i]->values.begin(), templates[i]->values.end(), m.ptr<float>(i));
    }
    // Templates are unit vectors, so the Gram matrix holds the cosine similarities.
    cv::Mat gram;
    cv::gemm(m, m, 1.0, cv::noArray(), 0.0, gram, cv::GEMM_2_T);
    scores.impostor.reserve(static_cast<std::size_t>(n) * (n - 1) / 2);
    for (int i = 0; i < n; ++i) {
        const float* row = gram.ptr<float>(i);
        for (int j = i + 1; j < n; ++j) (identity[i] == identity[j] ? scores.genuine : scores.impostor).push_back(row[j]);
    }
    return scores;
}

}  // namespace faceproof
