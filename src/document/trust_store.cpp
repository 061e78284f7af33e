#include "document/trust_store.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <memory>
#include <system_error>

#include "faceproof/error.hpp"
#include "util/input_file.hpp"

namespace faceproof::document {

namespace {

[[noreturn]] void malformed(const std::string& message) { throw Error(ErrorCode::document_malformed, message); }

struct StoreFree { void operator()(X509_STORE* p) const noexcept { X509_STORE_free(p); } };
struct StoreCtxFree { void operator()(X509_STORE_CTX* p) const noexcept { X509_STORE_CTX_free(p); } };

std::vector<ossl::Cert> certificates_of(CMS_ContentInfo* cms) {
    std::vector<ossl::Cert> out;
    STACK_OF(X509)* certs = CMS_get1_certs(cms);
    if (certs != nullptr) {
        while (sk_X509_num(certs) > 0) out.push_back(ossl::share(ossl::X509Ptr(sk_X509_shift(certs))));
        sk_X509_free(certs);
    }
    ERR_clear_error();
    return out;
}

bool looks_like_pem(std::span<const std::uint8_t> bytes) {
    static constexpr std::string_view marker = "-----BEGIN ";
    std::size_t i = 0;
    while (i < bytes.size() && std::isspace(bytes[i]) != 0) ++i;
    return bytes.size() - i >= marker.size() && std::equal(marker.begin(), marker.end(), bytes.begin() + i);
}

ossl::BioPtr memory_bio(std::span<const std::uint8_t> bytes) {
    ossl::BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
    if (!bio) throw Error(ErrorCode::internal, "cannot create a memory BIO: " + ossl::drain_errors());
    return bio;
}

// Every PEM object of one kind in `bytes` (at least one), e.g. CERTIFICATE or X509 CRL.
template <typename T, typename Read>
std::vector<T> read_pem_objects(std::span<const std::uint8_t> bytes, const std::string& what, Read read) {
    ossl::BioPtr bio = memory_bio(bytes);
    std::vector<T> out;
    ERR_clear_error();
    for (;;) {
        auto object = read(bio.get());
        if (!object) {
            const unsigned long error = ERR_peek_last_error();
            // The end of the input is "no start line"; anything else is a broken object.
            if (ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE && !out.empty()) {
                ERR_clear_error();
                break;
            }
            malformed(what + ": " + (out.empty() ? "no PEM object of the expected kind" : "a broken PEM object") +
                      ": " + ossl::drain_errors());
        }
        out.push_back(std::move(object));
        if (out.size() > 100'000) malformed(what + ": more than 100000 objects");
    }
    return out;
}

std::vector<ossl::Cert> parse_certificate_file(std::span<const std::uint8_t> bytes, const std::string& what) {
    if (!looks_like_pem(bytes)) return {ossl::share(ossl::parse_certificate_der(bytes, what))};
    return read_pem_objects<ossl::Cert>(bytes, what, [](BIO* bio) {
        return ossl::share(ossl::X509Ptr(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)));
    });
}

std::vector<ossl::Crl> parse_crl_file(std::span<const std::uint8_t> bytes, const std::string& what) {
    if (!looks_like_pem(bytes)) {
        if (bytes.empty() || bytes.size() > static_cast<std::size_t>(LONG_MAX)) malformed(what + ": empty CRL file");
        const unsigned char* p = bytes.data();
        ossl::CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(bytes.size())));
        if (!crl) malformed(what + ": not a DER CRL: " + ossl::drain_errors());
        if (p != bytes.data() + bytes.size()) malformed(what + ": bytes after the CRL");
        return {ossl::share(std::move(crl))};
    }
    return read_pem_objects<ossl::Crl>(bytes, what, [](BIO* bio) {
        return ossl::share(ossl::CrlPtr(PEM_read_bio_X509_CRL(bio, nullptr, nullptr, nullptr)));
    });
}

std::string lower_extension(const std::filesystem::path& path) {
    std::string extension = path.extension().string();
    for (char& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return extension;
}

enum class FileKind { certificates, master_list, crl, other };

FileKind kind_of(const std::filesystem::path& path) {
    const std::string extension = lower_extension(path);
    if (extension == ".ml") return FileKind::master_list;
    if (extension == ".crl") return FileKind::crl;
    if (extension == ".pem" || extension == ".crt" || extension == ".cer" || extension == ".der" ||
        extension == ".cert")
        return FileKind::certificates;
    return FileKind::other;
}

}  // namespace

