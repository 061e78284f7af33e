// CPU kernels of the oneDNN executor (onednn_plan_*.cpp) for what oneDNN 2.6 runs slowly or not
// at all on our models: row-major data movement and broadcasting arithmetic (small tail tensors,
// also used to fold constants at load) and a 3x3 depthwise convolution on NHWC tensors.
// Thread safety: pure functions of their arguments.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <numeric>
#include <stdexcept>
#include <utility>
#include <vector>

#include "faceproof/error.hpp"

namespace faceproof::cpu {

using Dims = std::vector<std::int64_t>;

inline std::int64_t count(const Dims& d) {
    return std::accumulate(d.begin(), d.end(), std::int64_t{1}, std::multiplies<>());
}

inline Dims row_strides(const Dims& dims) {
    Dims s(dims.size(), 1);
    for (int i = static_cast<int>(dims.size()) - 2; i >= 0; --i) s[i] = s[i + 1] * dims[i + 1];
    return s;
}

// ---- plain kernels (row-major), used at run time on small tensors and to fold constants ----

// Numpy broadcasting of two shapes.
inline Dims broadcast(Dims a, Dims b) {
    const size_t rank = std::max(a.size(), b.size());
    a.insert(a.begin(), rank - a.size(), 1);
    b.insert(b.begin(), rank - b.size(), 1);
    Dims out(rank);
    for (size_t k = 0; k < rank; ++k) {
        if (a[k] != b[k] && a[k] != 1 && b[k] != 1)
            throw Error(ErrorCode::internal, "onednn executor: shapes do not broadcast");
        out[k] = std::max(a[k], b[k]);
    }
    return out;
}

// Strides of a (broadcast) operand inside the output shape: 0 along broadcast dimensions.
inline Dims broadcast_strides(Dims dims, const Dims& out) {
    dims.insert(dims.begin(), out.size() - dims.size(), 1);
    Dims s = row_strides(dims);
    for (size_t k = 0; k < out.size(); ++k)
        if (dims[k] == 1) s[k] = 0;
    return s;
}

// out = op(a, b) over the output shape os, the operands read with strides as, bs (0 where
// broadcast). Dimensions are first coalesced (size-1 dimensions dropped, neighbours merged where
// every operand runs on contiguously), so the common cases are one long inner loop.
template <class Op>
void binary_kernel(const float* a, Dims as, const float* b, Dims bs, float* out, Dims os, Op op) {
    Dims d, sa, sb;
    for (size_t k = 0; k < os.size(); ++k) {
        if (os[k] == 1) continue;
        if (!d.empty() && sa.back() == as[k] * os[k] && sb.back() == bs[k] * os[k]) {
            d.back() *= os[k];
            sa.back() = as[k];
            sb.back() = bs[k];
            continue;
        }
        d.push_back(os[k]);
        sa.push_back(as[k]);
        sb.push_back(bs[k]);
    }
    if (d.empty()) {
        out[0] = op(a[0], b[0]);
        return;
    }
    const size_t rank = d.size();
    const std::int64_t inner = d.back(), ia = sa.back(), ib = sb.back();
    const std::int64_t outer = count(d) / inner;
    std::vector<std::int64_t> index(rank, 0);
    for (std::int64_t o = 0; o < outer; ++o) {
        std::int64_t oa = 0, ob = 0;
        for (size_t k = 0; k + 1 < rank; ++k) {
            oa += index[k] * sa[k];
            ob += index[k] * sb[k];
        }
        float* dst = out + o * inner;
        const float* pa = a + oa;
        const float* pb = b + ob;
        if (ia == 1 && ib == 1)
            for (std::int64_t x = 0; x < inner; ++x) dst[x] = op(pa[x], pb[x]);
        else if (ia == 1 && ib == 0)
            for (std::int64_t x = 0; x < inner; ++x) dst[x] = op(pa[x], pb[0]);
        else
            for (std::int64_t x = 0; x < inner; ++x) dst[x] = op(pa[x * ia], pb[x * ib]);
        for (int k = static_cast<int>(rank) - 2; k >= 0; --k) {
            if (++index[k] < d[k]) break;
            index[k] = 0;
        }
    }
}

// Copies of data movement (also used on int64 shape constants).
template <class T>
void transpose_kernel(const T* in, const Dims& dims, const Dims& perm, T* out) {
    const size_t rank = dims.size();
    const Dims in_strides = row_strides(dims);
    Dims out_dims(rank), stride(rank);
    for (size_t k = 0; k < rank; ++k) {
        out_dims[k] = dims[perm[k]];
        stride[k] = in_strides[perm[k]];
    }
    const std::int64_t n = count(out_dims);
    if (n == 0) return;
    std::array<std::int64_t, 6> index{};  // rank <= 6 (plain_tag)
    std::int64_t offset = 0;
    for (std::int64_t o = 0; o < n; ++o) {
        out[o] = in[offset];
        for (int k = static_cast<int>(rank) - 1; k >= 0; --k) {
            offset += stride[k];
            if (++index[k] < out_dims[k]) break;
            offset -= stride[k] * out_dims[k];
            index[k] = 0;
        }
    }
}

// n elements from in to out: short runs (fr_detect's tail slices and concatenates runs of 2 floats
// 4,420 times) as a plain loop rather than a memmove call each.
template <class T>
T* copy_run(const T* in, std::int64_t n, T* out) {
    if (n > 16) return std::copy_n(in, n, out);
    for (std::int64_t j = 0; j < n; ++j) out[j] = in[j];
    return out + n;
}

// out = in[..., start : start + length : step along axis, ...]
template <class T>
void slice_kernel(const T* in, const Dims& dims, int axis, std::int64_t start, std::int64_t length, std::int64_t step,
                  T* out) {
    std::int64_t outer = 1, inner = 1;
    for (int k = 0; k < axis; ++k) outer *= dims[k];
    for (size_t k = axis + 1; k < dims.size(); ++k) inner *= dims[k];
    if (step == 1) {  // one contiguous run per outer index
        for (std::int64_t o = 0; o < outer; ++o)
            copy_run(in + (o * dims[axis] + start) * inner, length * inner, out + o * length * inner);
        return;
    }
    for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t j = 0; j < length; ++j)
            copy_run(in + (o * dims[axis] + start + j * step) * inner, inner, out + (o * length + j) * inner);
}

