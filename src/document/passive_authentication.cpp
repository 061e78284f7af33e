#include "document/passive_authentication.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509_vfy.h>

#include <array>
#include <memory>

#include "faceproof/error.hpp"

namespace faceproof::document {

std::string_view to_string(SignatureStatus status) noexcept {
    return status == SignatureStatus::valid ? "valid" : "invalid";
}

std::string_view to_string(DataGroupHashStatus status) noexcept {
    switch (status) {
        case DataGroupHashStatus::match: return "match";
        case DataGroupHashStatus::mismatch: return "mismatch";
        case DataGroupHashStatus::absent: return "absent";
    }
    return "mismatch";
}

std::string_view to_string(ChainStatus status) noexcept {
    switch (status) {
        case ChainStatus::valid: return "valid";
        case ChainStatus::unknown_csca: return "unknown_csca";
        case ChainStatus::expired: return "expired";
        case ChainStatus::revoked: return "revoked";
        case ChainStatus::invalid: return "invalid";
    }
    return "invalid";
}

std::string_view to_string(PassiveAuthenticationStatus status) noexcept {
    switch (status) {
        case PassiveAuthenticationStatus::authentic: return "authentic";
        case PassiveAuthenticationStatus::untrusted: return "untrusted";
        case PassiveAuthenticationStatus::failed: return "failed";
    }
    return "failed";
}

std::string reason::data_group_hash_mismatch(int data_group) {
    return "DG" + std::to_string(data_group) + "_HASH_MISMATCH";
}

namespace {

struct StoreFree { void operator()(X509_STORE* p) const noexcept { X509_STORE_free(p); } };
struct StoreCtxFree { void operator()(X509_STORE_CTX* p) const noexcept { X509_STORE_CTX_free(p); } };

[[noreturn]] void openssl_failed(const std::string& what) {
    throw Error(ErrorCode::internal, what + ": " + ossl::drain_errors());
}

// The DS signature and the messageDigest attribute, on a private copy of the CMS.
void check_signature(const Sod& sod, PassiveAuthenticationResult& result) {
    result.sod_signature = SignatureStatus::invalid;
    if (!sod.signer_certificate) {
        result.sod_signature_detail = "the SOD carries no certificate matching its SignerInfo";
        return;
    }
    ossl::CmsPtr cms;
    try {
        cms = ossl::parse_signed_data_der(sod.cms_der, "EF.SOD");
    } catch (const Error& e) {
        result.sod_signature_detail = e.what();
        return;
    }
    CMS_SignerInfo* signer = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
    // 9303 requires signed attributes: without them the messageDigest binding is not there.
    if (signer == nullptr || CMS_signed_get_attr_count(signer) <= 0) {
        result.sod_signature_detail = "the SignerInfo has no signed attributes (ICAO 9303 requires them)";
        ERR_clear_error();
        return;
    }
    ERR_clear_error();
    // CMS_NO_SIGNER_CERT_VERIFY: the chain is checked separately against the trust store, so that
    // "tampered" and "not trusted" stay apart. CMS_verify checks the messageDigest attribute against
    // the hash of the eContent and the signature over the DER of the signed attributes.
    if (CMS_verify(cms.get(), nullptr, nullptr, nullptr, nullptr, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) == 1) {
        result.sod_signature = SignatureStatus::valid;
        ERR_clear_error();
    } else {
        result.sod_signature_detail = "the SOD signature does not verify: " + ossl::drain_errors();
    }
}

void check_data_groups(const Sod& sod, const std::map<int, std::span<const std::uint8_t>>& data_groups,
                       PassiveAuthenticationResult& result) {
    for (const auto& [number, expected] : sod.data_group_hashes) {
        const auto given = data_groups.find(number);
        if (given == data_groups.end()) {
            result.dg_hashes[number] = DataGroupHashStatus::absent;
            continue;
        }
        const std::vector<std::uint8_t> actual = digest(sod.hash_algorithm, given->second);
        // Not secret data: a plain comparison is fine.
        result.dg_hashes[number] = actual == expected ? DataGroupHashStatus::match : DataGroupHashStatus::mismatch;
    }
    for (const auto& [number, bytes] : data_groups) {
        (void)bytes;
        if (sod.data_group_hashes.count(number) == 0) result.dg_hashes[number] = DataGroupHashStatus::mismatch;
    }
}

bool is_unknown_issuer(int error) {
    return error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY || error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
           error == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT || error == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
           error == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE || error == X509_V_ERR_CERT_UNTRUSTED;
}

// Revocation: a CRL of the store issued by `issuer`, whose signature verifies with the issuer's key,
// lists the DS certificate. Checked with the CRLs as they are now (not at the validation time):
// a DS key revoked today makes every SOD it signed suspect, whenever it was signed.
bool is_revoked(X509* ds, X509* issuer, const TrustStore& store, std::string& detail) {
    EVP_PKEY* issuer_key = X509_get0_pubkey(issuer);
    if (issuer_key == nullptr) {
        ERR_clear_error();
        return false;
    }
    for (const ossl::Crl& crl : store.crls()) {
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(issuer)) != 0) continue;
        if (X509_CRL_verify(crl.get(), issuer_key) != 1) {
            ERR_clear_error();
            continue;  // a CRL of another key of the same name, or a forged one
        }
        X509_REVOKED* entry = nullptr;
        if (X509_CRL_get0_by_cert(crl.get(), &entry, ds) == 1) {
            const auto when = ossl::to_time_t(X509_REVOKED_get0_revocationDate(entry));
            detail = "the Document Signer certificate is revoked by a CRL of '" +
                     ossl::name_text(X509_get_subject_name(issuer)) + "'";
            if (when) detail += " (revoked at " + std::to_string(static_cast<long long>(*when)) + " s since 1970)";
            return true;
        }
    }
    ERR_clear_error();
    return false;
}