MasterList parse_master_list(std::span<const std::uint8_t> bytes) {
    const std::string what = "master list";
    if (bytes.size() > max_trust_file_bytes) malformed(what + ": larger than " + std::to_string(max_trust_file_bytes) + " bytes");
    MasterList list;
    list.cms_der.assign(bytes.begin(), bytes.end());
    ossl::CmsPtr cms = ossl::parse_signed_data_der(bytes, what);
    const std::string content_type = ossl::oid_text(CMS_get0_eContentType(cms.get()));
    if (content_type != csca_master_list_oid)
        malformed(what + ": eContentType is " + content_type + ", not id-icao-cscaMasterList (" +
                  std::string(csca_master_list_oid) + ")");
    STACK_OF(CMS_SignerInfo)* signers = CMS_get0_SignerInfos(cms.get());
    if (signers == nullptr || sk_CMS_SignerInfo_num(signers) != 1)
        malformed(what + ": " + std::to_string(signers == nullptr ? 0 : sk_CMS_SignerInfo_num(signers)) +
                  " SignerInfos; exactly one expected");

    const ASN1_OCTET_STRING* content = *CMS_get0_content(cms.get());
    const std::span<const std::uint8_t> content_bytes(ASN1_STRING_get0_data(content),
                                                      static_cast<std::size_t>(std::max(0, ASN1_STRING_length(content))));
    std::span<const std::uint8_t> cursor = content_bytes;
    const der::Element sequence = der::read(cursor, what + " CscaMasterList", 0x30);
    if (!cursor.empty()) malformed(what + ": bytes after the CscaMasterList");
    std::span<const std::uint8_t> fields = sequence.content;
    const long version = der::read_small_integer(der::read(fields, what + " version", 0x02), what + " version");
    if (version != 0) malformed(what + ": version " + std::to_string(version) + " (0 expected)");
    list.version = 0;
    const der::Element set = der::read(fields, what + " certList", 0x31);
    if (!fields.empty()) malformed(what + ": fields after certList");
    std::span<const std::uint8_t> certs = set.content;
    while (!certs.empty()) {
        const der::Element cert = der::read(certs, what + " certificate", 0x30);
        list.cscas.push_back(ossl::share(
            ossl::parse_certificate_der(cert.encoding, what + " certificate " + std::to_string(list.cscas.size() + 1))));
    }
    if (list.cscas.empty()) malformed(what + ": no certificates");

    list.certificates = certificates_of(cms.get());
    CMS_SignerInfo* signer = sk_CMS_SignerInfo_value(signers, 0);
    for (const ossl::Cert& cert : list.certificates) {
        if (CMS_SignerInfo_cert_cmp(signer, cert.get()) == 0) {
            list.signer_certificate = cert;
            break;
        }
    }
    ERR_clear_error();
    list.cms = std::shared_ptr<const CMS_ContentInfo>(cms.release(), ossl::CmsFree{});
    return list;
}

void verify_master_list(const MasterList& list, const std::vector<ossl::Cert>& known_cscas, std::time_t now) {
    if (!list.signer_certificate) malformed("master list signature: the signer certificate is not in the master list");
    // A private copy: CMS_verify records the signer certificate inside the CMS object.
    ossl::CmsPtr cms = ossl::parse_signed_data_der(list.cms_der, "master list");
    ERR_clear_error();
    if (CMS_verify(cms.get(), nullptr, nullptr, nullptr, nullptr, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) != 1)
        malformed("master list signature does not verify: " + ossl::drain_errors());

    std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
    std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
    if (!store || !ctx) throw Error(ErrorCode::internal, "cannot create an X509_STORE: " + ossl::drain_errors());
    for (const auto* group : {&list.cscas, &known_cscas})
        for (const ossl::Cert& cert : *group)
            if (X509_STORE_add_cert(store.get(), cert.get()) != 1)
                throw Error(ErrorCode::internal, "cannot add a CSCA to an X509_STORE: " + ossl::drain_errors());
    if (X509_STORE_CTX_init(ctx.get(), store.get(), list.signer_certificate.get(), nullptr) != 1)
        throw Error(ErrorCode::internal, "cannot initialise an X509_STORE_CTX: " + ossl::drain_errors());
    X509_STORE_CTX_set_time(ctx.get(), 0, now);
    X509_STORE_CTX_set_verify_cb(ctx.get(), ossl::accept_explicit_named_curves);
    if (X509_verify_cert(ctx.get()) != 1) {
        const int error = X509_STORE_CTX_get_error(ctx.get());
        ERR_clear_error();
        malformed("master list signer '" + ossl::name_text(X509_get_subject_name(list.signer_certificate.get())) +
                  "' does not chain to a CSCA of the list or the store: " + X509_verify_cert_error_string(error));
    }
}

void TrustStore::add_csca(ossl::Cert cert) {
    for (const ossl::Cert& known : cscas_)
        if (X509_cmp(known.get(), cert.get()) == 0) return;  // the same certificate from two sources
    summary_.csca_subjects.push_back(ossl::name_text(X509_get_subject_name(cert.get())));
    cscas_.push_back(std::move(cert));
    summary_.csca_certificates = cscas_.size();
}

