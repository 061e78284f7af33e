#include "document_pki.hpp"

#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace fptest {

namespace ossl = faceproof::document::ossl;

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("test PKI: " + what + ": " + ossl::drain_errors()); }

struct CtxFree { void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); } };
struct BnFree { void operator()(BIGNUM* p) const noexcept { BN_free(p); } };
struct GroupFree { void operator()(EC_GROUP* p) const noexcept { EC_GROUP_free(p); } };
struct PointFree { void operator()(EC_POINT* p) const noexcept { EC_POINT_free(p); } };
struct ParamBldFree { void operator()(OSSL_PARAM_BLD* p) const noexcept { OSSL_PARAM_BLD_free(p); } };
struct ParamFree { void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); } };

Key share(EVP_PKEY* key) {
    if (key == nullptr) fail("key generation");
    return Key(key, ossl::PkeyFree{});
}

Key rsa_key(unsigned bits) { return share(EVP_RSA_gen(bits)); }
Key ec_key(const char* curve) { return share(EVP_EC_gen(curve)); }

// Key generation with parameters given to the EC key generator (named or explicit group).
Key ec_key_with(const OSSL_PARAM* params) {
    std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    EVP_PKEY* key = nullptr;
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_params(ctx.get(), params) != 1 ||
        EVP_PKEY_generate(ctx.get(), &key) != 1)
        fail("EC key generation with parameters");
    return share(key);
}

// brainpoolP256r1 whose public key is encoded with explicit domain parameters (as older CSCAs do).
Key brainpool_explicit_key(const char* curve = "brainpoolP256r1") {
    std::string group_name = curve;
    char* group = group_name.data();
    char encoding[] = "explicit";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, encoding, 0),
        OSSL_PARAM_construct_end(),
    };
    return ec_key_with(params);
}

// The P-256 field, curve and order but generator 2G: a valid group that is no named curve.
Key odd_curve_key() {
    std::unique_ptr<EC_GROUP, GroupFree> p256(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
    std::unique_ptr<BIGNUM, BnFree> p(BN_new()), a(BN_new()), b(BN_new()), two(BN_new());
    if (!p256 || !p || !a || !b || !two || EC_GROUP_get_curve(p256.get(), p.get(), a.get(), b.get(), nullptr) != 1 ||
        BN_set_word(two.get(), 2) != 1)
        fail("P-256 parameters");
    std::unique_ptr<EC_POINT, PointFree> g2(EC_POINT_new(p256.get()));
    if (!g2 || EC_POINT_mul(p256.get(), g2.get(), two.get(), nullptr, nullptr, nullptr) != 1) fail("2G");
    unsigned char generator[65];
    const std::size_t generator_size = EC_POINT_point2oct(p256.get(), g2.get(), POINT_CONVERSION_UNCOMPRESSED,
                                                          generator, sizeof generator, nullptr);
    if (generator_size != sizeof generator) fail("2G encoding");
    std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
    char field[] = SN_X9_62_prime_field;
    char encoding[] = "explicit";
    if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_EC_FIELD_TYPE, field, 0) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_EC_P, p.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_EC_A, a.get()) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_EC_B, b.get()) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_EC_GENERATOR, generator, generator_size) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_EC_ORDER, EC_GROUP_get0_order(p256.get())) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_EC_COFACTOR, BN_value_one()) != 1 ||
        OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_EC_ENCODING, encoding, 0) != 1)
        fail("odd curve parameters");
    std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
    if (!params) fail("odd curve parameters");
    return ec_key_with(params.get());
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (extension == nullptr || X509_add_ext(cert, extension, -1) != 1) {
        X509_EXTENSION_free(extension);
        fail(std::string("extension ") + value);
    }
    X509_EXTENSION_free(extension);
}

enum class Role { csca, document_signer, master_list_signer };