// Concatenation along axis of parts (pointer, extent along axis).
template <class T>
void concat_kernel(const std::vector<std::pair<const T*, std::int64_t>>& parts, const Dims& out_dims, int axis, T* out) {
    std::int64_t outer = 1, inner = 1;
    for (int k = 0; k < axis; ++k) outer *= out_dims[k];
    for (size_t k = axis + 1; k < out_dims.size(); ++k) inner *= out_dims[k];
    for (std::int64_t o = 0; o < outer; ++o)
        for (const auto& [data, extent] : parts) {
            out = copy_run(data + o * extent * inner, extent * inner, out);
        }
}

// ---- depthwise convolution on NHWC tensors (cpu_kernels.cpp) ----

enum class Activation { none, relu, prelu };

struct DepthwiseShape {
    std::int64_t batch, channels, height, width, out_height, out_width;
    std::int64_t kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left;
};

// 16 channels per vector: the depthwise kernel takes channel counts that are multiples of it.
constexpr std::int64_t kDepthwiseLanes = 16;

// 3x3 depthwise convolution (one filter per channel) over NHWC tensors.
// requires: s.channels % kDepthwiseLanes == 0; kernel 3x3; taps tap-major ([3x3][C]); bias C
//           values; slope C values when activation == prelu; input_slope null or C values.
// ensures:  dst (N x out_height x out_width x C) = activation(bias + sum of taps x input), the
//           input read through a PReLU with input_slope when that is given.
void depthwise3x3_nhwc(const float* in, float* dst, const DepthwiseShape& s, const float* taps, const float* bias,
                       Activation activation, const float* slope, const float* input_slope);

}  // namespace faceproof::cpu
