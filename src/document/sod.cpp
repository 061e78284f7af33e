#include "document/sod.hpp"

#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/x509_vfy.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>

#include "faceproof/error.hpp"

namespace faceproof::document {

namespace {

[[noreturn]] void malformed(const std::string& message) { throw Error(ErrorCode::document_malformed, message); }

struct GroupFree { void operator()(EC_GROUP* p) const noexcept { EC_GROUP_free(p); } };
struct ParamFree { void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); } };

}  // namespace

// ---- OpenSSL helpers ---------------------------------------------------------------------------
namespace ossl {

Cert share(X509Ptr cert) { return Cert(cert.release(), X509Free{}); }
Crl share(CrlPtr crl) { return Crl(crl.release(), CrlFree{}); }

std::string drain_errors() {
    std::string text;
    unsigned long code = 0;
    const char* data = nullptr;
    int flags = 0;
    while ((code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
        std::array<char, 256> buffer{};
        ERR_error_string_n(code, buffer.data(), buffer.size());
        if (!text.empty()) text += "; ";
        text += buffer.data();
        if (data != nullptr && (flags & ERR_TXT_STRING) != 0 && *data != '\0') {
            text += " (";
            text += data;
            text += ")";
        }
    }
    return text.empty() ? "no OpenSSL error detail" : text;
}

std::string name_text(const X509_NAME* name) {
    if (name == nullptr) return "(no name)";
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
        ERR_clear_error();
        return "(unprintable name)";
    }
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    return length > 0 ? std::string(data, static_cast<std::size_t>(length)) : std::string();
}

std::optional<std::time_t> to_time_t(const ASN1_TIME* time) {
    if (time == nullptr) return std::nullopt;
    std::tm tm{};
    if (ASN1_TIME_to_tm(time, &tm) != 1) {
        ERR_clear_error();
        return std::nullopt;
    }
    return timegm(&tm);
}

std::string oid_text(const ASN1_OBJECT* oid) {
    std::array<char, 128> buffer{};
    const int n = OBJ_obj2txt(buffer.data(), static_cast<int>(buffer.size()), oid, 1);
    if (n <= 0) {
        ERR_clear_error();
        return "(unreadable OID)";
    }
    return std::string(buffer.data(), std::min<std::size_t>(static_cast<std::size_t>(n), buffer.size() - 1));
}

X509Ptr parse_certificate_der(std::span<const std::uint8_t> der, const std::string& what) {
    if (der.empty() || der.size() > LONG_MAX) malformed(what + ": empty or oversized certificate");
    const unsigned char* p = der.data();
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert) malformed(what + ": not a DER X.509 certificate: " + drain_errors());
    if (p != der.data() + der.size()) malformed(what + ": bytes after the certificate");
    return cert;
}

CmsPtr parse_signed_data_der(std::span<const std::uint8_t> der, const std::string& what) {
    if (der.empty() || der.size() > LONG_MAX) malformed(what + ": empty or oversized CMS");
    // The CMS must fill the bytes exactly: DER, so one object has one encoding (no trailing junk).
    std::span<const std::uint8_t> cursor = der;
    const der::Element outer = der::read(cursor, what + " ContentInfo", 0x30);
    if (!cursor.empty()) malformed(what + ": " + std::to_string(cursor.size()) + " bytes after the CMS ContentInfo");
    const unsigned char* p = outer.encoding.data();
    CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(outer.encoding.size())));
    if (!cms) malformed(what + ": not a CMS ContentInfo: " + drain_errors());
    if (p != der.data() + der.size()) malformed(what + ": the CMS ContentInfo does not fill its bytes");
    if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed)
        malformed(what + ": the CMS content is " + oid_text(CMS_get0_type(cms.get())) + ", not SignedData");
    ASN1_OCTET_STRING** content = CMS_get0_content(cms.get());
    if (content == nullptr || *content == nullptr)
        malformed(what + ": the SignedData has no encapsulated content (detached signature)");
    return cms;
}

