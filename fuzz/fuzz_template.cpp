// libFuzzer target: serialized templates (include/faceproof/template.hpp). A template that parses
// must serialize back to the very same bytes and parse again to the same template: the format has
// exactly one encoding per template, so any difference is a parser or writer bug.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>

#include "faceproof/error.hpp"
#include "faceproof/template.hpp"

namespace {

[[noreturn]] void finding(const char* what) {
    std::fprintf(stderr, "fuzz_template: %s\n", what);
    std::abort();
}

bool same(const faceproof::Template& a, const faceproof::Template& b) {
    // Bitwise for the values: parse_template refuses NaN, and -0.0 must survive as -0.0.
    return a.model_id == b.model_id && a.model_sha256 == b.model_sha256 && a.values.size() == b.values.size() &&
           std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(float)) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    faceproof::Template parsed;
    try {
        parsed = faceproof::parse_template(std::span<const std::uint8_t>(data, size));
    } catch (const faceproof::Error&) {
        return 0;
    }
    try {
        const std::vector<std::uint8_t> written = faceproof::serialize_template(parsed);
        if (written.size() != size || std::memcmp(written.data(), data, size) != 0)
            finding("serialize(parse(bytes)) differs from bytes");
        if (!same(faceproof::parse_template(written), parsed)) finding("parse(serialize(t)) differs from t");
    } catch (const faceproof::Error& e) {
        std::fprintf(stderr, "fuzz_template: %s\n", e.what());
        finding("a parsed template failed to serialize or re-parse");
    }
    return 0;
}
