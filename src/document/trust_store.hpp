// faceproof — the CSCA trust store of passive authentication (ICAO 9303-12).
//
// Trust model: the trust store is configured by the operator (a file or directory given at start-up,
// `--trust`), never taken from a request: a document can only be trusted through a Country Signing
// CA certificate the operator chose to trust, directly or through a master list the operator chose
// to load (whose own signature is checked, see below).
//
// What TrustStore::load reads, from one file or from the regular files of one directory
// (non-recursive; at most max_directory_entries entries; files of at most max_file_bytes):
//   *.ml                               ICAO master list: CMS SignedData, eContentType
//                                      id-icao-cscaMasterList (2.23.136.1.1.2), content
//                                      CscaMasterList ::= SEQUENCE { version INTEGER (v0),
//                                                                    certList SET OF Certificate }
//   *.crl                              certificate revocation lists, PEM (several) or DER (one)
//   *.pem *.crt *.cer *.der *.cert     CSCA certificates, PEM (several per file) or DER (one)
//   anything else                      skipped, and listed as skipped in the summary
// In a directory, certificate files are read first, then master lists (in name order: so a master
// list signer may chain to a CSCA of a certificate file), then CRLs.
//
// A master list is used only when its CMS signature verifies and its signer certificate chains,
// at the time of loading, to a CSCA in the list itself or already in the store; otherwise load()
// fails: a list that does not verify is refused, never used silently.
//
// Thread safety: a TrustStore is immutable after load()/from_certificates(); every const member
// function may be called from any number of threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "document/sod.hpp"

namespace faceproof::document {

inline constexpr std::size_t max_trust_file_bytes = 16u << 20;
inline constexpr std::size_t max_trust_directory_entries = 10'000;
inline constexpr std::string_view csca_master_list_oid = "2.23.136.1.1.2";

// A master list as parsed, before any trust decision.
struct MasterList {
    int version = 0;                          // CscaMasterList version (0)
    std::vector<ossl::Cert> cscas;            // certList
    std::vector<ossl::Cert> certificates;     // the certificates the SignedData carries (the signer's)
    ossl::Cert signer_certificate;            // the one the SignerInfo names; null when absent
    std::shared_ptr<const CMS_ContentInfo> cms;
    std::vector<std::uint8_t> cms_der;
};

// Parses a master list (DER CMS ContentInfo).
// requires: nothing (untrusted bytes).
// ensures:  SignedData with attached content of type 2.23.136.1.1.2, exactly one SignerInfo, content
//           a CscaMasterList of version 0 whose certificates each decode. Nothing is verified.
// throws:   Error{document_malformed} otherwise (with OpenSSL's detail), or when larger than
//           max_trust_file_bytes.
MasterList parse_master_list(std::span<const std::uint8_t> bytes);

// Checks the master list's own signature: the CMS signature (over the signed attributes and the
// content) with its signer certificate, and that certificate's chain, at time `now`, to a CSCA of the
// list or of `known_cscas`.
// throws: Error{document_malformed} "master list signature ..." / "master list signer ..." otherwise.
void verify_master_list(const MasterList& list, const std::vector<ossl::Cert>& known_cscas, std::time_t now);

// What a trust store holds, for the `--trust` summary.
struct TrustStoreSummary {
    std::size_t csca_certificates = 0;      // distinct CSCA certificates (duplicates counted once)
    std::size_t master_lists = 0;
    std::size_t crls = 0;
    std::vector<std::string> csca_subjects; // RFC 2253 subject of each CSCA certificate
    std::vector<std::string> crl_issuers;
    std::vector<std::string> files;         // "path: what it gave" for every file read
    std::vector<std::string> skipped;       // files not read and why
};

class TrustStore {
public:
    // An empty store: every chain ends in unknown_csca.
    TrustStore() = default;

    // Loads a file or a directory as described at the top of this file.
    // requires: nothing (the path may name anything).
    // ensures:  at least one CSCA certificate was loaded (a store that trusts nothing is a mistake).
    // throws:   Error{io_error} when the path or a file cannot be read, is too large, or the directory
    //           has more than max_trust_directory_entries entries;
    //           Error{document_malformed} naming the file when a file does not parse, a master list
    //           does not verify, or nothing was loaded.
    static TrustStore load(const std::filesystem::path& path);

    // A store of the given CSCAs and CRLs (no master list checks: the caller vouches for them).
    static TrustStore from_certificates(std::vector<ossl::Cert> cscas, std::vector<ossl::Crl> crls = {});

    const std::vector<ossl::Cert>& cscas() const noexcept { return cscas_; }
    const std::vector<ossl::Crl>& crls() const noexcept { return crls_; }
    const TrustStoreSummary& summary() const noexcept { return summary_; }
    bool empty() const noexcept { return cscas_.empty(); }

    // The summary as text lines, for the CLI.
    std::string summary_text() const;

private:
    void add_csca(ossl::Cert cert);
    void add_crl(ossl::Crl crl);

    std::vector<ossl::Cert> cscas_;
    std::vector<ossl::Crl> crls_;
    TrustStoreSummary summary_;
};

}  // namespace faceproof::document
