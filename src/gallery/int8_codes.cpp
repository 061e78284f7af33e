#include "gallery/int8_codes.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#if defined(__x86_64__) || defined(__i386__)
// GCC 12's _mm512_reduce_add_epi32 starts from _mm256_undefined_si256(): a false -Wuninitialized.
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define FACEPROOF_GALLERY_HAS_X86_CODE_KERNELS 1
#endif

namespace faceproof::gallery {
namespace {

// Rounds a non-negative double up to the next float, so a bound computed in double stays a bound.
float round_up(double value) noexcept {
    float f = static_cast<float>(value);
    if (static_cast<double>(f) < value) f = std::nextafter(f, std::numeric_limits<float>::infinity());
    return f;
}

struct Quantised {
    float scale = 0;
    double residual_squared = 0, code_squared = 0, norm_squared = 0;
    std::int32_t code_sum = 0;
};

Quantised quantise_into(const float* x, std::size_t n, std::int8_t* codes) noexcept {
    Quantised out;
    float largest = 0;
    for (std::size_t i = 0; i < n; ++i) largest = std::max(largest, std::abs(x[i]));
    out.scale = largest > 0 ? largest / 127.0f : 1.0f;
    for (std::size_t i = 0; i < n; ++i) {
        const float code = std::clamp(std::nearbyint(x[i] / out.scale), -127.0f, 127.0f);
        codes[i] = static_cast<std::int8_t>(code);
        const double reconstructed = static_cast<double>(out.scale) * code;
        const double residual = static_cast<double>(x[i]) - reconstructed;
        out.residual_squared += residual * residual;
        out.code_squared += reconstructed * reconstructed;
        out.norm_squared += static_cast<double>(x[i]) * x[i];
        out.code_sum += codes[i];
    }
    return out;
}

// --- kernels ---------------------------------------------------------------------------------

std::int32_t dot_codes_portable_kernel(const std::int8_t* a, const std::int8_t* b, std::size_t n) noexcept {
    std::int32_t sum = 0;
    for (std::size_t i = 0; i < n; ++i) sum += static_cast<std::int32_t>(a[i]) * b[i];
    return sum;
}

void dot_code_rows_portable(const QuantisedProbe& probe, const std::int8_t* rows, const CodeInfo*, std::size_t count,
                            std::size_t dim, std::int32_t* out) noexcept {
    for (std::size_t r = 0; r < count; ++r) out[r] = dot_codes_portable_kernel(probe.codes.data(), rows + r * dim, dim);
}

#ifdef FACEPROOF_GALLERY_HAS_X86_CODE_KERNELS
// AVX2 has no exact 8-bit multiply-add (vpmaddubsw saturates at 16 bits: 255·127·2 overflows), so
// the codes are widened to 16 bits and multiplied with vpmaddwd (exact, 32-bit sums).
[[gnu::target("avx2")]] std::int32_t dot_codes_avx2(const std::int8_t* a, const std::int8_t* b, std::size_t n) noexcept {
    __m256i sum = _mm256_setzero_si256();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256i wa = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
        const __m256i wb = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i)));
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(wa, wb));
    }
    const __m128i half = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
    const __m128i quarter = _mm_add_epi32(half, _mm_shuffle_epi32(half, 0x4E));
    std::int32_t total = _mm_cvtsi128_si32(_mm_add_epi32(quarter, _mm_shuffle_epi32(quarter, 0xB1)));
    for (; i < n; ++i) total += static_cast<std::int32_t>(a[i]) * b[i];
    return total;
}

[[gnu::target("avx2")]] void dot_code_rows_avx2(const QuantisedProbe& probe, const std::int8_t* rows, const CodeInfo*,
                                                std::size_t count, std::size_t dim, std::int32_t* out) noexcept {
    for (std::size_t r = 0; r < count; ++r) out[r] = dot_codes_avx2(probe.codes.data(), rows + r * dim, dim);
}

// VNNI's vpdpbusd multiplies unsigned by signed bytes, 4 products summed into each 32-bit lane
// without saturation. With u = a + 128 (a XOR 0x80 as bytes): Σ u·b = Σ a·b + 128·Σ b.
[[gnu::target("avx512f,avx512bw,avx512vnni")]] std::int32_t dot_codes_vnni(const std::int8_t* a, const std::int8_t* b,
                                                                           std::size_t n) noexcept {
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i products = _mm512_setzero_si512(), sums = _mm512_setzero_si512();
    std::size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        const __m512i va = _mm512_xor_si512(_mm512_loadu_si512(a + i), flip);
        const __m512i vb = _mm512_loadu_si512(b + i);
        products = _mm512_dpbusd_epi32(products, va, vb);
        sums = _mm512_dpbusd_epi32(sums, ones, vb);
    }
    std::int32_t total = _mm512_reduce_add_epi32(products) - 128 * _mm512_reduce_add_epi32(sums);
    for (; i < n; ++i) total += static_cast<std::int32_t>(a[i]) * b[i];
    return total;
}