void check_chain(const Sod& sod, const TrustStore& trust_store, std::time_t now, PassiveAuthenticationResult& result) {
    result.validated_at_signing_time = sod.signing_time.has_value();
    result.validation_time = sod.signing_time.value_or(now);
    X509* ds = sod.signer_certificate.get();
    if (ds == nullptr) {
        result.chain = ChainStatus::invalid;
        result.chain_detail = "no Document Signer certificate in the SOD";
        result.reasons.emplace_back(reason::chain_invalid);
        return;
    }
    result.document_signer = ossl::name_text(X509_get_subject_name(ds));

    std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
    std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
    if (!store || !ctx) openssl_failed("cannot create an X509_STORE");
    for (const ossl::Cert& csca : trust_store.cscas())
        if (X509_STORE_add_cert(store.get(), csca.get()) != 1) openssl_failed("cannot add a CSCA to an X509_STORE");
    // Only the trust store: other certificates of the SOD are not used as intermediates (ICAO chains
    // are CSCA -> DS; link certificates belong in the trust store).
    if (X509_STORE_CTX_init(ctx.get(), store.get(), ds, nullptr) != 1) openssl_failed("cannot initialise an X509_STORE_CTX");
    X509_STORE_CTX_set_time(ctx.get(), 0, result.validation_time);
    X509_STORE_CTX_set_verify_cb(ctx.get(), ossl::accept_explicit_named_curves);

    const bool verified = X509_verify_cert(ctx.get()) == 1;
    const int error = X509_STORE_CTX_get_error(ctx.get());
    const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    ERR_clear_error();

    // The issuing CSCA, for the revocation check, even when the chain failed on time.
    X509* issuer = nullptr;
    if (STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get()); chain != nullptr && sk_X509_num(chain) > 1)
        issuer = sk_X509_value(chain, 1);

    // Explicit EC parameters, in every certificate of the chain (or the DS alone when it did not build).
    std::string curve_problem = ossl::explicit_curve_problem(ds);
    if (STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get()); chain != nullptr)
        for (int i = 0; i < sk_X509_num(chain) && curve_problem.empty(); ++i)
            curve_problem = ossl::explicit_curve_problem(sk_X509_value(chain, i));

    if (curve_problem.empty() && !verified && error == X509_V_ERR_EC_KEY_EXPLICIT_PARAMS)
        curve_problem = "the certificate at depth " + std::to_string(depth) +
                        " has explicit EC domain parameters that are not a known named curve";

    std::string revocation_detail;
    const bool revoked = issuer != nullptr && (verified || error == X509_V_ERR_CERT_HAS_EXPIRED ||
                                               error == X509_V_ERR_CERT_NOT_YET_VALID) &&
                         is_revoked(ds, issuer, trust_store, revocation_detail);

    if (revoked) {
        result.chain = ChainStatus::revoked;
        result.chain_detail = revocation_detail;
        result.reasons.emplace_back(reason::ds_cert_revoked);
    } else if (!curve_problem.empty()) {
        result.chain = ChainStatus::invalid;
        result.chain_detail = curve_problem;
        result.reasons.emplace_back(reason::chain_invalid);
        result.reasons.emplace_back(reason::ec_parameters_unknown_curve);
    } else if (verified) {
        result.chain = ChainStatus::valid;
        STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
        result.csca = ossl::name_text(X509_get_subject_name(sk_X509_value(chain, sk_X509_num(chain) - 1)));
    } else if (is_unknown_issuer(error)) {
        result.chain = ChainStatus::unknown_csca;
        result.chain_detail = "the Document Signer certificate (issuer '" + ossl::name_text(X509_get_issuer_name(ds)) +
                              "') does not chain to a CSCA of the trust store: " + X509_verify_cert_error_string(error);
        result.reasons.emplace_back(reason::csca_unknown);
    } else if (error == X509_V_ERR_CERT_HAS_EXPIRED || error == X509_V_ERR_CERT_NOT_YET_VALID) {
        result.chain = ChainStatus::expired;
        result.chain_detail = std::string(depth == 0 ? "the Document Signer" : "the CSCA") + " certificate: " +
                              X509_verify_cert_error_string(error) + " at the validation time (" +
                              (result.validated_at_signing_time ? "signingTime" : "now") + ")";
        result.reasons.emplace_back(depth == 0 ? reason::ds_cert_expired : reason::csca_cert_expired);
    } else {
        result.chain = ChainStatus::invalid;
        result.chain_detail = "certificate at depth " + std::to_string(depth) + ": " + X509_verify_cert_error_string(error);
        result.reasons.emplace_back(reason::chain_invalid);
    }
}

}  // namespace

