// Tests of the geometry under the pipeline: similarity transform and alignment, quarter-turn
// rotations of images, points and boxes, NMS / IoU / clipping, the choice of the most prominent
// face, and the 68 -> 5 landmark reduction. No models needed: everything is synthetic.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "align/aligner.hpp"
#include "detect/face_detector.hpp"
#include "align/rotation.hpp"
#include "faceproof/engine.hpp"
#include "faceproof/error.hpp"
#include "landmarks/landmarker.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
using fp::ErrorCode;
using fptest::expect_error_code;

namespace {

cv::Point2d apply(const cv::Matx23d& m, cv::Point2d p) {
    return {m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2), m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2)};
}

// Rotation by angle (radians, counter-clockwise in a y-up frame), uniform scale, translation.
cv::Matx23d make_similarity(double scale, double angle, double tx, double ty) {
    const double a = scale * std::cos(angle), b = scale * std::sin(angle);
    return {a, -b, tx, b, a, ty};
}

double squared_residual(const cv::Matx23d& m, const std::vector<cv::Point2f>& src, const std::vector<cv::Point2f>& dst) {
    double sum = 0;
    for (std::size_t i = 0; i < src.size(); ++i) {
        const cv::Point2d d = apply(m, src[i]) - cv::Point2d(dst[i]);
        sum += d.dot(d);
    }
    return sum;
}

// An irregular face-like set of five points (not symmetric, so rotation and reflection are visible).
std::vector<cv::Point2f> five_source_points() {
    return {{101.3f, 120.2f}, {163.9f, 117.5f}, {137.1f, 158.4f}, {108.8f, 190.6f}, {160.2f, 193.7f}};
}

void expect_similarity_form(const cv::Matx23d& m) {
    EXPECT_NEAR(m(0, 0), m(1, 1), 1e-12) << "not a similarity: " << m;
    EXPECT_NEAR(m(0, 1), -m(1, 0), 1e-12) << "not a similarity: " << m;
    EXPECT_GT(m(0, 0) * m(1, 1) - m(0, 1) * m(1, 0), 0) << "the transform reflects: " << m;
}

}  // namespace

// --- similarity_transform --------------------------------------------------------------------------

TEST(SimilarityTransform, RecoversKnownTransformExactly) {
    const auto src = five_source_points();
    for (const auto& [scale, degrees, tx, ty] : std::vector<std::tuple<double, double, double, double>>{
             {1.7, 23.0, 12.5, -7.25}, {0.42, -61.0, -30.0, 44.0}, {1.0, 180.0, 5.0, 5.0}, {3.0, 0.0, 0.0, 0.0}}) {
        SCOPED_TRACE(testing::Message() << "scale " << scale << " angle " << degrees << " t (" << tx << ", " << ty << ")");
        const cv::Matx23d truth = make_similarity(scale, degrees * std::numbers::pi / 180, tx, ty);
        std::vector<cv::Point2f> dst;
        for (const auto& p : src) dst.push_back(cv::Point2f(apply(truth, p)));
        const cv::Matx23d m = fp::similarity_transform(src.data(), dst.data(), 5);
        expect_similarity_form(m);
        for (int r = 0; r < 2; ++r) {
            for (int c = 0; c < 2; ++c) EXPECT_NEAR(m(r, c), truth(r, c), 1e-5) << "(" << r << "," << c << ")";
            EXPECT_NEAR(m(r, 2), truth(r, 2), 2e-3) << "translation " << r;
        }
        for (std::size_t i = 0; i < src.size(); ++i) {
            const cv::Point2d mapped = apply(m, src[i]);
            EXPECT_NEAR(mapped.x, dst[i].x, 1e-3) << "point " << i;
            EXPECT_NEAR(mapped.y, dst[i].y, 1e-3) << "point " << i;
        }
    }
}

