// libFuzzer target: EF.SOD (parse_sod, src/document/sod.hpp), the bytes a chip or a client hands
// us, and passive authentication of whatever parses against an empty trust store (the signature
// and chain code paths run on hostile certificates and signatures too). Only faceproof::Error may
// escape parse_sod; authenticate must not throw at all on a parsed SOD.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <span>

#include "document/passive_authentication.hpp"
#include "document/sod.hpp"
#include "document/trust_store.hpp"
#include "faceproof/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace doc = faceproof::document;
    static const doc::TrustStore empty_store;
    doc::Sod sod;
    try {
        sod = doc::parse_sod(std::span<const std::uint8_t>(data, size));
    } catch (const faceproof::Error&) {
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fuzz_sod: parse_sod threw something other than faceproof::Error: %s\n", e.what());
        std::abort();
    }
    if (sod.data_group_hashes.empty() || sod.data_group_hashes.size() > 16 || !sod.cms) {
        std::fprintf(stderr, "fuzz_sod: parse_sod returned a SOD without hashes or CMS\n");
        std::abort();
    }
    // The data groups: the SOD's own DG1 hash as DG1 bytes (a mismatch), nothing for the others.
    const std::vector<std::uint8_t>& first = sod.data_group_hashes.begin()->second;
    const std::map<int, std::span<const std::uint8_t>> data_groups{{sod.data_group_hashes.begin()->first, first}};
    try {
        const doc::PassiveAuthenticationResult result = doc::authenticate(sod, data_groups, empty_store, 1'700'000'000);
        if (result.status == doc::PassiveAuthenticationStatus::authentic || result.chain == doc::ChainStatus::valid) {
            std::fprintf(stderr, "fuzz_sod: a SOD was trusted by an empty trust store\n");
            std::abort();
        }
        if (result.reasons.empty()) {
            std::fprintf(stderr, "fuzz_sod: a failed passive authentication gave no reason\n");
            std::abort();
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fuzz_sod: authenticate threw: %s\n", e.what());
        std::abort();
    }
    return 0;
}