std::string explicit_curve_problem(X509* cert) {
    EVP_PKEY* key = X509_get0_pubkey(cert);
    if (key == nullptr) {
        ERR_clear_error();
        return {};  // an unreadable key fails the signature or chain checks on its own
    }
    if (!EVP_PKEY_is_a(key, "EC")) return {};
    int from_explicit = 0;
    if (EVP_PKEY_get_int_param(key, OSSL_PKEY_PARAM_EC_DECODED_FROM_EXPLICIT_PARAMS, &from_explicit) != 1) {
        ERR_clear_error();
        return {};
    }
    if (from_explicit == 0) return {};
    const std::string subject = ossl::name_text(X509_get_subject_name(cert));
    std::array<char, 80> name{};
    std::size_t name_length = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name.data(), name.size(), &name_length) != 1 ||
        name_length == 0) {
        ERR_clear_error();
        return "the EC key of '" + subject + "' has explicit domain parameters that are not a known named curve";
    }
    const int nid = OBJ_sn2nid(name.data());
    std::unique_ptr<EC_GROUP, GroupFree> named(nid != NID_undef ? EC_GROUP_new_by_curve_name(nid) : nullptr);
    OSSL_PARAM* raw = nullptr;
    if (EVP_PKEY_todata(key, EVP_PKEY_KEY_PARAMETERS, &raw) != 1) {
        ERR_clear_error();
        return "the EC parameters of '" + subject + "' cannot be exported for comparison";
    }
    std::unique_ptr<OSSL_PARAM, ParamFree> params(raw);
    std::unique_ptr<EC_GROUP, GroupFree> carried(EC_GROUP_new_from_params(params.get(), nullptr, nullptr));
    if (!named || !carried || EC_GROUP_cmp(named.get(), carried.get(), nullptr) != 0) {
        ERR_clear_error();
        return "the EC key of '" + subject + "' has explicit domain parameters that differ from " + name.data();
    }
    return {};
}

int accept_explicit_named_curves(int ok, X509_STORE_CTX* ctx) {
    if (ok != 0 || X509_STORE_CTX_get_error(ctx) != X509_V_ERR_EC_KEY_EXPLICIT_PARAMS) return ok;
    X509* cert = X509_STORE_CTX_get_current_cert(ctx);
    try {
        if (cert != nullptr && explicit_curve_problem(cert).empty()) {
            X509_STORE_CTX_set_error(ctx, X509_V_OK);
            return 1;
        }
    } catch (...) {  // a verify callback must not throw through OpenSSL's C frames
    }
    return 0;
}

}  // namespace ossl

// ---- DER reader ---------------------------------------------------------------------------------
namespace der {

Element read(std::span<const std::uint8_t>& cursor, const std::string& what, int expected_tag) {
    const std::span<const std::uint8_t> start = cursor;
    if (cursor.size() < 2) malformed(what + ": truncated (" + std::to_string(cursor.size()) + " bytes left)");
    const std::uint8_t tag = cursor[0];
    if ((tag & 0x1f) == 0x1f) malformed(what + ": multi-byte tags are not used here");
    if (expected_tag >= 0 && tag != expected_tag) {
        char text[64];
        std::snprintf(text, sizeof text, ": tag 0x%02x where 0x%02x was expected", tag, expected_tag);
        malformed(what + text);
    }
    std::size_t length = cursor[1];
    std::size_t header = 2;
    if (length == 0x80) malformed(what + ": indefinite length (not DER)");
    if (length > 0x80) {
        const std::size_t count = length & 0x7f;
        if (count > 4) malformed(what + ": length of " + std::to_string(count) + " bytes");
        if (cursor.size() < 2 + count) malformed(what + ": truncated length");
        length = 0;
        for (std::size_t i = 0; i < count; ++i) length = (length << 8) | cursor[2 + i];
        // DER: the shortest form (no leading zero byte, long form only from 128 on).
        if (cursor[2] == 0 || length < 0x80) malformed(what + ": length not in its shortest (DER) form");
        header = 2 + count;
    }
    if (length > cursor.size() - header)
        malformed(what + ": length " + std::to_string(length) + " runs past the end (" +
                  std::to_string(cursor.size() - header) + " bytes left)");
    Element element;
    element.tag = tag;
    element.content = start.subspan(header, length);
    element.encoding = start.first(header + length);
    cursor = start.subspan(header + length);
    return element;
}

long read_small_integer(const Element& integer, const std::string& what) {
    if (integer.tag != 0x02) malformed(what + ": not an INTEGER");
    const auto v = integer.content;
    if (v.empty() || v.size() > sizeof(long) - 1) malformed(what + ": INTEGER empty or too large");
    if (v.size() > 1 && ((v[0] == 0x00 && (v[1] & 0x80) == 0) || (v[0] == 0xff && (v[1] & 0x80) != 0)))
        malformed(what + ": INTEGER not in its shortest (DER) form");
    long value = (v[0] & 0x80) != 0 ? -1 : 0;
    for (const std::uint8_t b : v) value = static_cast<long>(static_cast<unsigned long>(value) << 8 | b);
    return value;
}

}  // namespace der

