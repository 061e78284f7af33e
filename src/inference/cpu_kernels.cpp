// The depthwise convolution kernel of cpu_kernels.hpp.
#include "inference/cpu_kernels.hpp"

#include <cstring>

namespace faceproof::cpu {
namespace {

// 16 channels as one vector (GCC vector extension: one zmm register in the AVX-512 clone of
// depthwise3x3_nhwc, two ymm in the AVX2 one); loads and stores go through memcpy (unaligned). A plain
// loop over 16 floats was not vectorised by GCC 12, hence the explicit type.
// (-Wpsabi: GCC notes that returning a 64-byte vector differs between targets; these helpers are
// always inlined within this file, so no call crosses that boundary.)
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float Lanes __attribute__((vector_size(64)));
constexpr std::int64_t kLanes = kDepthwiseLanes;

__attribute__((always_inline)) inline Lanes load_lanes(const float* p) {
    Lanes v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

}  // namespace

// 3x3 depthwise convolution over NHWC tensors whose channel count is a multiple of 16. For each
// group of 16 channels the nine taps, the bias and the PReLU slopes stay in registers while the
// output pixels are swept; pixels whose window lies inside the image skip the bounds checks.
// Summation per output: bias, then the taps in row-major order.
// input_slope (may be null): a PReLU applied to the input as it is read (the PReLU between
// MobileFaceNet's expanding 1x1 convolution and this one, fused here to save a pass over the
// largest tensors).
// clang (the sanitizer build, FACEPROOF_SANITIZE) refuses this kernel's clones: it checks the
// vector ABI of calls to the always_inline helpers before inlining them, and a 64-byte vector passed
// between an AVX clone and a default-target helper is an error there. It gets the baseline target.
#if defined(__clang__)
#define FACEPROOF_DEPTHWISE_TARGETS
#else
#define FACEPROOF_DEPTHWISE_TARGETS __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
FACEPROOF_DEPTHWISE_TARGETS
void depthwise3x3_nhwc(const float* in, float* dst, const DepthwiseShape& s, const float* taps, const float* bias,
                       Activation activation, const float* slope, const float* input_slope) {
    // Local copies: as far as the compiler knows, the output stores could change `s`.
    const std::int64_t C = s.channels, row = s.width * C, out_width = s.out_width;
    const std::int64_t stride_w = s.stride_w, pad_left = s.pad_left, step = stride_w * C;
    const Lanes zero = {};
    // Output columns [x_lo, x_hi) and rows [y_lo, y_hi) read only pixels inside the input.
    const auto first_inside = [](std::int64_t pad, std::int64_t stride) { return (pad + stride - 1) / stride; };
    const auto end_inside = [](std::int64_t size, std::int64_t pad, std::int64_t stride, std::int64_t out) {
        const std::int64_t last = size - 3 + pad;  // largest start (plus pad) with the window inside
        return last < 0 ? 0 : std::min(out, last / stride + 1);
    };
    const std::int64_t x_lo = std::min(first_inside(s.pad_left, s.stride_w), s.out_width);
    const std::int64_t x_hi = std::max(x_lo, end_inside(s.width, s.pad_left, s.stride_w, s.out_width));
    const std::int64_t y_lo = std::min(first_inside(s.pad_top, s.stride_h), s.out_height);
    const std::int64_t y_hi = std::max(y_lo, end_inside(s.height, s.pad_top, s.stride_h, s.out_height));
    for (std::int64_t n = 0; n < s.batch; ++n) {
        const float* image = in + n * s.height * row;
        float* out_image = dst + n * s.out_height * s.out_width * C;
        // Row by row, each row's channels in groups of 16, so the three input rows a row reads are
        // reused from cache across the groups.
        for (std::int64_t oy = 0; oy < s.out_height; ++oy) {
            for (std::int64_t c0 = 0; c0 < C; c0 += kLanes) {
                Lanes w[9];
                for (int t = 0; t < 9; ++t) w[t] = load_lanes(taps + t * C + c0);
                const Lanes b = load_lanes(bias + c0);
                const Lanes a = slope != nullptr ? load_lanes(slope + c0) : zero;
                const Lanes in_a = input_slope != nullptr ? load_lanes(input_slope + c0) : zero;
                // (Every lambda here is always_inline: a lambda is compiled for the default target,
                // not for this clone's, unless it is inlined into it.)
                // The input as read: as is, or through the input PReLU (x >= 0 ? x : x * slope).
                const auto plain_input = [](const float* p, const Lanes&) __attribute__((always_inline)) { return load_lanes(p); };
                const auto prelu_input = [&zero](const float* p, const Lanes& slope_lanes) __attribute__((always_inline)) {
                    const Lanes v = load_lanes(p);
                    return v >= zero ? v : v * slope_lanes;
                };
                const auto finish = [&](Lanes acc, float* out) __attribute__((always_inline)) {
                    if (activation == Activation::relu)
                        acc = acc > zero ? acc : zero;
                    else if (activation == Activation::prelu)
                        acc = acc >= zero ? acc : acc * a;
                    std::memcpy(out + c0, &acc, sizeof acc);
                };
                const auto sweep = [&](const auto& read) __attribute__((always_inline)) {
                    const auto border = [&](std::int64_t oy, std::int64_t ox) __attribute__((always_inline)) {
                        Lanes acc = b;
                        for (int ky = 0; ky < 3; ++ky) {
                            const std::int64_t iy = oy * s.stride_h - s.pad_top + ky;
                            if (iy < 0 || iy >= s.height) continue;
                            for (int kx = 0; kx < 3; ++kx) {
                                const std::int64_t ix = ox * s.stride_w - s.pad_left + kx;
                                if (ix < 0 || ix >= s.width) continue;
                                acc += read(image + iy * row + ix * C + c0, in_a) * w[ky * 3 + kx];
                            }
                        }
                        finish(acc, out_image + (oy * s.out_width + ox) * C);
                    };
                    {
                        if (oy < y_lo || oy >= y_hi) {
                            for (std::int64_t ox = 0; ox < s.out_width; ++ox) border(oy, ox);
                            return;
                        }
                        for (std::int64_t ox = 0; ox < x_lo; ++ox) border(oy, ox);
                        const float* top = image + (oy * s.stride_h - s.pad_top) * row + c0;
                        float* out_row = out_image + oy * out_width * C;
                        // Interior pixels four at a time, each with its own accumulator: one chain
                        // of nine dependent FMAs per pixel left the core waiting on FMA latency.
                        // With stride 1 the four windows share their columns: six loads per
                        // window row instead of twelve. Every accumulator still sums bias, then
                        // taps in row-major order, so results match the one-pixel loop exactly.
                        std::int64_t ox = x_lo;
                        if (stride_w == 1) {
                            for (; ox + 4 <= x_hi; ox += 4) {
                                const float* p = top + (ox - pad_left) * C;
                                Lanes acc0 = b, acc1 = b, acc2 = b, acc3 = b;
                                for (int ky = 0; ky < 3; ++ky) {
                                    const float* q = p + ky * row;
                                    const Lanes& w0 = w[ky * 3], &w1 = w[ky * 3 + 1], &w2 = w[ky * 3 + 2];
                                    const Lanes v0 = read(q, in_a), v1 = read(q + C, in_a), v2 = read(q + 2 * C, in_a);
                                    const Lanes v3 = read(q + 3 * C, in_a), v4 = read(q + 4 * C, in_a), v5 = read(q + 5 * C, in_a);
                                    acc0 += v0 * w0, acc0 += v1 * w1, acc0 += v2 * w2;
                                    acc1 += v1 * w0, acc1 += v2 * w1, acc1 += v3 * w2;
                                    acc2 += v2 * w0, acc2 += v3 * w1, acc2 += v4 * w2;
                                    acc3 += v3 * w0, acc3 += v4 * w1, acc3 += v5 * w2;
                                }
                                float* o = out_row + ox * C;
                                finish(acc0, o);
                                finish(acc1, o + C);
                                finish(acc2, o + 2 * C);
                                finish(acc3, o + 3 * C);
                            }
                        }
                        for (; ox + 4 <= x_hi; ox += 4) {
                            const float* p = top + (ox * stride_w - pad_left) * C;
                            Lanes acc0 = b, acc1 = b, acc2 = b, acc3 = b;
                            for (int ky = 0; ky < 3; ++ky) {
                                for (int kx = 0; kx < 3; ++kx) {
                                    const float* q = p + ky * row + kx * C;
                                    const Lanes& tap = w[ky * 3 + kx];
                                    acc0 += read(q, in_a) * tap;
                                    acc1 += read(q + step, in_a) * tap;
                                    acc2 += read(q + 2 * step, in_a) * tap;
                                    acc3 += read(q + 3 * step, in_a) * tap;
                                }
                            }
                            float* o = out_row + ox * C;
                            finish(acc0, o);
                            finish(acc1, o + C);
                            finish(acc2, o + 2 * C);
                            finish(acc3, o + 3 * C);
                        }
                        for (; ox < x_hi; ++ox) {
                            const float* p = top + (ox * stride_w - pad_left) * C;
                            Lanes acc = b;
                            for (int ky = 0; ky < 3; ++ky)
                                for (int kx = 0; kx < 3; ++kx) acc += read(p + ky * row + kx * C, in_a) * w[ky * 3 + kx];
                            finish(acc, out_row + ox * C);
                        }
                        for (std::int64_t ox = x_hi; ox < s.out_width; ++ox) border(oy, ox);
                    }
                };
                if (input_slope != nullptr)
                    sweep(prelu_input);
                else
                    sweep(plain_input);
            }
        }
    }
}

}  // namespace faceproof::cpu
