// The oneDNN engine and thread policy both inference paths share (the executor and the OpenCV
// layer on oneDNN).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

namespace faceproof {

// The process's CPU engine (created on first use; thread-safe).
dnnl::engine& onednn_engine();

// oneDNN runs on OpenMP (libgomp). Sets the calling thread's OpenMP thread count to 1, so oneDNN
// never starts threads of its own next to the service's workers (one network per worker thread).
// Call it before creating primitives too: oneDNN fixes a primitive's thread count at creation.
void use_one_openmp_thread();

}  // namespace faceproof
