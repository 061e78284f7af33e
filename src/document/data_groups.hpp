// faceproof — the data groups of an ICAO 9303 eMRTD chip that the proofing reads (9303 part 10):
// DG1 (MRZ), DG2 (encoded face), DG14 (security infos), DG15 (Active Authentication public key).
//
// The parsers take the whole file as read from the chip (outer tag included) and check structure
// only: whether the file is the one the issuer signed is the business of passive authentication
// against EF.SOD (elsewhere), which must be done before any result here is trusted.
//
// Every parser:
//   requires: nothing — the bytes may come from a hostile chip or client.
//   throws:   Error{document_malformed} with a message naming the file, the structure and the
//             numbers, for anything that does not parse. Never allocates from a claimed length.
//   thread safety: reentrant; no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace faceproof {

// ---- DG1 -------------------------------------------------------------------------------------

// The MRZ text of DG1 (tag 61 / 5F1F), split into lines by its length: 90 characters → TD1
// (3 × 30), 72 → TD2 (2 × 36), 88 → TD3 (2 × 44). The fields are not parsed here.
struct Dg1Mrz {
    std::vector<std::string> lines;
};

// throws: document_malformed for a wrong outer or inner tag, trailing data, an MRZ length other
//         than 90, 72 or 88, or a character outside 'A'–'Z', '0'–'9', '<'.
Dg1Mrz parse_dg1(std::span<const std::uint8_t> bytes);

// ---- DG2 -------------------------------------------------------------------------------------

inline constexpr const char* kEncodingIso19794_5 = "ISO/IEC 19794-5";
inline constexpr const char* kEncodingIso39794_5 = "ISO/IEC 39794-5";

struct Portrait {
    std::string encoding;              // kEncodingIso19794_5 or kEncodingIso39794_5
    std::string format;                // "jpeg" or "jp2" (JP2 file or raw JPEG 2000 codestream)
    std::uint32_t width = 0;           // as declared in the record (not from decoding the image);
    std::uint32_t height = 0;          // 0 when a 39794-5 record omits its optional size block
    std::vector<std::uint8_t> image;   // an owned copy of exactly the declared image bytes
};

// All portraits of DG2 (tag 75): the Biometric Information Group Template 7F61 with its count 02,
// then that many Biometric Information Templates 7F60, each with a header template A1 (contents not
// interpreted: issuers vary) and a biometric data block: 5F2E holding an ISO/IEC 19794-5 facial
// record ("FAC\0" "010\0", every face of the record returned), or 7F2E holding an
// ISO/IEC 39794-5 face image data block (every 2D representation returned).
// ensures: at least one portrait; each format agrees with both the declared image data type and
//          the image's magic bytes; the image is exactly the declared block (no bytes added or
//          dropped; only zero padding after a 19794-5 record is tolerated).
// throws:  document_malformed, also when the count 02 differs from the templates present, an
//          image type is neither JPEG nor JPEG 2000, or the magic bytes contradict the type.
std::vector<Portrait> parse_dg2(std::span<const std::uint8_t> bytes);

// ---- DG14 ------------------------------------------------------------------------------------

struct SecurityInfoSummary {
    std::string protocol_oid;             // dotted, e.g. "0.4.0.127.0.7.2.2.3.2.4"
    std::string protocol;                 // readable name, "unknown protocol" when not known
    std::optional<std::uint64_t> version; // the version field of CA/TA/PACE/AA infos, if present
    std::optional<std::uint64_t> key_id;  // keyId of Chip Authentication infos, if present
    std::string detail;                   // e.g. the AA signature algorithm; may be empty
};

// The SecurityInfos of DG14 (tag 6E, a SET 31 of SEQUENCE { protocol OID, required, optional }),
// in file order, for a report; the protocols themselves need the chip.
// throws: document_malformed for a wrong outer tag, an element that is not a SEQUENCE starting
//         with an OID, any malformed TLV anywhere below, or an empty SET.
std::vector<SecurityInfoSummary> parse_dg14(std::span<const std::uint8_t> bytes);

// ---- DG15 ------------------------------------------------------------------------------------

struct ActiveAuthenticationKey {
    std::string algorithm;     // "RSA" or "EC"
    int bits = 0;              // as OpenSSL reports it: RSA modulus bits, EC group order bits
    std::string curve;         // EC: the curve's short name ("prime256v1", "brainpoolP256r1"),
                               // or "explicit parameters" (+ " (= name)" when OpenSSL matches one)
    std::vector<std::uint8_t> subject_public_key_info;  // the DER bytes, for the later protocol
};

// DG15 (tag 6F) holding one SubjectPublicKeyInfo.
// throws: document_malformed for a wrong outer tag, trailing data, a key OpenSSL cannot decode,
//         or an algorithm other than RSA or EC.
ActiveAuthenticationKey parse_dg15(std::span<const std::uint8_t> bytes);

}  // namespace faceproof