// A certificate for `key`, issued by `issuer` (self-signed when null), valid from
// now + not_before_days to now + not_after_days.
Party issue(const std::string& common_name, Key key, const Party* issuer, Role role, long serial,
            long not_before_days = -30, long not_after_days = 3650) {
    ossl::X509Ptr cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
        ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) != 1)
        fail("X509_new");
    X509_NAME* name = X509_get_subject_name(cert.get());
    const auto add = [&](const char* field, const std::string& value) {
        if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC, reinterpret_cast<const unsigned char*>(value.c_str()),
                                       -1, -1, 0) != 1)
            fail("subject name");
    };
    add("C", "UT");
    add("O", "Utopia Test PKI");
    add("CN", common_name);
    X509* issuer_cert = issuer != nullptr ? issuer->cert.get() : cert.get();
    if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert)) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(cert.get()), not_before_days * 86400L) == nullptr ||
        X509_gmtime_adj(X509_getm_notAfter(cert.get()), not_after_days * 86400L) == nullptr ||
        X509_set_pubkey(cert.get(), key.get()) != 1)
        fail("certificate fields");
    if (role == Role::csca) {
        add_extension(cert.get(), issuer_cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
        add_extension(cert.get(), issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_extension(cert.get(), issuer_cert, NID_key_usage, "critical,digitalSignature");
    }
    add_extension(cert.get(), issuer_cert, NID_subject_key_identifier, "hash");
    add_extension(cert.get(), issuer_cert, NID_authority_key_identifier, "keyid:always");
    EVP_PKEY* signing_key = issuer != nullptr ? issuer->key.get() : key.get();
    if (X509_sign(cert.get(), signing_key, EVP_sha256()) <= 0) fail("X509_sign " + common_name);
    // Through DER and back, so the certificate's key is the one a verifier decodes (an X509 built in
    // memory keeps the EVP_PKEY it was given, which knows nothing of "decoded from explicit").
    const std::vector<std::uint8_t> der = der_of(cert.get());
    return Party{ossl::share(ossl::parse_certificate_der(der, common_name)), std::move(key), false};
}

Crl make_crl(const Party& issuer, const std::vector<const Party*>& revoked) {
    ossl::CrlPtr crl(X509_CRL_new());
    if (!crl || X509_CRL_set_version(crl.get(), 1) != 1 ||
        X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.cert.get())) != 1)
        fail("X509_CRL_new");
    ASN1_TIME* last = X509_gmtime_adj(nullptr, -86400L);
    ASN1_TIME* next = X509_gmtime_adj(nullptr, 30 * 86400L);
    const bool times = last != nullptr && next != nullptr && X509_CRL_set1_lastUpdate(crl.get(), last) == 1 &&
                       X509_CRL_set1_nextUpdate(crl.get(), next) == 1;
    for (const Party* party : revoked) {
        X509_REVOKED* entry = X509_REVOKED_new();
        if (entry == nullptr || X509_REVOKED_set_serialNumber(entry, X509_get_serialNumber(party->cert.get())) != 1 ||
            X509_REVOKED_set_revocationDate(entry, last) != 1 || X509_CRL_add0_revoked(crl.get(), entry) != 1) {
            X509_REVOKED_free(entry);
            fail("CRL entry");
        }
    }
    ASN1_TIME_free(last);
    ASN1_TIME_free(next);
    if (!times || X509_CRL_sort(crl.get()) != 1 || X509_CRL_sign(crl.get(), issuer.key.get(), EVP_sha256()) <= 0)
        fail("CRL signing");
    return ossl::share(std::move(crl));
}

std::vector<std::uint8_t> tlv(std::uint8_t tag, const std::vector<std::uint8_t>& content) {
    std::vector<std::uint8_t> out{tag};
    const std::size_t n = content.size();
    if (n < 0x80) {
        out.push_back(static_cast<std::uint8_t>(n));
    } else {
        std::vector<std::uint8_t> length;
        for (std::size_t v = n; v != 0; v >>= 8) length.insert(length.begin(), static_cast<std::uint8_t>(v & 0xff));
        out.push_back(static_cast<std::uint8_t>(0x80 | length.size()));
        out.insert(out.end(), length.begin(), length.end());
    }
    out.insert(out.end(), content.begin(), content.end());
    return out;
}

std::vector<std::uint8_t> concat(std::initializer_list<std::vector<std::uint8_t>> parts) {
    std::vector<std::uint8_t> out;
    for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
    return out;
}

std::vector<std::uint8_t> hash_oid(const std::string& hash) {
    if (hash == "SHA-1") return {0x2b, 0x0e, 0x03, 0x02, 0x1a};
    const std::map<std::string, std::uint8_t> last{{"SHA-256", 1}, {"SHA-384", 2}, {"SHA-512", 3}, {"SHA-224", 4}};
    return {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, last.at(hash)};
}

std::vector<std::uint8_t> hash_of(const std::string& hash, const std::vector<std::uint8_t>& bytes) {
    std::vector<std::uint8_t> out(EVP_MAX_MD_SIZE);
    unsigned size = 0;
    EVP_MD* md = EVP_MD_fetch(nullptr, hash.c_str(), nullptr);
    const bool ok = md != nullptr && EVP_Digest(bytes.data(), bytes.size(), out.data(), &size, md, nullptr) == 1;
    EVP_MD_free(md);
    if (!ok) fail("digest " + hash);
    out.resize(size);
    return out;
}