void TrustStore::add_crl(ossl::Crl crl) {
    summary_.crl_issuers.push_back(ossl::name_text(X509_CRL_get_issuer(crl.get())));
    crls_.push_back(std::move(crl));
    summary_.crls = crls_.size();
}

TrustStore TrustStore::from_certificates(std::vector<ossl::Cert> cscas, std::vector<ossl::Crl> crls) {
    TrustStore store;
    for (ossl::Cert& cert : cscas)
        if (cert) store.add_csca(std::move(cert));
    for (ossl::Crl& crl : crls)
        if (crl) store.add_crl(std::move(crl));
    return store;
}

TrustStore TrustStore::load(const std::filesystem::path& path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec) throw Error(ErrorCode::io_error, "cannot read trust store '" + path.string() + "': " + ec.message());

    std::vector<std::filesystem::path> files;
    if (std::filesystem::is_directory(status)) {
        std::filesystem::directory_iterator it(path, ec), end;
        if (ec) throw Error(ErrorCode::io_error, "cannot list trust store directory '" + path.string() + "': " + ec.message());
        std::size_t entries = 0;
        for (; it != end; it.increment(ec)) {
            if (++entries > max_trust_directory_entries)
                throw Error(ErrorCode::io_error, "trust store directory '" + path.string() + "' has more than " +
                                                     std::to_string(max_trust_directory_entries) + " entries");
            files.push_back(it->path());
        }
        if (ec) throw Error(ErrorCode::io_error, "cannot list trust store directory '" + path.string() + "': " + ec.message());
        std::sort(files.begin(), files.end());
    } else {
        files.push_back(path);  // InputFile refuses what is not a regular file
    }

    TrustStore store;
    const bool single_file = files.size() == 1 && files.front() == path;
    // Certificates first, then master lists (their signers may chain to those CSCAs), then CRLs.
    for (const FileKind pass : {FileKind::certificates, FileKind::master_list, FileKind::crl}) {
        for (const std::filesystem::path& file : files) {
            FileKind kind = kind_of(file);
            if (kind == FileKind::other && single_file) kind = FileKind::certificates;  // named explicitly
            if (kind == FileKind::other) {
                if (pass == FileKind::certificates)
                    store.summary_.skipped.push_back(file.string() + ": not a .pem/.crt/.cer/.der/.cert/.ml/.crl file");
                continue;
            }
            if (kind != pass) continue;
            if (!single_file) {
                std::error_code type_error;
                if (!std::filesystem::is_regular_file(file, type_error)) {
                    store.summary_.skipped.push_back(file.string() + ": not a regular file");
                    continue;
                }
            }
            const std::vector<std::uint8_t> bytes =
                read_input_file(file, max_trust_file_bytes, "trust store file", ErrorCode::io_error);
            const std::string what = "trust store file '" + file.string() + "'";
            if (kind == FileKind::certificates) {
                const std::vector<ossl::Cert> certs = parse_certificate_file(bytes, what);
                for (const ossl::Cert& cert : certs) store.add_csca(cert);
                store.summary_.files.push_back(file.string() + ": " + std::to_string(certs.size()) + " certificate(s)");
            } else if (kind == FileKind::master_list) {
                MasterList list;
                try {
                    list = parse_master_list(bytes);
                    verify_master_list(list, store.cscas_, std::time(nullptr));
                } catch (const Error& e) {
                    throw Error(e.code(), what + ": " + e.what());
                }
                for (const ossl::Cert& cert : list.cscas) store.add_csca(cert);
                ++store.summary_.master_lists;
                store.summary_.files.push_back(file.string() + ": master list of " + std::to_string(list.cscas.size()) +
                                               " CSCA certificate(s), signed by " +
                                               ossl::name_text(X509_get_subject_name(list.signer_certificate.get())));
            } else {
                const std::vector<ossl::Crl> crls = parse_crl_file(bytes, what);
                for (const ossl::Crl& crl : crls) store.add_crl(crl);
                store.summary_.files.push_back(file.string() + ": " + std::to_string(crls.size()) + " CRL(s)");
            }
        }
    }
    if (store.cscas_.empty())
        malformed("trust store '" + path.string() + "' holds no CSCA certificate (nothing would ever be trusted)");
    return store;
}

std::string TrustStore::summary_text() const {
    std::string text = std::to_string(summary_.csca_certificates) + " CSCA certificate(s), " +
                       std::to_string(summary_.master_lists) + " master list(s), " + std::to_string(summary_.crls) +
                       " CRL(s)\n";
    for (const std::string& subject : summary_.csca_subjects) text += "  CSCA " + subject + "\n";
    for (const std::string& issuer : summary_.crl_issuers) text += "  CRL  " + issuer + "\n";
    for (const std::string& file : summary_.files) text += "  read " + file + "\n";
    for (const std::string& file : summary_.skipped) text += "  skipped " + file + "\n";
    return text;
}

}  // namespace faceproof::document
