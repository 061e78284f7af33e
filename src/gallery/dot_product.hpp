// Dot products of float vectors for the gallery index, with the instruction set chosen at run time:
// the library is built for plain x86-64, so the AVX2+FMA code is a separately compiled variant that
// is only called when the CPU reports both (checked once).
//
// Thread safety: pure functions, reentrant.
#pragma once

#include <cstddef>
#include <string_view>

namespace faceproof::gallery {

using DotFunction = float (*)(const float* a, const float* b, std::size_t n) noexcept;

// The best kernel for this CPU (resolved once; cheap to call again).
DotFunction dot_function() noexcept;

// sum a[i] * b[i] for i < n, with the best kernel for this CPU.
inline float dot(const float* a, const float* b, std::size_t n) noexcept { return dot_function()(a, b, n); }

// out[r] = dot(probe, rows + r * dim) for r < count: one call per block of rows, so the per-row
// cost is the arithmetic only.
void dot_rows(const float* probe, const float* rows, std::size_t count, std::size_t dim, float* out) noexcept;

// "avx2+fma" or "portable" (SSE2 on x86-64): which kernel dot_function() picked.
std::string_view dot_kernel_name() noexcept;

// The portable kernel, whatever the CPU (tests compare it with the dispatched one).
float dot_portable(const float* a, const float* b, std::size_t n) noexcept;

}  // namespace faceproof::gallery