TEST(SimilarityTransform, IsTheLeastSquaresFitWithNoise) {
    const auto src = five_source_points();
    const cv::Matx23d truth = make_similarity(0.8, 0.3, 20, -10);
    const float noise[5][2] = {{1.5f, -0.7f}, {-1.1f, 0.9f}, {0.4f, 1.8f}, {-2.0f, -0.3f}, {0.6f, -1.2f}};
    std::vector<cv::Point2f> dst;
    for (int i = 0; i < 5; ++i) dst.push_back(cv::Point2f(apply(truth, src[i])) + cv::Point2f(noise[i][0], noise[i][1]));

    const cv::Matx23d m = fp::similarity_transform(src.data(), dst.data(), 5);
    expect_similarity_form(m);
    const double best = squared_residual(m, src, dst);
    // Noise that no similarity explains: the fit is not exact ...
    EXPECT_GT(best, 0.5);
    // ... but at least as good as the transform the points came from ...
    EXPECT_LE(best, squared_residual(truth, src, dst) + 1e-9);
    // ... and a minimum: moving any of the four parameters (a, b, tx, ty) either way makes it worse.
    const double step[4] = {1e-3, 1e-3, 1e-2, 1e-2};
    for (int k = 0; k < 4; ++k)
        for (double sign : {-1.0, 1.0}) {
            cv::Matx23d p = m;
            const double d = sign * step[k];
            if (k == 0) p(0, 0) += d, p(1, 1) += d;
            if (k == 1) p(1, 0) += d, p(0, 1) -= d;
            if (k == 2) p(0, 2) += d;
            if (k == 3) p(1, 2) += d;
            EXPECT_GT(squared_residual(p, src, dst), best) << "parameter " << k << " step " << d;
        }
    // And it is still close to the truth.
    EXPECT_NEAR(std::hypot(m(0, 0), m(1, 0)), 0.8, 0.05);
    EXPECT_NEAR(std::atan2(m(1, 0), m(0, 0)), 0.3, 0.05);
}

TEST(SimilarityTransform, NeverReflects) {
    // The target is the mirror image of the source: a reflection would fit exactly, a proper
    // similarity cannot. The result must stay a rotation + scale (positive determinant).
    const auto src = five_source_points();
    std::vector<cv::Point2f> mirrored;
    for (const auto& p : src) mirrored.push_back({300.f - p.x, p.y});
    const cv::Matx23d m = fp::similarity_transform(src.data(), mirrored.data(), 5);
    expect_similarity_form(m);
    EXPECT_GT(squared_residual(m, src, mirrored), 100.0) << "a perfect fit onto a mirror image needs a reflection";

    // Also against the ArcFace template itself, as alignment uses it.
    const auto& tpl = fp::arcface_template_112();
    std::vector<cv::Point2f> mirrored_tpl;
    for (const auto& p : tpl) mirrored_tpl.push_back({112.f - p.x, p.y});
    expect_similarity_form(fp::similarity_transform(mirrored_tpl.data(), tpl.data(), 5));
}

TEST(SimilarityTransform, DegenerateInputIsInvalidArgument) {
    const std::vector<cv::Point2f> same(5, cv::Point2f(10, 20));
    const auto dst = five_source_points();
    expect_error_code(ErrorCode::invalid_argument, [&] { fp::similarity_transform(same.data(), dst.data(), 5); });
    expect_error_code(ErrorCode::invalid_argument, [&] { fp::similarity_transform(dst.data(), dst.data(), 1); });
    expect_error_code(ErrorCode::invalid_argument, [&] { fp::similarity_transform(dst.data(), dst.data(), 0); });
}

// --- align_face ------------------------------------------------------------------------------------

namespace {

// Centroid of the pixels within tolerance of colour; (-1, -1) when there are none.
cv::Point2d colour_centroid(const cv::Mat& image, cv::Vec3b colour, int tolerance = 50) {
    double sx = 0, sy = 0, n = 0;
    for (int y = 0; y < image.rows; ++y)
        for (int x = 0; x < image.cols; ++x) {
            const cv::Vec3b p = image.at<cv::Vec3b>(y, x);
            if (std::abs(p[0] - colour[0]) <= tolerance && std::abs(p[1] - colour[1]) <= tolerance &&
                std::abs(p[2] - colour[2]) <= tolerance) {
                sx += x + 0.5;  // pixel centre, in the continuous coordinates of the points
                sy += y + 0.5;
                ++n;
            }
        }
    return n > 0 ? cv::Point2d(sx / n, sy / n) : cv::Point2d(-1, -1);
}

}  // namespace

