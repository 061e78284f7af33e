// faceproof — EF.SOD, the Document Security Object of an ICAO 9303 chip (9303-10 §4.6.2, 9303-12).
//
// EF.SOD is tag 0x77 around a CMS ContentInfo/SignedData whose encapsulated content (eContentType
// id-icao-mrtd-security-ldsSecurityObject, 2.23.136.1.1.1) is the LDS Security Object:
//
//   LDSSecurityObject ::= SEQUENCE {
//     version             INTEGER { v0(0), v1(1) },
//     hashAlgorithm       AlgorithmIdentifier,
//     dataGroupHashValues SEQUENCE SIZE (2..16) OF DataGroupHash,
//     ldsVersionInfo      LDSVersionInfo OPTIONAL }          -- present exactly when version is v1
//   DataGroupHash ::= SEQUENCE { dataGroupNumber INTEGER (1..16), dataGroupHashValue OCTET STRING }
//   LDSVersionInfo ::= SEQUENCE { ldsVersion PrintableString, unicodeVersion PrintableString }
//
// parse_sod only parses: it decides nothing about trust. The signature, the data-group hashes and
// the certificate chain are checked by authenticate() (passive_authentication.hpp).
//
// Also here, because every file of src/document/*.{sod,trust_store,passive_authentication} needs
// them: RAII owners for OpenSSL objects, the OpenSSL error-queue text, and a bounded DER reader.
//
// Thread safety: all functions are reentrant; a Sod is immutable after parse_sod and may be shared
// between threads (authenticate decodes a private copy of the CMS from Sod::cms_der to verify it,
// because OpenSSL's CMS verification caches state inside the CMS object).
#pragma once

#include <openssl/cms.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace faceproof::document {

// ---- OpenSSL helpers ---------------------------------------------------------------------------
namespace ossl {

struct X509Free { void operator()(X509* p) const noexcept { X509_free(p); } };
struct CrlFree { void operator()(X509_CRL* p) const noexcept { X509_CRL_free(p); } };
struct CmsFree { void operator()(CMS_ContentInfo* p) const noexcept { CMS_ContentInfo_free(p); } };
struct BioFree { void operator()(BIO* p) const noexcept { BIO_free_all(p); } };
struct PkeyFree { void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); } };

using X509Ptr = std::unique_ptr<X509, X509Free>;
using CrlPtr = std::unique_ptr<X509_CRL, CrlFree>;
using CmsPtr = std::unique_ptr<CMS_ContentInfo, CmsFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Certificates and CRLs are shared read-only between a Sod, a TrustStore and verification.
using Cert = std::shared_ptr<X509>;
using Crl = std::shared_ptr<X509_CRL>;
Cert share(X509Ptr cert);
Crl share(CrlPtr crl);

// The text of every error on this thread's OpenSSL error queue, "; "-separated, and the queue
// emptied ("no OpenSSL error detail" when it was empty). Every OpenSSL failure is reported with it.
std::string drain_errors();

// The one-line RFC 2253 form of a name ("CN=CSCA Utopia,O=Gov,C=UT").
std::string name_text(const X509_NAME* name);

// Seconds since the epoch of an ASN1_TIME; nullopt when it is not a valid UTCTime/GeneralizedTime.
std::optional<std::time_t> to_time_t(const ASN1_TIME* time);

// The dotted numeric text of an OID ("2.23.136.1.1.1").
std::string oid_text(const ASN1_OBJECT* oid);

// Decodes one DER Certificate that must fill `der` exactly.
// throws: Error{document_malformed} "WHAT: ..." with the OpenSSL detail otherwise.
X509Ptr parse_certificate_der(std::span<const std::uint8_t> der, const std::string& what);

// Decodes a DER CMS ContentInfo that must fill `der` exactly and be SignedData with attached content.
// throws: Error{document_malformed} "WHAT: ..." otherwise.
CmsPtr parse_signed_data_der(std::span<const std::uint8_t> der, const std::string& what);

// Explicit EC domain parameters (common in older CSCAs): what OpenSSL 3.0 does with them.
//  - Decoding: when the explicit parameters equal a built-in curve, OpenSSL gives the key that
//    curve's name and remembers OSSL_PKEY_PARAM_EC_DECODED_FROM_EXPLICIT_PARAMS = 1; otherwise the
//    group has no name.
//  - X509_verify_cert (check_chain_extensions): in every chain of two or more certificates, each
//    certificate with explicit parameters fails with X509_V_ERR_EC_KEY_EXPLICIT_PARAMS, BY DEFAULT,
//    X509_V_FLAG_X509_STRICT or not, named-curve equivalent or not (observed with 3.0.19; the
//    failure goes through the verify callback, so a callback can overrule it).
// Our rule: explicit parameters are accepted only when they equal a named curve OpenSSL knows.

