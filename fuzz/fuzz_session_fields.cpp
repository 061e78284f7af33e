// libFuzzer target: what a liveness session's capture request carries besides images — the
// comma-separated number lists (timestamps_ms, color_indices; util/number_list.hpp) — and the
// challenge JSON the offline `liveness check` reads (LivenessChallenge::from_json). The first byte
// chooses which. A challenge that parses must survive to_json and parse to the same JSON again.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "faceproof/error.hpp"
#include "faceproof/liveness_session.hpp"
#include "util/number_list.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
    try {
        if (data[0] & 1) {
            const auto values = faceproof::parse_number_list(text, "fuzz", 240);
            if (values.size() > 240) std::abort();
        } else {
            const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
            const faceproof::LivenessChallenge c = faceproof::LivenessChallenge::from_json(json);
            const auto again = faceproof::LivenessChallenge::from_json(c.to_json());
            if (again.to_json() != c.to_json()) {
                std::fprintf(stderr, "fuzz_session_fields: from_json(to_json(c)) differs from c\n");
                std::abort();
            }
        }
    } catch (const faceproof::Error&) {
    }
    return 0;
}
