#include "gallery/dot_product.hpp"

namespace faceproof::gallery {
namespace {

// Independent accumulator lanes: without -ffast-math GCC may not reorder a single running sum, but it
// vectorises kLanes separate sums (4 x 8-float registers with AVX2, 8 x 4-float with SSE2), which also
// hides the add/FMA latency. The lanes are only combined at the end.
constexpr std::size_t kLanes = 32;

template <bool kUseFma>
[[gnu::always_inline]] inline float multiply_add(float a, float b, float sum) noexcept {
    // fma is one rounding and one instruction when the target has it; without FMA hardware the
    // library call would be slow, so the portable kernel multiplies and adds.
    if constexpr (kUseFma)
        return __builtin_fmaf(a, b, sum);
    else
        return a * b + sum;
}

template <bool kUseFma>
[[gnu::always_inline]] inline float dot_body(const float* __restrict a, const float* __restrict b,
                                             std::size_t n) noexcept {
    float lanes[kLanes] = {};
    std::size_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (std::size_t j = 0; j < kLanes; ++j) lanes[j] = multiply_add<kUseFma>(a[i + j], b[i + j], lanes[j]);
    float sum = 0;
    for (; i < n; ++i) sum = multiply_add<kUseFma>(a[i], b[i], sum);
    for (std::size_t j = 0; j < kLanes; ++j) sum += lanes[j];
    return sum;
}

template <bool kUseFma>
[[gnu::always_inline]] inline void dot_rows_body(const float* probe, const float* rows, std::size_t count,
                                                 std::size_t dim, float* out) noexcept {
    // One row at a time: measured faster than 4 rows sharing the probe loads once the matrix
    // leaves the cache (the scan is memory-bound there, and one stream prefetches best).
    for (std::size_t r = 0; r < count; ++r) out[r] = dot_body<kUseFma>(probe, rows + r * dim, dim);
}

float dot_portable_kernel(const float* a, const float* b, std::size_t n) noexcept { return dot_body<false>(a, b, n); }
void dot_rows_portable(const float* probe, const float* rows, std::size_t count, std::size_t dim, float* out) noexcept {
    dot_rows_body<false>(probe, rows, count, dim, out);
}

#if defined(__x86_64__) || defined(__i386__)
#define FACEPROOF_GALLERY_HAS_AVX2_KERNEL 1
[[gnu::target("avx2,fma")]] float dot_avx2(const float* a, const float* b, std::size_t n) noexcept {
    return dot_body<true>(a, b, n);
}
[[gnu::target("avx2,fma")]] void dot_rows_avx2(const float* probe, const float* rows, std::size_t count,
                                                std::size_t dim, float* out) noexcept {
    dot_rows_body<true>(probe, rows, count, dim, out);
}
#endif

using DotRowsFunction = void (*)(const float*, const float*, std::size_t, std::size_t, float*) noexcept;

struct Kernels {
    DotFunction dot = dot_portable_kernel;
    DotRowsFunction dot_rows = dot_rows_portable;
    std::string_view name = "portable";
};

Kernels pick_kernels() noexcept {
    Kernels kernels;
#ifdef FACEPROOF_GALLERY_HAS_AVX2_KERNEL
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) kernels = {dot_avx2, dot_rows_avx2, "avx2+fma"};
#endif
    return kernels;
}

const Kernels& kernels() noexcept {
    static const Kernels chosen = pick_kernels();
    return chosen;
}

}  // namespace

DotFunction dot_function() noexcept { return kernels().dot; }

void dot_rows(const float* probe, const float* rows, std::size_t count, std::size_t dim, float* out) noexcept {
    kernels().dot_rows(probe, rows, count, dim, out);
}

std::string_view dot_kernel_name() noexcept { return kernels().name; }

float dot_portable(const float* a, const float* b, std::size_t n) noexcept { return dot_portable_kernel(a, b, n); }

}  // namespace faceproof::gallery