// ---- Hashes -------------------------------------------------------------------------------------

std::string_view to_string(HashAlgorithm algorithm) noexcept {
    switch (algorithm) {
        case HashAlgorithm::sha1: return "SHA-1";
        case HashAlgorithm::sha224: return "SHA-224";
        case HashAlgorithm::sha256: return "SHA-256";
        case HashAlgorithm::sha384: return "SHA-384";
        case HashAlgorithm::sha512: return "SHA-512";
    }
    return "SHA-256";
}

std::size_t digest_size(HashAlgorithm algorithm) noexcept {
    switch (algorithm) {
        case HashAlgorithm::sha1: return 20;
        case HashAlgorithm::sha224: return 28;
        case HashAlgorithm::sha256: return 32;
        case HashAlgorithm::sha384: return 48;
        case HashAlgorithm::sha512: return 64;
    }
    return 32;
}

std::vector<std::uint8_t> digest(HashAlgorithm algorithm, std::span<const std::uint8_t> bytes) {
    const std::string name(to_string(algorithm));
    std::vector<std::uint8_t> out(EVP_MAX_MD_SIZE);
    unsigned int size = 0;
    EVP_MD* md = EVP_MD_fetch(nullptr, name.c_str(), nullptr);
    const bool ok = md != nullptr && EVP_Digest(bytes.data(), bytes.size(), out.data(), &size, md, nullptr) == 1;
    EVP_MD_free(md);
    if (!ok) throw Error(ErrorCode::internal, "cannot compute " + name + ": " + ossl::drain_errors());
    out.resize(size);
    return out;
}

// ---- EF.SOD -------------------------------------------------------------------------------------
namespace {

// The content octets of the hash OIDs ICAO 9303-12 allows for the LDS Security Object.
struct KnownHash {
    HashAlgorithm algorithm;
    std::array<std::uint8_t, 9> oid;
    std::size_t oid_size;
};
constexpr std::array<KnownHash, 5> kKnownHashes{{
    {HashAlgorithm::sha1, {0x2b, 0x0e, 0x03, 0x02, 0x1a}, 5},                               // 1.3.14.3.2.26
    {HashAlgorithm::sha224, {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04}, 9},     // 2.16.840.1.101.3.4.2.4
    {HashAlgorithm::sha256, {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01}, 9},     // .1
    {HashAlgorithm::sha384, {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02}, 9},     // .2
    {HashAlgorithm::sha512, {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03}, 9},     // .3
}};

std::string hex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string text;
    for (const std::uint8_t b : bytes.first(std::min<std::size_t>(bytes.size(), 32))) {
        text += digits[b >> 4];
        text += digits[b & 15];
    }
    return text;
}

std::string printable_string(const der::Element& element, const std::string& what) {
    if (element.tag != 0x13) malformed(what + ": not a PrintableString");
    if (element.content.size() > 64) malformed(what + ": longer than 64 characters");
    return std::string(element.content.begin(), element.content.end());
}