TEST(AlignFace, PlacesTheFivePointsOnTheTemplate) {
    // A synthetic "face": five coloured discs at the template points moved by a known similarity.
    const cv::Vec3b colours[5] = {{0, 0, 255}, {0, 255, 0}, {255, 0, 0}, {0, 255, 255}, {255, 0, 255}};
    const cv::Matx23d placement = make_similarity(2.6, 0.35, 130, 40);
    const auto& tpl = fp::arcface_template_112();
    cv::Mat image(420, 520, CV_8UC3, cv::Scalar(128, 128, 128));
    fp::Points5 source;
    for (int i = 0; i < 5; ++i) {
        source[i] = cv::Point2f(apply(placement, tpl[i]));
        // Pixel (x, y) covers [x, x+1): the disc centred on the continuous point p has its pixel
        // centre at p - 0.5. Drawn with 4 fractional bits.
        const cv::Point centre(cvRound((source[i].x - 0.5) * 16), cvRound((source[i].y - 0.5) * 16));
        cv::circle(image, centre, 9 * 16, cv::Scalar(colours[i]), cv::FILLED, cv::LINE_8, 4);
    }
    ASSERT_TRUE(cv::Rect(0, 0, image.cols, image.rows).contains(source[3]));

    for (int side : {112, 224}) {
        SCOPED_TRACE(testing::Message() << "side " << side);
        const cv::Mat aligned = fp::align_face(image, source, side);
        ASSERT_EQ(aligned.size(), cv::Size(side, side));
        ASSERT_EQ(aligned.type(), CV_8UC3);
        for (int i = 0; i < 5; ++i) {
            const cv::Point2d expected = cv::Point2d(tpl[i]) * (side / 112.0);
            const cv::Point2d found = colour_centroid(aligned, colours[i]);
            EXPECT_NEAR(found.x, expected.x, 0.75 * side / 112.0) << "point " << i;
            EXPECT_NEAR(found.y, expected.y, 0.75 * side / 112.0) << "point " << i;
        }
    }
}

TEST(AlignFace, TemplateIsTheArcFaceOne) {
    const auto& t = fp::arcface_template_112();
    EXPECT_NEAR(t[0].x, 38.2946, 1e-4);
    EXPECT_NEAR(t[0].y, 51.6963, 1e-4);
    EXPECT_NEAR(t[1].x, 73.5318, 1e-4);
    EXPECT_NEAR(t[2].x, 56.0252, 1e-4);
    EXPECT_NEAR(t[4].y, 92.2041, 1e-4);
    // Image order: left eye left of right eye, nose below the eyes, mouth below the nose.
    EXPECT_LT(t[0].x, t[1].x);
    EXPECT_LT(t[3].x, t[4].x);
    EXPECT_GT(t[2].y, t[0].y);
    EXPECT_GT(t[3].y, t[2].y);
}

// --- quarter-turn rotations --------------------------------------------------------------------------

namespace {
const int kDegrees[] = {0, 90, 180, 270};

cv::Size rotated_size(cv::Size s, int degrees) { return degrees % 180 ? cv::Size(s.height, s.width) : s; }
}  // namespace

TEST(Rotation, PointsRoundTripOnNonSquareSizes) {
    std::mt19937 rng(7);
    for (const cv::Size size : {cv::Size(640, 480), cv::Size(300, 1000), cv::Size(17, 5)}) {
        std::uniform_real_distribution<float> ux(0, static_cast<float>(size.width)), uy(0, static_cast<float>(size.height));
        for (int degrees : kDegrees) {
            SCOPED_TRACE(testing::Message() << size << " " << degrees << " degrees");
            const cv::Size rs = rotated_size(size, degrees);
            for (int k = 0; k < 50; ++k) {
                const cv::Point2f p(ux(rng), uy(rng));
                const cv::Point2f r = fp::to_rotated(p, size, degrees);
                EXPECT_GE(r.x, 0.f);
                EXPECT_LE(r.x, static_cast<float>(rs.width));
                EXPECT_GE(r.y, 0.f);
                EXPECT_LE(r.y, static_cast<float>(rs.height));
                const cv::Point2f back = fp::from_rotated(r, size, degrees);
                EXPECT_NEAR(back.x, p.x, 1e-3);
                EXPECT_NEAR(back.y, p.y, 1e-3);
            }
            // The corners of the image are the corners of the rotated image.
            const cv::Point2f corners[4] = {{0, 0}, {static_cast<float>(size.width), 0},
                                            {0, static_cast<float>(size.height)},
                                            {static_cast<float>(size.width), static_cast<float>(size.height)}};
            for (const auto& c : corners) {
                const cv::Point2f r = fp::to_rotated(c, size, degrees);
                EXPECT_TRUE((r.x == 0 || r.x == rs.width) && (r.y == 0 || r.y == rs.height)) << c << " -> " << r;
            }
        }
    }
    // Clockwise: the top-left corner goes to the top-right after 90 degrees.
    EXPECT_EQ(fp::to_rotated({0, 0}, {640, 480}, 90), cv::Point2f(480, 0));
    EXPECT_EQ(fp::to_rotated({0, 0}, {640, 480}, 270), cv::Point2f(0, 640));
}

