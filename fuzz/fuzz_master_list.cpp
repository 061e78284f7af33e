// libFuzzer target: ICAO CSCA master lists (parse_master_list and verify_master_list,
// src/document/trust_store.hpp), the files an operator downloads and puts in the trust store.
// Only faceproof::Error may escape; a list that verifies must have a signer and CSCAs.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <span>

#include "document/trust_store.hpp"
#include "faceproof/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace doc = faceproof::document;
    try {
        const doc::MasterList list = doc::parse_master_list(std::span<const std::uint8_t>(data, size));
        if (list.cscas.empty() || !list.cms) {
            std::fprintf(stderr, "fuzz_master_list: parse_master_list returned a list without CSCAs\n");
            std::abort();
        }
        // Its own CSCAs as the only anchors: the signature and chain code run on hostile input.
        doc::verify_master_list(list, {}, 1'700'000'000);
        if (!list.signer_certificate) {
            std::fprintf(stderr, "fuzz_master_list: a list without a signer verified\n");
            std::abort();
        }
    } catch (const faceproof::Error&) {
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fuzz_master_list: something other than faceproof::Error escaped: %s\n", e.what());
        std::abort();
    }
    return 0;
}
