// libFuzzer target: consent records (consent_from_json, src/report/registry_json.hpp), from the
// JSON text a client sends. A consent that parses must survive consent_json and parse again.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "faceproof/error.hpp"
#include "report/registry_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto json = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
    try {
        const faceproof::Consent consent = faceproof::consent_from_json(json);
        const faceproof::Consent again = faceproof::consent_from_json(faceproof::consent_json(consent));
        if (again.purpose != consent.purpose || again.legal_basis != consent.legal_basis ||
            again.notice_version != consent.notice_version || again.given_at != consent.given_at ||
            again.expires_at != consent.expires_at) {
            std::fprintf(stderr, "fuzz_consent: consent_from_json(consent_json(c)) differs from c\n");
            std::abort();
        }
    } catch (const faceproof::Error&) {
    }
    return 0;
}
