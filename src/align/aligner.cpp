#include <atomic>
#include "align/aligner.hpp"

#include <opencv2/imgproc.hpp>

#include "faceproof/error.hpp"

namespace faceproof {

const Points5& arcface_template_112() {
    static const Points5 points{cv::Point2f{38.2946f, 51.6963f}, cv::Point2f{73.5318f, 51.5014f},
                                cv::Point2f{56.0252f, 71.7366f}, cv::Point2f{41.5493f, 92.3655f},
                                cv::Point2f{70.7299f, 92.2041f}};
    return points;
}

// Closed form: with centred points, the best [a -b; b a] is a = Σ(x·u + y·v)/Σ|p|²,
// b = Σ(x·v − y·u)/Σ|p|², which is what the 4-parameter linear least squares solves to.
cv::Matx23d similarity_transform(const cv::Point2f* src, const cv::Point2f* dst, int count) {
    if (count < 2) throw Error(ErrorCode::invalid_argument, "similarity_transform needs at least 2 points");
    cv::Point2d src_mean(0, 0), dst_mean(0, 0);
    for (int i = 0; i < count; ++i) {
        src_mean += cv::Point2d(src[i]);
        dst_mean += cv::Point2d(dst[i]);
    }
    src_mean /= count;
    dst_mean /= count;
    double norm = 0, a = 0, b = 0;
    for (int i = 0; i < count; ++i) {
        const cv::Point2d p = cv::Point2d(src[i]) - src_mean;
        const cv::Point2d q = cv::Point2d(dst[i]) - dst_mean;
        norm += p.dot(p);
        a += p.x * q.x + p.y * q.y;
        b += p.x * q.y - p.y * q.x;
    }
    if (norm < 1e-9) throw Error(ErrorCode::invalid_argument, "similarity_transform: degenerate points");
    a /= norm;
    b /= norm;
    const double tx = dst_mean.x - (a * src_mean.x - b * src_mean.y);
    const double ty = dst_mean.y - (b * src_mean.x + a * src_mean.y);
    return {a, -b, tx, b, a, ty};
}

namespace {
std::atomic<std::uint64_t> crops_made{0};
}  // namespace

std::uint64_t align_face_count() { return crops_made.load(); }

cv::Mat align_face(const cv::Mat& bgr, const Points5& points, int side) {
    ++crops_made;
    Points5 target = arcface_template_112();
    for (auto& p : target) p *= side / 112.f;
    const cv::Matx23d m = similarity_transform(points.data(), target.data(), 5);
    cv::Mat out;
    cv::warpAffine(bgr, out, m, {side, side}, cv::INTER_LINEAR, cv::BORDER_CONSTANT, cv::Scalar::all(0));
    return out;
}

}  // namespace faceproof