void parse_lds_security_object(std::span<const std::uint8_t> bytes, Sod& sod) {
    const std::string what = "LDS Security Object";
    std::span<const std::uint8_t> outer = bytes;
    const der::Element object = der::read(outer, what, 0x30);
    if (!outer.empty()) malformed(what + ": bytes after the SEQUENCE");
    std::span<const std::uint8_t> fields = object.content;

    const long version = der::read_small_integer(der::read(fields, what + " version", 0x02), what + " version");
    if (version != 0 && version != 1) malformed(what + ": version " + std::to_string(version) + " (0 or 1 expected)");
    sod.lds_security_object_version = static_cast<int>(version);

    // hashAlgorithm AlgorithmIdentifier: the OID, then absent or NULL parameters.
    const der::Element algorithm = der::read(fields, what + " hashAlgorithm", 0x30);
    std::span<const std::uint8_t> algorithm_fields = algorithm.content;
    const der::Element oid = der::read(algorithm_fields, what + " hashAlgorithm OID", 0x06);
    if (!algorithm_fields.empty()) {
        const der::Element parameters = der::read(algorithm_fields, what + " hashAlgorithm parameters", 0x05);
        if (!parameters.content.empty() || !algorithm_fields.empty())
            malformed(what + ": hashAlgorithm parameters other than NULL");
    }
    const auto known = std::find_if(kKnownHashes.begin(), kKnownHashes.end(), [&](const KnownHash& h) {
        return oid.content.size() == h.oid_size && std::equal(oid.content.begin(), oid.content.end(), h.oid.begin());
    });
    if (known == kKnownHashes.end())
        malformed(what + ": hash algorithm OID (DER " + hex(oid.content) + ") is not SHA-1/224/256/384/512");
    sod.hash_algorithm = known->algorithm;

    const der::Element hashes = der::read(fields, what + " dataGroupHashValues", 0x30);
    std::span<const std::uint8_t> entries = hashes.content;
    while (!entries.empty()) {
        const der::Element entry = der::read(entries, what + " DataGroupHash", 0x30);
        std::span<const std::uint8_t> entry_fields = entry.content;
        const long number = der::read_small_integer(der::read(entry_fields, what + " dataGroupNumber", 0x02),
                                                    what + " dataGroupNumber");
        if (number < 1 || number > 16) malformed(what + ": data group number " + std::to_string(number) + " (1..16)");
        const der::Element value = der::read(entry_fields, what + " dataGroupHashValue", 0x04);
        if (!entry_fields.empty()) malformed(what + ": extra fields in the hash of DG" + std::to_string(number));
        if (value.content.size() != digest_size(sod.hash_algorithm))
            malformed(what + ": the hash of DG" + std::to_string(number) + " is " +
                      std::to_string(value.content.size()) + " bytes; " + std::string(to_string(sod.hash_algorithm)) +
                      " has " + std::to_string(digest_size(sod.hash_algorithm)));
        const auto [_, inserted] = sod.data_group_hashes.emplace(
            static_cast<int>(number), std::vector<std::uint8_t>(value.content.begin(), value.content.end()));
        if (!inserted) malformed(what + ": DG" + std::to_string(number) + " is listed twice");
    }
    if (sod.data_group_hashes.empty()) malformed(what + ": no data group hashes");

    if (version == 1) {
        const der::Element info = der::read(fields, what + " LDSVersionInfo (v1)", 0x30);
        std::span<const std::uint8_t> info_fields = info.content;
        sod.lds_version = printable_string(der::read(info_fields, what + " ldsVersion"), what + " ldsVersion");
        sod.unicode_version =
            printable_string(der::read(info_fields, what + " unicodeVersion"), what + " unicodeVersion");
        if (!info_fields.empty()) malformed(what + ": extra fields in LDSVersionInfo");
    }
    if (!fields.empty()) malformed(what + ": unexpected fields after dataGroupHashValues (version " +
                                   std::to_string(version) + ")");
}

std::string algorithm_name(const X509_ALGOR* algorithm) {
    if (algorithm == nullptr) return "(none)";
    const ASN1_OBJECT* oid = nullptr;
    X509_ALGOR_get0(&oid, nullptr, nullptr, algorithm);
    const int nid = OBJ_obj2nid(oid);
    return nid != NID_undef ? std::string(OBJ_nid2sn(nid)) : ossl::oid_text(oid);
}

}  // namespace