// Empty when `cert` has no EC key, a named-curve key, or explicit parameters equal to a named curve
// (OpenSSL's name for the group, and EC_GROUP_cmp of the key's group with that curve: field, a, b,
// generator, order, cofactor); otherwise why not ("the EC key of 'CN=...' has explicit domain
// parameters that are not a known named curve").
std::string explicit_curve_problem(X509* cert);

// X509_STORE_CTX verify callback: overrules X509_V_ERR_EC_KEY_EXPLICIT_PARAMS when
// explicit_curve_problem(current certificate) is empty; every other verdict is left as it is.
int accept_explicit_named_curves(int ok, X509_STORE_CTX* ctx);

}  // namespace ossl

// ---- A bounded DER reader -------------------------------------------------------------------------
namespace der {

// One TLV. Only low tag numbers (one identifier byte) and definite lengths are accepted: DER.
struct Element {
    std::uint8_t tag = 0;                      // the whole identifier byte (0x30 SEQUENCE, 0x77 ...)
    std::span<const std::uint8_t> content;     // the value bytes
    std::span<const std::uint8_t> encoding;    // tag + length + value
};

// Reads the element at the front of `cursor` and advances `cursor` past it.
// requires: nothing.
// ensures:  content and encoding lie inside the bytes `cursor` had on entry.
// throws:   Error{document_malformed} naming `what` when the bytes end early, the length is
//           indefinite, longer than 4 length bytes, not minimal, or past the end; or (when
//           expected_tag >= 0) the tag is not expected_tag.
Element read(std::span<const std::uint8_t>& cursor, const std::string& what, int expected_tag = -1);

// The value of a DER INTEGER element that fits in a long (minimal encoding required).
// throws: Error{document_malformed} naming `what` otherwise.
long read_small_integer(const Element& integer, const std::string& what);

}  // namespace der

// ---- EF.SOD ---------------------------------------------------------------------------------------

enum class HashAlgorithm { sha1, sha224, sha256, sha384, sha512 };

// "SHA-1", "SHA-224", "SHA-256", "SHA-384", "SHA-512" (also the OpenSSL digest names).
std::string_view to_string(HashAlgorithm algorithm) noexcept;
// 20, 28, 32, 48, 64.
std::size_t digest_size(HashAlgorithm algorithm) noexcept;
// The hash of `bytes` with `algorithm`. throws: Error{internal} when OpenSSL fails (with its detail).
std::vector<std::uint8_t> digest(HashAlgorithm algorithm, std::span<const std::uint8_t> bytes);

inline constexpr std::string_view lds_security_object_oid = "2.23.136.1.1.1";

// Bounds of what parse_sod accepts: a real EF.SOD is 1.5–4 KiB (one or two certificates).
inline constexpr std::size_t max_sod_bytes = 64u << 10;

struct Sod {
    int lds_security_object_version = 0;           // 0 or 1
    std::optional<std::string> lds_version;        // LDSVersionInfo (v1 only), e.g. "0108"
    std::optional<std::string> unicode_version;    // e.g. "040000"
    HashAlgorithm hash_algorithm = HashAlgorithm::sha256;  // of the data-group hashes
    std::map<int, std::vector<std::uint8_t>> data_group_hashes;  // DG number (1..16) -> hash

    std::vector<ossl::Cert> certificates;          // every certificate the SignedData carries
    ossl::Cert signer_certificate;                 // the one the SignerInfo names; null when absent
    std::optional<std::time_t> signing_time;       // the signingTime signed attribute, when present
    std::string signature_algorithm;               // SignerInfo signatureAlgorithm, OpenSSL short name
                                                   // ("RSASSA-PSS", "ecdsa-with-SHA256", "rsaEncryption"),
                                                   // the dotted OID when OpenSSL has no name for it
    std::string digest_algorithm;                  // SignerInfo digestAlgorithm ("SHA256")

    std::vector<std::uint8_t> lds_security_object; // the eContent (DER LDSSecurityObject)
    std::vector<std::uint8_t> cms_der;             // the ContentInfo inside tag 0x77
    std::shared_ptr<const CMS_ContentInfo> cms;    // cms_der decoded (for inspection)
};

// Parses EF.SOD.
// requires: nothing (the bytes come from a chip or a client: untrusted).
// ensures:  the outer tag is 0x77 and its length covers the bytes exactly; the content is a DER
//           ContentInfo/SignedData with attached content of type 2.23.136.1.1.1 and exactly one
//           SignerInfo; the LDS Security Object is v0 (no LDSVersionInfo) or v1 (with it), its hash
//           algorithm is SHA-1/224/256/384/512, every DG number is 1..16 and appears once, and every
//           hash has that algorithm's length. Nothing is verified (see authenticate()).
// throws:   Error{document_malformed} with what is wrong (and OpenSSL's detail) for anything else,
//           including more than max_sod_bytes.
Sod parse_sod(std::span<const std::uint8_t> bytes);

}  // namespace faceproof::document