TEST(Rotation, RotateClockwiseAgreesWithPointMapping) {
    const cv::Size size(7, 4);
    for (int degrees : kDegrees) {
        for (const cv::Point marked : {cv::Point(5, 1), cv::Point(0, 3), cv::Point(6, 0)}) {
            SCOPED_TRACE(testing::Message() << degrees << " degrees, pixel " << marked);
            cv::Mat image = cv::Mat::zeros(size, CV_8UC1);
            image.at<uchar>(marked) = 255;
            const cv::Mat rotated = fp::rotate_clockwise(image, degrees);
            ASSERT_EQ(rotated.size(), rotated_size(size, degrees));
            std::vector<cv::Point> nonzero;
            cv::findNonZero(rotated, nonzero);
            ASSERT_EQ(nonzero.size(), 1u);
            const cv::Point2f centre(marked.x + 0.5f, marked.y + 0.5f);
            const cv::Point2f expected = fp::to_rotated(centre, size, degrees);
            EXPECT_FLOAT_EQ(nonzero[0].x + 0.5f, expected.x);
            EXPECT_FLOAT_EQ(nonzero[0].y + 0.5f, expected.y);
            const cv::Point2f back = fp::from_rotated({nonzero[0].x + 0.5f, nonzero[0].y + 0.5f}, size, degrees);
            EXPECT_FLOAT_EQ(back.x, centre.x);
            EXPECT_FLOAT_EQ(back.y, centre.y);
        }
    }
}

TEST(Rotation, BoxesMapToBoxes) {
    const cv::Size size(64, 40);
    const cv::Rect region(10, 5, 20, 12);  // pixels [10, 30) x [5, 17)
    cv::Mat image = cv::Mat::zeros(size, CV_8UC1);
    image(region).setTo(255);
    for (int degrees : kDegrees) {
        SCOPED_TRACE(testing::Message() << degrees << " degrees");
        const cv::Rect2f box(region);
        const cv::Rect2f rotated_box = fp::box_to_rotated(box, size, degrees);
        // The mapped box is exactly the rotated pixel region (continuous coordinates).
        const cv::Rect rotated_region = cv::boundingRect(fp::rotate_clockwise(image, degrees));
        EXPECT_EQ(rotated_box, cv::Rect2f(rotated_region));
        // Width and height swap on quarter turns.
        EXPECT_FLOAT_EQ(rotated_box.area(), box.area());
        EXPECT_FLOAT_EQ(rotated_box.width, degrees % 180 ? box.height : box.width);
        EXPECT_FLOAT_EQ(rotated_box.height, degrees % 180 ? box.width : box.height);
        // And back.
        const cv::Rect2f back = fp::box_from_rotated(rotated_box, size, degrees);
        EXPECT_NEAR(back.x, box.x, 1e-4);
        EXPECT_NEAR(back.y, box.y, 1e-4);
        EXPECT_NEAR(back.width, box.width, 1e-4);
        EXPECT_NEAR(back.height, box.height, 1e-4);
    }
}

TEST(Rotation, ZeroIsNoCopyAndOtherAnglesAreRejected) {
    cv::Mat image(3, 5, CV_8UC3, cv::Scalar(1, 2, 3));
    EXPECT_EQ(fp::rotate_clockwise(image, 0).data, image.data);
    // Four quarter turns give the image back.
    cv::Mat turned = image.clone();
    turned.at<cv::Vec3b>(0, 4) = {9, 9, 9};
    cv::Mat r = turned;
    for (int i = 0; i < 4; ++i) r = fp::rotate_clockwise(r, 90);
    EXPECT_EQ(cv::norm(r, turned, cv::NORM_INF), 0);
    EXPECT_EQ(cv::norm(fp::rotate_clockwise(fp::rotate_clockwise(turned, 90), 270), turned, cv::NORM_INF), 0);
    for (int bad : {45, -90, 360, 1}) {
        expect_error_code(ErrorCode::invalid_argument, [&] { fp::rotate_clockwise(image, bad); });
        expect_error_code(ErrorCode::invalid_argument, [&] { fp::to_rotated({1, 1}, {5, 3}, bad); });
        expect_error_code(ErrorCode::invalid_argument, [&] { fp::from_rotated({1, 1}, {5, 3}, bad); });
    }
}

