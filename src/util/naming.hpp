// The one error-context wrapper: runs f, and names what it concerns ("probe 3", "reference image",
// "DG2") in any Error it throws, so the user knows which photo to retake or which file is bad.
// A message that already starts with "label:" (parsers that name their own file) is left as it is.
// Thread safety: reentrant.
#pragma once

#include <string>
#include <string_view>

#include "faceproof/error.hpp"

namespace faceproof {

template <class F>
auto naming(const std::string& label, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const Error& e) {
        const std::string_view message = e.what();
        if (message.substr(0, label.size() + 1) == label + ":") throw;
        throw Error(e.code(), label + ": " + e.what());
    }
}

}  // namespace faceproof