PassiveAuthenticationResult authenticate(const Sod& sod, const std::map<int, std::span<const std::uint8_t>>& data_groups,
                                         const TrustStore& trust_store, std::time_t now) {
    PassiveAuthenticationResult result;
    check_signature(sod, result);
    if (result.sod_signature == SignatureStatus::invalid) result.reasons.emplace_back(reason::sod_signature_invalid);

    check_data_groups(sod, data_groups, result);
    bool hashes_hold = true;
    for (const auto& [number, status] : result.dg_hashes) {
        if (status == DataGroupHashStatus::mismatch) {
            result.reasons.push_back(reason::data_group_hash_mismatch(number));
            hashes_hold = false;
        }
    }

    check_chain(sod, trust_store, now, result);

    const bool integrity = result.sod_signature == SignatureStatus::valid && hashes_hold;
    if (!integrity)
        result.status = PassiveAuthenticationStatus::failed;
    else if (result.chain != ChainStatus::valid)
        result.status = PassiveAuthenticationStatus::untrusted;
    else
        result.status = PassiveAuthenticationStatus::authentic;
    return result;
}

PassiveAuthenticationResult authenticate_sod_bytes(std::span<const std::uint8_t> sod_bytes,
                                                   const std::map<int, std::span<const std::uint8_t>>& data_groups,
                                                   const TrustStore& trust_store, std::time_t now) {
    Sod sod;
    try {
        sod = parse_sod(sod_bytes);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::document_malformed) throw;
        PassiveAuthenticationResult result;
        result.status = PassiveAuthenticationStatus::failed;
        result.sod_signature = SignatureStatus::invalid;
        result.sod_signature_detail = e.what();
        result.chain = ChainStatus::invalid;
        result.chain_detail = "EF.SOD does not parse";
        result.validation_time = now;
        result.reasons.emplace_back(reason::document_malformed);
        return result;
    }
    return authenticate(sod, data_groups, trust_store, now);
}

}  // namespace faceproof::document
