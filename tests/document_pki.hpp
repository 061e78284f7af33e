// A test PKI for ICAO 9303 passive authentication, generated with the OpenSSL API when a test first
// asks for it (nothing is committed): CSCAs, Document Signers, a CRL, and the EF.SOD files and
// master lists they sign.
//
// Thread safety: document_pki() builds the PKI once (a function-local static); every other
// function is reentrant.
#pragma once

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "document/sod.hpp"

namespace fptest {

using faceproof::document::ossl::Cert;
using faceproof::document::ossl::Crl;
using Key = std::shared_ptr<EVP_PKEY>;

// A certificate, its private key, and how it signs CMS.
struct Party {
    Cert cert;
    Key key;
    bool sign_with_pss = false;   // RSASSA-PSS (SHA-256, MGF1-SHA-256, salt 32) instead of PKCS#1 v1.5
};

struct DocumentPki {
    Party csca_rsa;          // RSA 3072, self-signed
    Party csca_brainpool;    // ECDSA brainpoolP256r1, SubjectPublicKeyInfo with EXPLICIT parameters
    Party csca_unknown;      // ECDSA P-256, never in a trust store
    Party csca_odd_curve;    // EC, explicit parameters equal to no named curve (P-256 with generator 2G)
    Party ds_pss;            // RSA 2048 under csca_rsa, signs with RSASSA-PSS SHA-256
    Party ds_p256;           // ECDSA P-256 under csca_brainpool
    Party ds_rsa_pkcs1;      // RSA 2048 under csca_rsa, PKCS#1 v1.5
    Party ds_p384;           // ECDSA P-384 under csca_rsa
    Party ds_p521;           // ECDSA P-521 under csca_rsa
    Party ds_brainpool384;   // ECDSA brainpoolP384r1 (named) under csca_brainpool
    Party ds_brainpool512;   // ECDSA brainpoolP512r1 (explicit parameters) under csca_brainpool
    Party ds_expired;        // ECDSA P-256 under csca_rsa, expired a year ago
    Party ds_revoked;        // ECDSA P-256 under csca_rsa, listed in `crl`
    Party ds_unknown;        // ECDSA P-256 under csca_unknown
    Party ds_odd_curve;      // ECDSA P-256 under csca_odd_curve
    Party ml_signer;         // master list signer under csca_rsa
    Party ml_signer_unknown; // master list signer under csca_unknown
    Crl crl;                 // by csca_rsa, revoking ds_revoked
};

// The PKI, built on first use (a few seconds: one RSA 3072 and two RSA 2048 keys).
const DocumentPki& document_pki();

// Data groups that look like a passport's (DG1 an MRZ, DG2 some bytes for a portrait, DG14).
std::map<int, std::vector<std::uint8_t>> sample_data_groups();

// The DER LDS Security Object over `data_groups` with `hash` ("SHA-1" ... "SHA-512"), version 0
// (or 1 with LDSVersionInfo "0108"/"040000").
std::vector<std::uint8_t> lds_security_object(const std::map<int, std::vector<std::uint8_t>>& data_groups,
                                              const std::string& hash, int version = 0);

struct SodOptions {
    std::string lds_hash = "SHA-256";        // the data-group hashes
    std::string signature_digest = "SHA-256"; // the CMS digest
    std::optional<std::time_t> signing_time;  // default: CMS_final's current time
    int lds_version = 0;
    bool signed_attributes = true;            // false: CMS_NOATTR (no signingTime, no messageDigest)
};

// EF.SOD bytes: 0x77 around a CMS SignedData (eContentType 2.23.136.1.1.1, signed attributes with
// signingTime, the signer's certificate) over the LDS Security Object of `data_groups`.
// throws: std::runtime_error when OpenSSL fails.
std::vector<std::uint8_t> make_sod(const std::map<int, std::vector<std::uint8_t>>& data_groups, const Party& signer,
                                   const SodOptions& options = {});

// EF.SOD bytes around a signed `content` given as is (to test malformed LDS Security Objects),
// with eContentType `content_type`.
std::vector<std::uint8_t> make_sod_from_content(const std::vector<std::uint8_t>& content, const Party& signer,
                                                const SodOptions& options = {},
                                                const char* content_type = "2.23.136.1.1.1");

// One DER TLV (low tag number, definite length).
std::vector<std::uint8_t> der_tlv(std::uint8_t tag, const std::vector<std::uint8_t>& content);

// A CMS-signed master list (eContentType 2.23.136.1.1.2) of `cscas`, DER.
std::vector<std::uint8_t> make_master_list(const std::vector<Cert>& cscas, const Party& signer);

std::vector<std::uint8_t> der_of(X509* cert);
std::string pem_of(X509* cert);
std::vector<std::uint8_t> der_of(X509_CRL* crl);
std::string pem_of(X509_CRL* crl);
void write_pki_file(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes);
void write_pki_file(const std::filesystem::path& path, const std::string& text);

// A fresh empty directory (mkdtemp), removed with its content by the destructor. (Not
// test_support.hpp's TempDir: these tests do not depend on the model fixture.)
class PkiTempDir {
public:
    PkiTempDir();
    ~PkiTempDir();
    PkiTempDir(const PkiTempDir&) = delete;
    PkiTempDir& operator=(const PkiTempDir&) = delete;
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

}  // namespace fptest