// CMS SignedData over `content` with eContentType `oid`, DER.
std::vector<std::uint8_t> cms_sign(const std::vector<std::uint8_t>& content, const char* oid, const Party& signer,
                                   const std::string& digest, std::optional<std::time_t> signing_time,
                                   bool signed_attributes = true) {
    ossl::CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, CMS_PARTIAL | CMS_BINARY));
    ASN1_OBJECT* type = OBJ_txt2obj(oid, 1);
    const bool typed = cms && type != nullptr && CMS_set1_eContentType(cms.get(), type) == 1;
    ASN1_OBJECT_free(type);
    if (!typed) fail("CMS eContentType");
    EVP_MD* md = EVP_MD_fetch(nullptr, digest.c_str(), nullptr);
    const unsigned flags = CMS_BINARY | CMS_NOSMIMECAP | (signer.sign_with_pss ? CMS_KEY_PARAM : 0u) |
                           (signed_attributes ? 0u : CMS_NOATTR);
    CMS_SignerInfo* info = CMS_add1_signer(cms.get(), signer.cert.get(), signer.key.get(), md, flags);
    EVP_MD_free(md);
    if (info == nullptr) fail("CMS_add1_signer");
    if (signer.sign_with_pss) {
        EVP_PKEY_CTX* pctx = CMS_SignerInfo_get0_pkey_ctx(info);
        if (pctx == nullptr || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) <= 0)
            fail("RSASSA-PSS parameters");
    }
    if (signing_time) {
        ASN1_TIME* time = ASN1_TIME_set(nullptr, *signing_time);
        const bool added = time != nullptr &&
                           CMS_signed_add1_attr_by_NID(info, NID_pkcs9_signingTime, time->type, time, -1) == 1;
        ASN1_TIME_free(time);
        if (!added) fail("signingTime");
    }
    ossl::BioPtr bio(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
    if (!bio || CMS_final(cms.get(), bio.get(), nullptr, CMS_BINARY) != 1) fail("CMS_final");
    unsigned char* der = nullptr;
    const int length = i2d_CMS_ContentInfo(cms.get(), &der);
    if (length <= 0) fail("i2d_CMS_ContentInfo");
    std::vector<std::uint8_t> out(der, der + length);
    OPENSSL_free(der);
    return out;
}

DocumentPki build_pki() {
    DocumentPki pki;
    pki.csca_rsa = issue("CSCA Utopia RSA", rsa_key(3072), nullptr, Role::csca, 1, -1000);
    pki.csca_brainpool = issue("CSCA Utopia brainpool explicit", brainpool_explicit_key(), nullptr, Role::csca, 2, -1000);
    pki.csca_unknown = issue("CSCA Nowhere", ec_key("P-256"), nullptr, Role::csca, 3);
    pki.csca_odd_curve = issue("CSCA Oddland", odd_curve_key(), nullptr, Role::csca, 4);
    pki.ds_pss = issue("DS Utopia RSA-PSS", rsa_key(2048), &pki.csca_rsa, Role::document_signer, 101);
    pki.ds_pss.sign_with_pss = true;
    pki.ds_rsa_pkcs1 = issue("DS Utopia RSA PKCS1", rsa_key(2048), &pki.csca_rsa, Role::document_signer, 102);
    pki.ds_p384 = issue("DS Utopia P-384", ec_key("P-384"), &pki.csca_rsa, Role::document_signer, 110);
    pki.ds_p521 = issue("DS Utopia P-521", ec_key("P-521"), &pki.csca_rsa, Role::document_signer, 111);
    pki.ds_brainpool384 =
        issue("DS Utopia brainpoolP384r1", ec_key("brainpoolP384r1"), &pki.csca_brainpool, Role::document_signer, 112);
    pki.ds_brainpool512 = issue("DS Utopia brainpoolP512r1 explicit", brainpool_explicit_key("brainpoolP512r1"),
                                &pki.csca_brainpool, Role::document_signer, 113);
    pki.ds_p256 = issue("DS Utopia P-256", ec_key("P-256"), &pki.csca_brainpool, Role::document_signer, 103);
    pki.ds_expired = issue("DS Utopia expired", ec_key("P-256"), &pki.csca_rsa, Role::document_signer, 104, -730, -365);
    pki.ds_revoked = issue("DS Utopia revoked", ec_key("P-256"), &pki.csca_rsa, Role::document_signer, 105);
    pki.ds_unknown = issue("DS Nowhere", ec_key("P-256"), &pki.csca_unknown, Role::document_signer, 106);
    pki.ds_odd_curve = issue("DS Oddland", ec_key("P-256"), &pki.csca_odd_curve, Role::document_signer, 107);
    pki.ml_signer = issue("Master List Signer Utopia", ec_key("P-256"), &pki.csca_rsa, Role::master_list_signer, 108);
    pki.ml_signer_unknown =
        issue("Master List Signer Nowhere", ec_key("P-256"), &pki.csca_unknown, Role::master_list_signer, 109);
    pki.crl = make_crl(pki.csca_rsa, {&pki.ds_revoked});
    return pki;
}

}  // namespace

const DocumentPki& document_pki() {
    static const DocumentPki pki = build_pki();
    return pki;
}

