// faceproof — is this a valid ID document? ICAO 9303 chip documents: passive authentication of
// the chip's files, the MRZ of DG1, and the portrait of DG2 (the reference for face matching).
//
// A document bundle is what a reader (an NFC phone app, a desk reader) read from the chip: EF.SOD
// (the issuing State's signature over the hashes of the data groups), DG1 (the MRZ), DG2 (the
// portrait), optionally DG14 (chip authentication / PACE infos) and DG15 (the active authentication
// key). check_document answers, check by check:
//   sod_signature  the Document Signer's signature over the SOD verifies;
//   dg_hashes      each data group given hashes to the value the SOD signed;
//   chain          the Document Signer certificate chains to a CSCA of the operator's trust store
//                  (never taken from the request);
//   MRZ            DG1's check digits, and the expiry date at `now`.
// status: valid = every check holds; invalid = an integrity check failed (signature, a hash, a
// check digit) or the document is expired; untrusted = intact, but the chain does not reach a
// trusted CSCA (unknown, expired, revoked, invalid).
//
// What it does not prove: that the chip is the original chip. The signed files can be copied to
// another chip (a clone passes passive authentication). Chip and active authentication need a
// challenge from the reader to the chip and are out of scope: DG14 and DG15 are parsed and
// reported so that a reader that did them can be told apart, nothing more.
//
// Thread safety: check_document is reentrant; a TrustStore is immutable and may be shared.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "faceproof/mrz.hpp"

namespace faceproof {

namespace document {
class TrustStore;
}

// The files of one chip, as read.
struct DocumentBundle {
    std::vector<std::uint8_t> sod;  // EF.SOD
    std::vector<std::uint8_t> dg1;  // EF.DG1 (MRZ)
    std::vector<std::uint8_t> dg2;  // EF.DG2 (portrait)
    std::optional<std::vector<std::uint8_t>> dg14, dg15;

    // Reads DIR/EF.SOD, DIR/DG1, DIR/DG2 and, when present, DIR/DG14 and DIR/DG15 (regular files
    // only: a FIFO or device is refused without blocking).
    // throws: io_error naming the file when a required one is missing or unreadable, or a file is
    //         larger than kMaxDocumentFileBytes (refused from its size, before reading).
    static DocumentBundle read_directory(const std::filesystem::path& dir);
};

// A chip file is at most this large: EF.SOD is a few KiB, a DG2 portrait 15–100 KiB.
inline constexpr std::size_t kMaxDocumentFileBytes = 4u << 20;

// The operator's CSCA trust store: a file or a directory of CSCA certificates (PEM/DER), ICAO
// master lists (.ml, their own signature checked) and CRLs (.crl).
// throws: io_error when the path cannot be read; document_malformed naming the file when a file
//         does not parse, a master list does not verify, or no CSCA certificate was found.
std::shared_ptr<const document::TrustStore> load_trust_store(const std::filesystem::path& path);
// What the store holds, one line per file and a count of CSCAs, master lists and CRLs.
std::string describe_trust_store(const document::TrustStore& trust_store);

enum class DocumentStatus { valid, invalid, untrusted };
std::string_view to_string(DocumentStatus status) noexcept;  // "valid", "invalid", "untrusted"

struct DocumentPortrait {
    std::string encoding;  // "ISO/IEC 19794-5" or "ISO/IEC 39794-5"
    std::string format;    // "jpeg" or "jp2"
    std::uint32_t width = 0, height = 0;  // as declared in the record (0 when a record omits it)
    std::vector<std::uint8_t> image;      // the encoded image, as signed
};

struct DocumentCheck {
    DocumentStatus status = DocumentStatus::invalid;

    std::string sod_signature;         // "valid" | "invalid"
    std::string sod_signature_detail;  // why, when invalid
    std::map<std::string, std::string> dg_hashes;  // "DG1" -> "match" | "mismatch" | "absent"
    std::string hash_algorithm;        // of the data-group hashes ("SHA-256")
    std::string signature_algorithm;   // of the Document Signer ("RSASSA-PSS", "ecdsa-with-SHA256")
    std::string chain;                 // "valid" | "unknown_csca" | "expired" | "revoked" | "invalid"
    std::string chain_detail;
    std::string document_signer;       // DS certificate subject, when known
    std::string csca;                  // the trusted CSCA the chain ended at, when valid
    bool chain_checked_at_signing_time = false;  // else at `now` (the SOD had no signing time)

    Mrz mrz;                           // DG1's MRZ, with its check digits
    MrzDateChecks dates;               // birth and expiry judged at `now`
    bool mrz_check_digits_ok = false;
    bool document_expired = false;

    DocumentPortrait portrait;         // the first portrait of DG2
    std::size_t portraits = 0;         // portraits in DG2

    std::vector<std::string> chip_security_infos;  // DG14: the protocols the chip offers, by name
    std::optional<std::string> active_authentication_key;  // DG15: "RSA 2048", "EC brainpoolP256r1"

    std::vector<std::string> reasons;  // stable codes: SOD_SIGNATURE_INVALID, DG<n>_HASH_MISMATCH,
                                       // CSCA_UNKNOWN, DS_CERT_EXPIRED, DS_CERT_REVOKED,
                                       // CHAIN_INVALID, MRZ_CHECK_DIGIT, DOCUMENT_EXPIRED, ...
};

// requires: nothing (the bundle comes from a client: untrusted bytes).
// ensures:  every check is made even when an earlier one fails; reasons lists each failed one;
//           status as described at the top of this file.
// throws:   document_malformed, naming the file and what is wrong, when EF.SOD, DG1 or DG2 (or a
//           DG14/DG15 given) does not parse: such a bundle gets no decision at all.
DocumentCheck check_document(const DocumentBundle& bundle, const document::TrustStore& trust_store,
                             std::chrono::system_clock::time_point now);

}  // namespace faceproof