// --- IoU, NMS, clipping ----------------------------------------------------------------------------

TEST(IntersectionOverUnion, KnownValues) {
    const cv::Rect2f a(0, 0, 10, 10);
    EXPECT_FLOAT_EQ(fp::intersection_over_union(a, a), 1.f);
    EXPECT_FLOAT_EQ(fp::intersection_over_union(a, {5, 0, 10, 10}), 50.f / 150.f);
    EXPECT_FLOAT_EQ(fp::intersection_over_union({5, 0, 10, 10}, a), 50.f / 150.f);  // symmetric
    EXPECT_FLOAT_EQ(fp::intersection_over_union(a, {0, 0, 5, 5}), 0.25f);             // contained
    EXPECT_FLOAT_EQ(fp::intersection_over_union(a, {5, 5, 10, 10}), 25.f / 175.f);
    EXPECT_FLOAT_EQ(fp::intersection_over_union(a, {20, 20, 5, 5}), 0.f);              // disjoint
    EXPECT_FLOAT_EQ(fp::intersection_over_union(a, {10, 0, 10, 10}), 0.f);             // touching
    EXPECT_FLOAT_EQ(fp::intersection_over_union({0, 0, 0, 0}, {0, 0, 0, 0}), 0.f);     // no NaN
}

TEST(NonMaxSuppression, OverlappingKeepsHighestScore) {
    const std::vector<cv::Rect2f> boxes{{2, 2, 100, 100}, {0, 0, 100, 100}, {4, 1, 98, 101}};
    const std::vector<float> scores{0.8f, 0.95f, 0.9f};
    EXPECT_EQ(fp::non_max_suppression(boxes, scores, 0.4f), std::vector<int>{1});
}

TEST(NonMaxSuppression, DisjointAreAllKeptByDecreasingScore) {
    const std::vector<cv::Rect2f> boxes{{0, 0, 10, 10}, {100, 0, 10, 10}, {0, 100, 10, 10}, {50, 50, 20, 20}};
    const std::vector<float> scores{0.7f, 0.99f, 0.8f, 0.75f};
    EXPECT_EQ(fp::non_max_suppression(boxes, scores, 0.4f), (std::vector<int>{1, 2, 3, 0}));
    EXPECT_TRUE(fp::non_max_suppression({}, {}, 0.4f).empty());
}

TEST(NonMaxSuppression, ThresholdIsRespected) {
    // IoU of the two boxes is exactly 1/3.
    const std::vector<cv::Rect2f> boxes{{0, 0, 10, 10}, {5, 0, 10, 10}};
    const std::vector<float> scores{0.6f, 0.9f};
    EXPECT_EQ(fp::non_max_suppression(boxes, scores, 0.5f), (std::vector<int>{1, 0}));
    EXPECT_EQ(fp::non_max_suppression(boxes, scores, 0.34f), (std::vector<int>{1, 0}));
    EXPECT_EQ(fp::non_max_suppression(boxes, scores, 0.33f), std::vector<int>{1});
    EXPECT_EQ(fp::non_max_suppression(boxes, scores, 0.1f), std::vector<int>{1});
}

TEST(NonMaxSuppression, SuppressionIsOnlyByKeptBoxes) {
    // A overlaps B, B overlaps C, A does not overlap C: greedy NMS keeps A and C.
    const std::vector<cv::Rect2f> boxes{{0, 0, 10, 10}, {6, 0, 10, 10}, {12, 0, 10, 10}};
    const std::vector<float> scores{0.9f, 0.8f, 0.7f};
    EXPECT_EQ(fp::non_max_suppression(boxes, scores, 0.2f), (std::vector<int>{0, 2}));
}

TEST(NonMaxSuppression, MismatchedLengthsAreInvalidArgument) {
    expect_error_code(ErrorCode::invalid_argument,
                      [] { fp::non_max_suppression({{0, 0, 1, 1}, {2, 2, 1, 1}}, {0.5f}, 0.4f); });
}