Sod parse_sod(std::span<const std::uint8_t> bytes) {
    if (bytes.size() > max_sod_bytes)
        malformed("EF.SOD is " + std::to_string(bytes.size()) + " bytes; the limit is " + std::to_string(max_sod_bytes));
    std::span<const std::uint8_t> cursor = bytes;
    const der::Element file = der::read(cursor, "EF.SOD", 0x77);
    if (!cursor.empty())
        malformed("EF.SOD: " + std::to_string(cursor.size()) + " bytes after the 0x77 object");

    Sod sod;
    sod.cms_der.assign(file.content.begin(), file.content.end());
    ossl::CmsPtr cms = ossl::parse_signed_data_der(file.content, "EF.SOD");

    const std::string content_type = ossl::oid_text(CMS_get0_eContentType(cms.get()));
    if (content_type != lds_security_object_oid)
        malformed("EF.SOD: eContentType is " + content_type + ", not id-icao-mrtd-security-ldsSecurityObject (" +
                  std::string(lds_security_object_oid) + ")");
    const ASN1_OCTET_STRING* content = *CMS_get0_content(cms.get());
    const auto* content_bytes = ASN1_STRING_get0_data(content);
    const int content_length = ASN1_STRING_length(content);
    if (content_bytes == nullptr || content_length <= 0) malformed("EF.SOD: empty LDS Security Object");
    sod.lds_security_object.assign(content_bytes, content_bytes + content_length);
    parse_lds_security_object(sod.lds_security_object, sod);

    STACK_OF(CMS_SignerInfo)* signers = CMS_get0_SignerInfos(cms.get());
    if (signers == nullptr || sk_CMS_SignerInfo_num(signers) != 1)
        malformed("EF.SOD: " + std::to_string(signers == nullptr ? 0 : sk_CMS_SignerInfo_num(signers)) +
                  " SignerInfos; ICAO 9303 requires exactly one");
    CMS_SignerInfo* signer = sk_CMS_SignerInfo_value(signers, 0);

    // Certificates: the DS certificate (9303 makes it mandatory in the SOD) and possibly others.
    STACK_OF(X509)* certs = CMS_get1_certs(cms.get());
    ERR_clear_error();  // CMS_get1_certs leaves nothing useful when there are none
    if (certs != nullptr) {
        while (sk_X509_num(certs) > 0) sod.certificates.push_back(ossl::share(ossl::X509Ptr(sk_X509_shift(certs))));
        sk_X509_free(certs);
    }
    for (const ossl::Cert& cert : sod.certificates) {
        if (CMS_SignerInfo_cert_cmp(signer, cert.get()) == 0) {
            sod.signer_certificate = cert;
            break;
        }
    }
    ERR_clear_error();

    X509_ALGOR* digest_algorithm = nullptr;
    X509_ALGOR* signature_algorithm = nullptr;
    CMS_SignerInfo_get0_algs(signer, nullptr, nullptr, &digest_algorithm, &signature_algorithm);
    sod.digest_algorithm = algorithm_name(digest_algorithm);
    sod.signature_algorithm = algorithm_name(signature_algorithm);

    const int at = CMS_signed_get_attr_by_NID(signer, NID_pkcs9_signingTime, -1);
    if (at >= 0) {
        X509_ATTRIBUTE* attribute = CMS_signed_get_attr(signer, at);
        ASN1_TYPE* value = attribute != nullptr ? X509_ATTRIBUTE_get0_type(attribute, 0) : nullptr;
        if (value == nullptr || (value->type != V_ASN1_UTCTIME && value->type != V_ASN1_GENERALIZEDTIME))
            malformed("EF.SOD: the signingTime attribute is not a UTCTime or GeneralizedTime");
        sod.signing_time = ossl::to_time_t(value->value.utctime);
        if (!sod.signing_time) malformed("EF.SOD: the signingTime attribute is not a valid time");
    }
    ERR_clear_error();

    sod.cms = std::shared_ptr<const CMS_ContentInfo>(cms.release(), ossl::CmsFree{});
    return sod;
}

}  // namespace faceproof::document
