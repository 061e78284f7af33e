// faceproof — passive authentication of an ICAO 9303 chip (9303-11 §5.1, 9303-12).
//
// What it proves: the data groups read from the chip are the ones the issuing State signed
// (their hashes are in the LDS Security Object, which a Document Signer signed), and the Document
// Signer certificate chains to a CSCA the operator trusts.
// What it does not prove: that the chip is the genuine chip. EF.SOD and the data groups can be
// copied byte for byte to another chip or file (a clone passes passive authentication). Detecting
// clones needs chip authentication or active authentication with a reader (DG14/DG15 challenge):
// out of scope here.
//
// Trust model: the TrustStore comes from the operator's configuration, never from the request; the
// certificates inside the SOD are only candidates that must chain to it.
//
// The checks are reported separately, so a caller can tell "tampered" from "not trusted":
//   sod_signature  the DS signature over the signed attributes verifies with the SOD's DS
//                  certificate AND the messageDigest attribute equals the hash of the eContent
//                  (CMS_verify without its certificate check; the chain is checked below).
//   dg_hashes      per data group: match / mismatch, "absent" for a DG the SOD lists but the caller
//                  did not give, mismatch for a DG given but not listed by the SOD.
//   chain          the DS certificate against the trust store with X509_verify_cert:
//                  valid / unknown_csca / expired / revoked / invalid.
//
// Validity time: the chain (DS certificate and CSCA) is checked at the SOD's signingTime when the
// SOD carries one, and at `now` otherwise. Why: ICAO 9303-12 gives a DS certificate a validity of
// the private key usage period plus the validity of the documents it signs, and documents are
// checked for their whole life (up to ten years). The question passive authentication answers is
// "was this document signed by a DS that was valid when it signed?" (the chain model), so the time
// the signature was made is the right reference; a DS certificate whose key usage period ended
// long ago must not make every document it signed fail. signingTime is a signed attribute, so
// it is covered by the DS signature (forging it needs the DS key, which already forges anything);
// it is optional in 9303, hence the fallback to `now` (the stricter shell model). Revocation (CRLs)
// is checked for the DS certificate when the store has a CRL issued by the DS's issuer.
//
// Explicit EC parameters: many older CSCAs (and some DSs) encode their EC domain parameters
// explicitly instead of naming the curve. OpenSSL 3.0 decodes them and, when they equal a built-in
// curve, gives the key that curve's name (remembering "decoded-from-explicit"). X509_verify_cert
// then refuses, by default and not only under X509_V_FLAG_X509_STRICT, every certificate with
// explicit parameters in a chain of two or more (X509_V_ERR_EC_KEY_EXPLICIT_PARAMS), even when the
// curve is a standard one: that would refuse real CSCAs. We decide deliberately instead (a verify
// callback, ossl::accept_explicit_named_curves): explicit parameters are accepted only when they
// equal a named curve OpenSSL knows (same field, a, b, generator, order, cofactor); any other
// explicit curve (an unvetted group, possibly weak or crafted) makes the chain invalid with reasons
// CHAIN_INVALID and EC_PARAMETERS_UNKNOWN_CURVE. The DS certificate and every CSCA of the chain
// are checked, also when the chain has one certificate (where OpenSSL does not look).
//
// Thread safety: authenticate is reentrant and only reads its arguments; a Sod and a TrustStore may
// be shared by any number of concurrent calls.
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "document/sod.hpp"
#include "document/trust_store.hpp"

namespace faceproof::document {

enum class SignatureStatus { valid, invalid };
enum class DataGroupHashStatus { match, mismatch, absent };
enum class ChainStatus { valid, unknown_csca, expired, revoked, invalid };

// authentic: signature valid, every given DG matches, chain valid.
// untrusted: integrity holds (signature valid, every given DG matches) but the chain does not.
// failed:    the signature or a given DG does not verify (tampered or corrupted data).
enum class PassiveAuthenticationStatus { authentic, untrusted, failed };

std::string_view to_string(SignatureStatus status) noexcept;        // "valid", "invalid"
std::string_view to_string(DataGroupHashStatus status) noexcept;    // "match", "mismatch", "absent"
std::string_view to_string(ChainStatus status) noexcept;            // "valid", "unknown_csca", ...
std::string_view to_string(PassiveAuthenticationStatus status) noexcept;  // "authentic", ...

// Stable reason codes (API and audit): a result lists every one that applies.
namespace reason {
inline constexpr std::string_view sod_signature_invalid = "SOD_SIGNATURE_INVALID";
inline constexpr std::string_view csca_unknown = "CSCA_UNKNOWN";
inline constexpr std::string_view ds_cert_expired = "DS_CERT_EXPIRED";      // or not yet valid
inline constexpr std::string_view csca_cert_expired = "CSCA_CERT_EXPIRED";  // or not yet valid
inline constexpr std::string_view ds_cert_revoked = "DS_CERT_REVOKED";
inline constexpr std::string_view chain_invalid = "CHAIN_INVALID";
inline constexpr std::string_view ec_parameters_unknown_curve = "EC_PARAMETERS_UNKNOWN_CURVE";
inline constexpr std::string_view document_malformed = "DOCUMENT_MALFORMED";  // for callers whose parse failed
// "DG<n>_HASH_MISMATCH" for data group n (1..16).
std::string data_group_hash_mismatch(int data_group);
}  // namespace reason

struct PassiveAuthenticationResult {
    PassiveAuthenticationStatus status = PassiveAuthenticationStatus::failed;

    SignatureStatus sod_signature = SignatureStatus::invalid;
    std::string sod_signature_detail;                 // OpenSSL's words when invalid

    std::map<int, DataGroupHashStatus> dg_hashes;     // every DG of the SOD and every DG given

    ChainStatus chain = ChainStatus::invalid;
    std::string chain_detail;                          // X509_verify_cert's words, or ours
    std::time_t validation_time = 0;                   // the time the chain was checked at
    bool validated_at_signing_time = false;            // true: Sod::signing_time; false: `now`
    std::string document_signer;                       // DS subject (RFC 2253), when known
    std::string csca;                                  // the CSCA subject the chain ended at, when valid

    std::vector<std::string> reasons;                 // the reason codes above, in check order
};

// Passive authentication of one document.
// requires: data_groups maps DG numbers to the exact bytes of each EF.DGn as read (tag included);
//           the spans stay valid during the call.
// ensures:  every check is performed (a failing signature does not stop the hash or chain checks);
//           status is as described at PassiveAuthenticationStatus; reasons lists one code for every
//           failed check (none when authentic).
// throws:   Error{internal} only when OpenSSL itself fails (allocation); malformed input was
//           already refused by parse_sod.
// thread safety: reentrant (see the top of this file).
PassiveAuthenticationResult authenticate(const Sod& sod,
                                         const std::map<int, std::span<const std::uint8_t>>& data_groups,
                                         const TrustStore& trust_store, std::time_t now);

// parse_sod and authenticate in one call, for callers that report rather than throw: bytes that
// do not parse give status failed, sod_signature invalid, chain invalid and the one reason
// DOCUMENT_MALFORMED, with parse_sod's message in sod_signature_detail.
// throws: Error{internal} only when OpenSSL itself fails.
PassiveAuthenticationResult authenticate_sod_bytes(std::span<const std::uint8_t> sod_bytes,
                                                   const std::map<int, std::span<const std::uint8_t>>& data_groups,
                                                   const TrustStore& trust_store, std::time_t now);

}  // namespace faceproof::document