// The scan: the probe's offset codes stay in registers, the row's code sum is stored.
[[gnu::target("avx512f,avx512bw,avx512vnni")]] void dot_code_rows_vnni(const QuantisedProbe& probe,
                                                                       const std::int8_t* rows, const CodeInfo* infos,
                                                                       std::size_t count, std::size_t dim,
                                                                       std::int32_t* out) noexcept {
    if (dim % 64 != 0) {
        for (std::size_t r = 0; r < count; ++r) out[r] = dot_codes_vnni(probe.codes.data(), rows + r * dim, dim);
        return;
    }
    const std::uint8_t* q = probe.offset_codes.data();
    for (std::size_t r = 0; r < count; ++r) {
        const std::int8_t* row = rows + r * dim;
        __m512i acc0 = _mm512_setzero_si512(), acc1 = _mm512_setzero_si512();
        std::size_t i = 0;
        for (; i + 128 <= dim; i += 128) {
            acc0 = _mm512_dpbusd_epi32(acc0, _mm512_loadu_si512(q + i), _mm512_loadu_si512(row + i));
            acc1 = _mm512_dpbusd_epi32(acc1, _mm512_loadu_si512(q + i + 64), _mm512_loadu_si512(row + i + 64));
        }
        if (i < dim) acc0 = _mm512_dpbusd_epi32(acc0, _mm512_loadu_si512(q + i), _mm512_loadu_si512(row + i));
        out[r] = _mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1)) - 128 * infos[r].code_sum;
    }
}
#endif

using DotCodesFunction = std::int32_t (*)(const std::int8_t*, const std::int8_t*, std::size_t) noexcept;
using DotCodeRowsFunction = void (*)(const QuantisedProbe&, const std::int8_t*, const CodeInfo*, std::size_t,
                                     std::size_t, std::int32_t*) noexcept;

struct CodeKernels {
    DotCodesFunction dot = dot_codes_portable_kernel;
    DotCodeRowsFunction rows = dot_code_rows_portable;
    std::string_view name = "portable";
};

CodeKernels pick(int which) noexcept {
    CodeKernels kernels;
#ifdef FACEPROOF_GALLERY_HAS_X86_CODE_KERNELS
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2");
    const bool vnni = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vnni");
    if (which == 0 && vnni)
        kernels = {dot_codes_vnni, dot_code_rows_vnni, "avx512-vnni"};
    else if (which <= 1 && avx2)
        kernels = {dot_codes_avx2, dot_code_rows_avx2, "avx2"};
#else
    (void)which;
#endif
    return kernels;
}

CodeKernels& kernels() noexcept {
    static CodeKernels chosen = pick(0);
    return chosen;
}

}  // namespace

CodeInfo quantise(const float* x, std::size_t n, std::int8_t* codes) noexcept {
    const Quantised q = quantise_into(x, n, codes);
    return {q.scale, round_up(std::sqrt(q.residual_squared)), round_up(std::sqrt(q.code_squared)), q.code_sum};
}

QuantisedProbe quantise_probe(const float* q, std::size_t n) {
    QuantisedProbe probe;
    probe.codes.resize(n);
    const Quantised quantised = quantise_into(q, n, probe.codes.data());
    probe.offset_codes.resize(n);
    for (std::size_t i = 0; i < n; ++i) probe.offset_codes[i] = static_cast<std::uint8_t>(probe.codes[i] + 128);
    probe.scale = quantised.scale;
    probe.norm = round_up(std::sqrt(quantised.norm_squared));
    probe.residual_norm = round_up(std::sqrt(quantised.residual_squared));
    return probe;
}

void dot_code_rows(const QuantisedProbe& probe, const std::int8_t* rows, const CodeInfo* infos, std::size_t count,
                   std::size_t dim, std::int32_t* out) noexcept {
    kernels().rows(probe, rows, infos, count, dim, out);
}

std::int32_t dot_codes(const std::int8_t* a, const std::int8_t* b, std::size_t n) noexcept { return kernels().dot(a, b, n); }

std::int32_t dot_codes_portable(const std::int8_t* a, const std::int8_t* b, std::size_t n) noexcept {
    return dot_codes_portable_kernel(a, b, n);
}

std::string_view code_kernel_name() noexcept { return kernels().name; }

std::string_view force_code_kernel(int which) noexcept {
    kernels() = pick(which);
    return kernels().name;
}

}  // namespace faceproof::gallery