TEST(ClipBox, PartlyOutsideIsCut) {
    const cv::Size size(100, 50);
    EXPECT_EQ(fp::clip_box({-10, -5, 30, 20}, size), cv::Rect2f(0, 0, 20, 15));
    EXPECT_EQ(fp::clip_box({90, 40, 30, 20}, size), cv::Rect2f(90, 40, 10, 10));
    EXPECT_EQ(fp::clip_box({-10, -10, 200, 200}, size), cv::Rect2f(0, 0, 100, 50));
    EXPECT_EQ(fp::clip_box({10, 10, 20, 20}, size), cv::Rect2f(10, 10, 20, 20));  // inside: unchanged
}

TEST(ClipBox, FullyOutsideHasZeroSize) {
    const cv::Size size(100, 50);
    for (const cv::Rect2f box : {cv::Rect2f(150, 10, 20, 20), cv::Rect2f(-40, 10, 20, 20), cv::Rect2f(10, 60, 20, 20),
                                 cv::Rect2f(10, -30, 20, 20)}) {
        const cv::Rect2f c = fp::clip_box(box, size);
        EXPECT_EQ(c.area(), 0.f) << box << " -> " << c;
        EXPECT_GE(c.width, 0.f);
        EXPECT_GE(c.height, 0.f);
        EXPECT_TRUE(c.x >= 0 && c.x <= size.width && c.y >= 0 && c.y <= size.height) << c;
    }
}

// --- most_prominent_face -----------------------------------------------------------------------------

namespace {
fp::Face face_at(float cx, float cy, float side) {
    fp::Face f;
    f.box = {cx - side / 2, cy - side / 2, side, side};
    return f;
}
}  // namespace

TEST(MostProminentFace, PrefersLargerAtEqualDistance) {
    const cv::Size size(1000, 800);
    // Both 100 px from the centre.
    const std::vector<fp::Face> faces{face_at(400, 400, 100), face_at(600, 400, 180)};
    EXPECT_EQ(fp::most_prominent_face(faces, size), 1);
    const std::vector<fp::Face> swapped{faces[1], faces[0]};
    EXPECT_EQ(fp::most_prominent_face(swapped, size), 0);
}

TEST(MostProminentFace, PrefersCentralAtEqualSize) {
    const cv::Size size(1000, 800);
    const std::vector<fp::Face> faces{face_at(100, 100, 120), face_at(520, 390, 120), face_at(900, 700, 120)};
    EXPECT_EQ(fp::most_prominent_face(faces, size), 1);
    // A slightly larger face in a corner does not beat a central one ...
    const std::vector<fp::Face> corner{face_at(80, 80, 130), face_at(500, 400, 120)};
    EXPECT_EQ(fp::most_prominent_face(corner, size), 1);
    // ... but a much larger one does.
    const std::vector<fp::Face> big{face_at(200, 200, 400), face_at(500, 400, 120)};
    EXPECT_EQ(fp::most_prominent_face(big, size), 0);
}

TEST(MostProminentFace, EmptyAndSingle) {
    EXPECT_EQ(fp::most_prominent_face({}, {640, 480}), -1);
    EXPECT_EQ(fp::most_prominent_face({face_at(5, 5, 4)}, {640, 480}), 0);
}

// --- five_points_from_68 ---------------------------------------------------------------------------

TEST(FivePoints, UsesTheDocumentedIndices) {
    // Point i = (i, i^2 / 7): every index set has its own mean.
    fp::Points68 p;
    for (int i = 0; i < 68; ++i) p[i] = {static_cast<float>(i), static_cast<float>(i * i) / 7.f};
    auto mean = [&](std::initializer_list<int> idx) {
        cv::Point2f s(0, 0);
        for (int i : idx) s += p[i];
        return s / static_cast<float>(idx.size());
    };
    const fp::Points5 five = fp::five_points_from_68(p);
    const cv::Point2f expected[5] = {mean({37, 38, 40, 41}),  // left eye (image left): eyelid points of 36..41
                                     mean({43, 44, 46, 47}),  // right eye: eyelid points of 42..47
                                     p[30],                   // nose tip
                                     mean({48, 60}),          // left mouth corner, outer and inner lip
                                     mean({54, 64})};         // right mouth corner
    for (int i = 0; i < 5; ++i) {
        EXPECT_NEAR(five[i].x, expected[i].x, 1e-4) << "point " << i;
        EXPECT_NEAR(five[i].y, expected[i].y, 1e-3) << "point " << i;
    }
}
