// Compact int8 codes of gallery vectors, and their dot products with the instruction set chosen at
// run time (AVX-512 VNNI, AVX2, or portable; checked once, like dot_product.hpp).
//
// A vector x is kept as codes c (int8, -127..127) with one scale s: x̂ = s·c, s = max|x| / 127.
// Beside the codes each vector keeps CodeInfo: ‖x − x̂‖ (the quantisation error) and ‖x̂‖, so a
// search can bound how far the code's similarity is from the full-precision one:
//     q·x − q̂·x̂ = q·(x − x̂) + (q − q̂)·x̂   ⇒   |q·x − q̂·x̂| ≤ ‖q‖·‖x − x̂‖ + ‖q − q̂‖·‖x̂‖.
// (Cauchy–Schwarz on each term.) Candidates whose upper bound can still reach the k-th best lower
// bound are re-ranked with the full-precision vectors: the result is then the exact search's.
//
// Thread safety: pure functions, reentrant; QuantisedProbe is immutable once made.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace faceproof::gallery {

struct CodeInfo {
    float scale = 0;           // x̂ = scale · codes
    float residual_norm = 0;   // ‖x − x̂‖, rounded up
    float code_norm = 0;       // ‖x̂‖, rounded up
    std::int32_t code_sum = 0; // Σ codes (the VNNI kernel's correction: it multiplies u8 by s8)
};

// requires: x has n finite values; codes has room for n.
// ensures: codes[i] = round(x[i] / scale) in [-127, 127]; the returned info describes them. The
//          norms are computed in double and rounded up, so the bound above stays a bound.
CodeInfo quantise(const float* x, std::size_t n, std::int8_t* codes) noexcept;

// The probe quantised the same way, with the forms the kernels want.
struct QuantisedProbe {
    std::vector<std::int8_t> codes;           // q̂ / scale
    std::vector<std::uint8_t> offset_codes;   // codes + 128 (VNNI's unsigned operand)
    float scale = 0;
    float norm = 0;            // ‖q‖, rounded up
    float residual_norm = 0;   // ‖q − q̂‖, rounded up
};
QuantisedProbe quantise_probe(const float* q, std::size_t n);

// out[r] = Σ probe.codes[i] · rows[r·dim + i] (exact integer arithmetic), for r < count.
// requires: infos[r].code_sum is the sum of row r's codes (the VNNI kernel uses it).
void dot_code_rows(const QuantisedProbe& probe, const std::int8_t* rows, const CodeInfo* infos, std::size_t count,
                   std::size_t dim, std::int32_t* out) noexcept;

// Σ a[i]·b[i] of two code vectors (exact), with the best kernel (HNSW's distance over codes).
std::int32_t dot_codes(const std::int8_t* a, const std::int8_t* b, std::size_t n) noexcept;
// The portable kernel, whatever the CPU (tests compare it with the dispatched one).
std::int32_t dot_codes_portable(const std::int8_t* a, const std::int8_t* b, std::size_t n) noexcept;

// "avx512-vnni", "avx2" or "portable".
std::string_view code_kernel_name() noexcept;

// Kernel override for tests: 0 = best, 1 = avx2 if supported, 2 = portable. Not thread-safe with
// searches running; returns the name now in force.
std::string_view force_code_kernel(int which) noexcept;

}  // namespace faceproof::gallery