std::map<int, std::vector<std::uint8_t>> sample_data_groups() {
    const std::string mrz = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<L898902C36UTO7408122F1204159ZE184226B<<<<<10";
    const std::vector<std::uint8_t> mrz_bytes(mrz.begin(), mrz.end());
    const std::vector<std::uint8_t> dg1 = tlv(0x61, concat({{0x5f, 0x1f, static_cast<std::uint8_t>(mrz_bytes.size())}, mrz_bytes}));
    std::vector<std::uint8_t> portrait(3000);
    for (std::size_t i = 0; i < portrait.size(); ++i) portrait[i] = static_cast<std::uint8_t>((i * 131u + 7u) & 0xff);
    const std::vector<std::uint8_t> dg2 = tlv(0x75, portrait);
    const std::vector<std::uint8_t> dg14 = tlv(0x6e, std::vector<std::uint8_t>(200, 0x42));
    return {{1, dg1}, {2, dg2}, {14, dg14}};
}

std::vector<std::uint8_t> lds_security_object(const std::map<int, std::vector<std::uint8_t>>& data_groups,
                                              const std::string& hash, int version) {
    std::vector<std::uint8_t> hashes;
    for (const auto& [number, bytes] : data_groups) {
        const auto entry = tlv(0x30, concat({tlv(0x02, {static_cast<std::uint8_t>(number)}), tlv(0x04, hash_of(hash, bytes))}));
        hashes.insert(hashes.end(), entry.begin(), entry.end());
    }
    std::vector<std::uint8_t> fields = concat({tlv(0x02, {static_cast<std::uint8_t>(version)}),
                                               tlv(0x30, concat({tlv(0x06, hash_oid(hash)), tlv(0x05, {})})),
                                               tlv(0x30, hashes)});
    if (version == 1) {
        const std::vector<std::uint8_t> lds{'0', '1', '0', '8'};
        const std::vector<std::uint8_t> unicode{'0', '4', '0', '0', '0', '0'};
        fields = concat({fields, tlv(0x30, concat({tlv(0x13, lds), tlv(0x13, unicode)}))});
    }
    return tlv(0x30, fields);
}

std::vector<std::uint8_t> make_sod(const std::map<int, std::vector<std::uint8_t>>& data_groups, const Party& signer,
                                   const SodOptions& options) {
    return make_sod_from_content(lds_security_object(data_groups, options.lds_hash, options.lds_version), signer, options);
}

std::vector<std::uint8_t> make_sod_from_content(const std::vector<std::uint8_t>& content, const Party& signer,
                                                const SodOptions& options, const char* content_type) {
    return tlv(0x77, cms_sign(content, content_type, signer, options.signature_digest, options.signing_time,
                              options.signed_attributes));
}

std::vector<std::uint8_t> der_tlv(std::uint8_t tag, const std::vector<std::uint8_t>& content) { return tlv(tag, content); }

std::vector<std::uint8_t> make_master_list(const std::vector<Cert>& cscas, const Party& signer) {
    std::vector<std::uint8_t> certs;
    for (const Cert& cert : cscas) {
        const auto der = der_of(cert.get());
        certs.insert(certs.end(), der.begin(), der.end());
    }
    const std::vector<std::uint8_t> content = tlv(0x30, concat({tlv(0x02, {0}), tlv(0x31, certs)}));
    return cms_sign(content, "2.23.136.1.1.2", signer, "SHA-256", std::nullopt);
}

std::vector<std::uint8_t> der_of(X509* cert) {
    unsigned char* der = nullptr;
    const int length = i2d_X509(cert, &der);
    if (length <= 0) fail("i2d_X509");
    std::vector<std::uint8_t> out(der, der + length);
    OPENSSL_free(der);
    return out;
}

std::vector<std::uint8_t> der_of(X509_CRL* crl) {
    unsigned char* der = nullptr;
    const int length = i2d_X509_CRL(crl, &der);
    if (length <= 0) fail("i2d_X509_CRL");
    std::vector<std::uint8_t> out(der, der + length);
    OPENSSL_free(der);
    return out;
}

namespace {
template <typename Write>
std::string pem_with(Write write) {
    ossl::BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || write(bio.get()) != 1) fail("PEM");
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(length));
}
}  // namespace

std::string pem_of(X509* cert) { return pem_with([&](BIO* bio) { return PEM_write_bio_X509(bio, cert); }); }
std::string pem_of(X509_CRL* crl) { return pem_with([&](BIO* bio) { return PEM_write_bio_X509_CRL(bio, crl); }); }

void write_pki_file(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

void write_pki_file(const std::filesystem::path& path, const std::string& text) {
    write_pki_file(path, std::vector<std::uint8_t>(text.begin(), text.end()));
}

PkiTempDir::PkiTempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "faceproof-pki-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

PkiTempDir::~PkiTempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

}  // namespace fptest
