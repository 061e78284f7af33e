#include "inference/onednn_runtime.hpp"

#include <dlfcn.h>

namespace faceproof {

dnnl::engine& onednn_engine() {
    static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

// omp_set_num_threads of the OpenMP runtime oneDNN is linked against, looked up at run time so
// that our own code needs no OpenMP flags.
void use_one_openmp_thread() {
    using Fn = void (*)(int);
    static const Fn fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
    if (fn != nullptr) fn(1);
}

}  // namespace faceproof
