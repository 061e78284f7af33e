// EF.SOD parsing, the CSCA trust store and passive authentication (src/document/), against a PKI
// generated at test time (tests/document_pki.hpp).
#include <gtest/gtest.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>

#include "document/passive_authentication.hpp"
#include "document/sod.hpp"
#include "document/trust_store.hpp"
#include "document_pki.hpp"
#include "faceproof/error.hpp"

namespace {

namespace doc = faceproof::document;
using faceproof::Error;
using faceproof::ErrorCode;
using Bytes = std::vector<std::uint8_t>;
using fptest::document_pki;

std::map<int, std::span<const std::uint8_t>> views(const std::map<int, Bytes>& data_groups) {
    std::map<int, std::span<const std::uint8_t>> out;
    for (const auto& [number, bytes] : data_groups) out.emplace(number, bytes);
    return out;
}

doc::TrustStore utopia_store(bool with_crl = true) {
    const auto& pki = document_pki();
    std::vector<doc::ossl::Crl> crls;
    if (with_crl) crls.push_back(pki.crl);
    return doc::TrustStore::from_certificates({pki.csca_rsa.cert, pki.csca_brainpool.cert, pki.csca_odd_curve.cert},
                                              crls);
}

bool has_reason(const doc::PassiveAuthenticationResult& result, std::string_view code) {
    return std::find(result.reasons.begin(), result.reasons.end(), code) != result.reasons.end();
}

std::string reasons_text(const doc::PassiveAuthenticationResult& result) {
    std::string text;
    for (const auto& r : result.reasons) text += r + " ";
    return text + "| signature: " + result.sod_signature_detail + " | chain: " + result.chain_detail;
}

doc::PassiveAuthenticationResult check(const Bytes& sod_bytes, const std::map<int, Bytes>& data_groups,
                                       const doc::TrustStore& store) {
    const doc::Sod sod = doc::parse_sod(sod_bytes);
    return doc::authenticate(sod, views(data_groups), store, std::time(nullptr));
}

// Where `needle` sits inside `haystack` (it must be there).
std::size_t offset_of(const Bytes& haystack, std::span<const std::uint8_t> needle) {
    const auto at = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end());
    EXPECT_NE(at, haystack.end());
    return static_cast<std::size_t>(at - haystack.begin());
}

ErrorCode parse_error(const Bytes& bytes) {
    try {
        (void)doc::parse_sod(bytes);
    } catch (const Error& e) {
        return e.code();
    }
    return ErrorCode::internal;  // "it parsed"
}

void expect_authentic(const doc::PassiveAuthenticationResult& result) {
    EXPECT_EQ(result.status, doc::PassiveAuthenticationStatus::authentic) << reasons_text(result);
    EXPECT_EQ(result.sod_signature, doc::SignatureStatus::valid) << result.sod_signature_detail;
    EXPECT_EQ(result.chain, doc::ChainStatus::valid) << result.chain_detail;
    EXPECT_TRUE(result.reasons.empty()) << reasons_text(result);
    for (const auto& [number, status] : result.dg_hashes) EXPECT_EQ(status, doc::DataGroupHashStatus::match) << number;
}

// ---- Valid documents ------------------------------------------------------------------------------

TEST(PassiveAuthentication, ValidRsaPssDocument) {
    const auto& pki = document_pki();
    const auto dgs = fptest::sample_data_groups();
    const Bytes bytes = fptest::make_sod(dgs, pki.ds_pss);
    const doc::Sod sod = doc::parse_sod(bytes);
    EXPECT_EQ(sod.hash_algorithm, doc::HashAlgorithm::sha256);
    EXPECT_EQ(doc::to_string(sod.hash_algorithm), "SHA-256");
    EXPECT_EQ(sod.lds_security_object_version, 0);
    ASSERT_EQ(sod.data_group_hashes.size(), 3u);
    EXPECT_EQ(sod.data_group_hashes.at(2), doc::digest(doc::HashAlgorithm::sha256, dgs.at(2)));
    EXPECT_EQ(sod.signature_algorithm, "RSASSA-PSS");
    EXPECT_EQ(sod.digest_algorithm, "SHA256");
    ASSERT_TRUE(sod.signer_certificate);
    EXPECT_EQ(X509_cmp(sod.signer_certificate.get(), pki.ds_pss.cert.get()), 0);
    ASSERT_TRUE(sod.signing_time.has_value());
    EXPECT_LE(std::abs(static_cast<long long>(*sod.signing_time - std::time(nullptr))), 600);

    const auto result = doc::authenticate(sod, views(dgs), utopia_store(), std::time(nullptr));
    expect_authentic(result);
    EXPECT_TRUE(result.validated_at_signing_time);
    EXPECT_EQ(result.validation_time, *sod.signing_time);
    EXPECT_NE(result.csca.find("CSCA Utopia RSA"), std::string::npos) << result.csca;
    EXPECT_NE(result.document_signer.find("DS Utopia RSA-PSS"), std::string::npos);
}

TEST(PassiveAuthentication, ValidRsaPkcs1Document) {
    const auto dgs = fptest::sample_data_groups();
    expect_authentic(check(fptest::make_sod(dgs, document_pki().ds_rsa_pkcs1), dgs, utopia_store()));
}

TEST(PassiveAuthentication, ValidEcdsaP256UnderBrainpoolCscaWithExplicitParameters) {
    const auto& pki = document_pki();
    // The CSCA really carries explicit parameters, and OpenSSL recognised them as brainpoolP256r1.
    EVP_PKEY* csca_key = X509_get0_pubkey(pki.csca_brainpool.cert.get());
    ASSERT_NE(csca_key, nullptr);
    int from_explicit = 0;
    ASSERT_EQ(EVP_PKEY_get_int_param(csca_key, OSSL_PKEY_PARAM_EC_DECODED_FROM_EXPLICIT_PARAMS, &from_explicit), 1);
    EXPECT_EQ(from_explicit, 1);
    char name[64] = {};
    ASSERT_EQ(EVP_PKEY_get_utf8_string_param(csca_key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, nullptr), 1);
    EXPECT_STREQ(name, "brainpoolP256r1");

    const auto dgs = fptest::sample_data_groups();
    const Bytes bytes = fptest::make_sod(dgs, pki.ds_p256);
    EXPECT_EQ(doc::parse_sod(bytes).signature_algorithm, "ecdsa-with-SHA256");
    const auto result = check(bytes, dgs, utopia_store());
    expect_authentic(result);
    EXPECT_NE(result.csca.find("brainpool"), std::string::npos) << result.csca;
}

TEST(PassiveAuthentication, ValidEcdsaOnOtherCurvesAndDigests) {
    const auto& pki = document_pki();
    const auto dgs = fptest::sample_data_groups();
    for (const auto& [signer, digest] : std::vector<std::pair<const fptest::Party*, std::string>>{
             {&pki.ds_p384, "SHA-384"},
             {&pki.ds_p521, "SHA-512"},
             {&pki.ds_brainpool384, "SHA-384"},
             {&pki.ds_brainpool512, "SHA-512"},  // explicit parameters in the DS certificate too
             {&pki.ds_p256, "SHA-1"}}) {
        SCOPED_TRACE(digest);
        fptest::SodOptions options;
        options.signature_digest = digest;
        const auto result = check(fptest::make_sod(dgs, *signer, options), dgs, utopia_store());
        expect_authentic(result);
        EXPECT_FALSE(result.document_signer.empty());
    }
}

// What OpenSSL 3.0 itself does with explicit parameters in X509_verify_cert: in a chain of two,
// a CSCA with explicit parameters is refused by default (X509_V_ERR_EC_KEY_EXPLICIT_PARAMS at
// depth 1), X509_V_FLAG_X509_STRICT or not, even when the parameters are those of a named curve.
TEST(PassiveAuthentication, OpenSslRefusesExplicitParametersInChainsByDefault) {
    const auto& pki = document_pki();
    const auto verify = [&](X509* leaf, X509* root, unsigned long flags, bool our_callback = false) {
        std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
        std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
        X509_STORE_add_cert(store.get(), root);
        X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr);
        X509_STORE_CTX_set_flags(ctx.get(), flags);
        if (our_callback) X509_STORE_CTX_set_verify_cb(ctx.get(), doc::ossl::accept_explicit_named_curves);
        const int ok = X509_verify_cert(ctx.get());
        ERR_clear_error();
        if (ok == 1) return X509_V_OK;
        EXPECT_EQ(X509_STORE_CTX_get_error_depth(ctx.get()), 1);
        return X509_STORE_CTX_get_error(ctx.get());
    };
    EXPECT_EQ(verify(pki.ds_p256.cert.get(), pki.csca_brainpool.cert.get(), 0), X509_V_ERR_EC_KEY_EXPLICIT_PARAMS);
    EXPECT_EQ(verify(pki.ds_p256.cert.get(), pki.csca_brainpool.cert.get(), X509_V_FLAG_X509_STRICT),
              X509_V_ERR_EC_KEY_EXPLICIT_PARAMS);
    EXPECT_EQ(verify(pki.ds_odd_curve.cert.get(), pki.csca_odd_curve.cert.get(), 0), X509_V_ERR_EC_KEY_EXPLICIT_PARAMS);
    // A named-curve chain passes even X509_STRICT: the failures above are the explicit encoding.
    EXPECT_EQ(verify(pki.ds_revoked.cert.get(), pki.csca_rsa.cert.get(), X509_V_FLAG_X509_STRICT), X509_V_OK);
    // Our callback overrules it for the named-curve equivalent only.
    EXPECT_EQ(verify(pki.ds_p256.cert.get(), pki.csca_brainpool.cert.get(), 0, true), X509_V_OK);
    EXPECT_EQ(verify(pki.ds_odd_curve.cert.get(), pki.csca_odd_curve.cert.get(), 0, true),
              X509_V_ERR_EC_KEY_EXPLICIT_PARAMS);
    EXPECT_TRUE(doc::ossl::explicit_curve_problem(pki.csca_brainpool.cert.get()).empty());
    EXPECT_FALSE(doc::ossl::explicit_curve_problem(pki.csca_odd_curve.cert.get()).empty());
    EXPECT_TRUE(doc::ossl::explicit_curve_problem(pki.csca_rsa.cert.get()).empty());
}

TEST(PassiveAuthentication, ExplicitParametersOfNoNamedCurveAreRefused) {
    const auto& pki = document_pki();
    EVP_PKEY* key = X509_get0_pubkey(pki.csca_odd_curve.cert.get());
    ASSERT_NE(key, nullptr);
    char name[64] = {};
    EXPECT_NE(EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, nullptr), 1) << name;
    ERR_clear_error();

    const auto dgs = fptest::sample_data_groups();
    const auto result = check(fptest::make_sod(dgs, pki.ds_odd_curve), dgs, utopia_store());
    EXPECT_EQ(result.status, doc::PassiveAuthenticationStatus::untrusted);
    EXPECT_EQ(result.sod_signature, doc::SignatureStatus::valid);
    EXPECT_EQ(result.chain, doc::ChainStatus::invalid);
    EXPECT_TRUE(has_reason(result, doc::reason::chain_invalid)) << reasons_text(result);
    EXPECT_TRUE(has_reason(result, doc::reason::ec_parameters_unknown_curve)) << reasons_text(result);
    EXPECT_NE(result.chain_detail.find("explicit domain parameters"), std::string::npos) << result.chain_detail;
}

TEST(PassiveAuthentication, Sha1Sha384Sha512AndLdsV1) {
    const auto& pki = document_pki();
    const auto dgs = fptest::sample_data_groups();
    for (const auto& [lds_hash, digest, version] :
         std::vector<std::tuple<std::string, std::string, int>>{{"SHA-1", "SHA-256", 0},
                                                                {"SHA-512", "SHA-512", 0},
                                                                {"SHA-384", "SHA-384", 1},
                                                                {"SHA-224", "SHA-256", 1}}) {
        SCOPED_TRACE(lds_hash + " / " + digest);
        fptest::SodOptions options;
        options.lds_hash = lds_hash;
        options.signature_digest = digest;
        options.lds_version = version;
        for (const fptest::Party* signer : {&pki.ds_pss, &pki.ds_p256}) {
            const Bytes bytes = fptest::make_sod(dgs, *signer, options);
            const doc::Sod sod = doc::parse_sod(bytes);
            EXPECT_EQ(doc::to_string(sod.hash_algorithm), lds_hash);
            EXPECT_EQ(sod.data_group_hashes.at(1).size(), doc::digest_size(sod.hash_algorithm));
            EXPECT_EQ(sod.lds_security_object_version, version);
            if (version == 1) {
                EXPECT_EQ(sod.lds_version.value_or(""), "0108");
            }
            expect_authentic(doc::authenticate(sod, views(dgs), utopia_store(), std::time(nullptr)));
        }
    }
}

// ---- Tampering ------------------------------------------------------------------------------------

TEST(PassiveAuthentication, Dg2SwappedAfterSigning) {
    const auto dgs = fptest::sample_data_groups();
    const Bytes bytes = fptest::make_sod(dgs, document_pki().ds_p256);
    auto swapped = dgs;
    swapped[2] = fptest::der_tlv(0x75, Bytes(3000, 0x11));  // another portrait
    const auto result = check(bytes, swapped, utopia_store());
    EXPECT_EQ(result.status, doc::PassiveAuthenticationStatus::failed);
    EXPECT_EQ(result.sod_signature, doc::SignatureStatus::valid);
    EXPECT_EQ(result.chain, doc::ChainStatus::valid);
    EXPECT_EQ(result.dg_hashes.at(1), doc::DataGroupHashStatus::match);
    EXPECT_EQ(result.dg_hashes.at(2), doc::DataGroupHashStatus::mismatch);
    EXPECT_EQ(result.reasons, std::vector<std::string>{"DG2_HASH_MISMATCH"}) << reasons_text(result);
}

TEST(PassiveAuthentication, Dg1Edited) {
    const auto dgs = fptest::sample_data_groups();
    const Bytes bytes = fptest::make_sod(dgs, document_pki().ds_pss);
    auto edited = dgs;
    edited[1][10] ^= 0x01;  // one letter of the MRZ
    const auto result = check(bytes, edited, utopia_store());
    EXPECT_EQ(result.status, doc::PassiveAuthenticationStatus::failed);
    EXPECT_EQ(result.reasons, std::vector<std::string>{"DG1_HASH_MISMATCH"}) << reasons_text(result);
}

TEST(PassiveAuthentication, DataGroupsAbsentOrNotInTheSod) {
    auto dgs = fptest::sample_data_groups();
    const Bytes bytes = fptest::make_sod(dgs, document_pki().ds_p256);
    dgs.erase(14);
    auto result = check(bytes, dgs, utopia_store());
    EXPECT_EQ(result.dg_hashes.at(14), doc::DataGroupHashStatus::absent);
    EXPECT_EQ(result.status, doc::PassiveAuthenticationStatus::authentic) << reasons_text(result);

    dgs[3] = Bytes{0x63, 0x00};  // DG3 is not in the SOD: nothing vouches for it
    result = check(bytes, dgs, utopia_store());
    EXPECT_EQ(result.dg_hashes.at(3), doc::DataGroupHashStatus::mismatch);
    EXPECT_EQ(result.reasons, std::vector<std::string>{"DG3_HASH_MISMATCH"});
    EXPECT_EQ(result.status, doc::PassiveAuthenticationStatus::failed);
}

TEST(PassiveAuthentication, FlippedSignatureBit) {
    const auto& pki = document_pki();
    const auto dgs = fptest::sample_data_groups();
    for (const fptest::Party* signer : {&pki.ds_pss, &pki.ds_p256, &pki.ds_rsa_pkcs1}) {
        Bytes bytes = fptest::make_sod(dgs, *signer);
        {
            const doc::Sod sod = doc::parse_sod(bytes);
            auto* cms = const_cast<CMS_ContentInfo*>(sod.cms.get());
            CMS_SignerInfo* info = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
            const ASN1_OCTET_STRING* signature = CMS_SignerInfo_get0_signature(info);
            const std::span<const std::uint8_t> value(ASN1_STRING_get0_data(signature),
                                                      static_cast<std::size_t>(ASN1_STRING_length(signature)));
            bytes[offset_of(bytes, value) + value.size() - 2] ^= 0x10;
        }
        const auto result = check(bytes, dgs, utopia_store());
        EXPECT_EQ(result.sod_signature, doc::SignatureStatus::invalid);
        EXPECT_EQ(result.status, doc::PassiveAuthenticationStatus::failed);
        EXPECT_TRUE(has_reason(result, doc::reason::sod_signature_invalid)) << reasons_text(result);
        EXPECT_EQ(result.chain, doc::ChainStatus::valid);  // the certificate is still good
        EXPECT_FALSE(result.sod_signature_detail.empty());
    }
}

TEST(PassiveAuthentication, EContentChangedAfterSigning) {
    const auto dgs = fptest::sample_data_groups();
    Bytes bytes = fptest::make_sod(dgs, document_pki().ds_p256);
    const Bytes content = doc::parse_sod(bytes).lds_security_object;
    // The last byte of the last hash (DG14): the LDS Security Object still parses.
    bytes[offset_of(bytes, content) + content.size() - 1] ^= 0xff;
    const auto result = check(bytes, dgs, utopia_store());
    EXPECT_EQ(result.sod_signature, doc::SignatureStatus::invalid);
    EXPECT_TRUE(has_reason(result, doc::reason::sod_signature_invalid)) << reasons_text(result);
    EXPECT_TRUE(has_reason(result, "DG14_HASH_MISMATCH")) << reasons_text(result);
    EXPECT_EQ(result.status, doc::PassiveAuthenticationStatus::failed);
}

TEST(PassiveAuthentication, NoSignedAttributesIsRefusedAndTheChainIsCheckedAtNow) {
    const auto dgs = fptest::sample_data_groups();
    fptest::SodOptions options;
    options.signed_attributes = false;
    const doc::Sod sod = doc::parse_sod(fptest::make_sod(dgs, document_pki().ds_p256, options));
    EXPECT_FALSE(sod.signing_time.has_value());
    const std::time_t now = std::time(nullptr);
    const auto result = doc::authenticate(sod, views(dgs), utopia_store(), now);
    EXPECT_EQ(result.sod_signature, doc::SignatureStatus::invalid);
    EXPECT_NE(result.sod_signature_detail.find("signed attributes"), std::string::npos) << result.sod_signature_detail;
    EXPECT_EQ(result.reasons, std::vector<std::string>{"SOD_SIGNATURE_INVALID"});
    EXPECT_EQ(result.chain, doc::ChainStatus::valid) << result.chain_detail;
    EXPECT_FALSE(result.validated_at_signing_time);
    EXPECT_EQ(result.validation_time, now);
}

TEST(PassiveAuthentication, OneSodAndStoreSharedByThreads) {
    const auto& pki = document_pki();
    const auto dgs = fptest::sample_data_groups();
    const doc::Sod good = doc::parse_sod(fptest::make_sod(dgs, pki.ds_pss));
    const doc::Sod revoked = doc::parse_sod(fptest::make_sod(dgs, pki.ds_revoked));
    const doc::TrustStore store = utopia_store();
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 20; ++i) {
                if (doc::authenticate(good, views(dgs), store, std::time(nullptr)).status !=
                    doc::PassiveAuthenticationStatus::authentic)
                    ++wrong;
                if (doc::authenticate(revoked, views(dgs), store, std::time(nullptr)).chain != doc::ChainStatus::revoked)
                    ++wrong;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(wrong.load(), 0);
}

// ---- The chain ------------------------------------------------------------------------------------

TEST(PassiveAuthentication, UnknownCscaIsUntrustedButIntegrityIsChecked) {
    const auto dgs = fptest::sample_data_groups();
    const Bytes bytes = fptest::make_sod(dgs, document_pki().ds_unknown);
    auto result = check(bytes, dgs, utopia_store());
    EXPECT_EQ(result.chain, doc::ChainStatus::unknown_csca) << result.chain_detail;
    EXPECT_EQ(result.status, doc::PassiveAuthenticationStatus::untrusted);
    EXPECT_EQ(result.sod_signature, doc::SignatureStatus::valid);
    EXPECT_EQ(result.reasons, std::vector<std::string>{"CSCA_UNKNOWN"});
    for (const auto& [number, status] : result.dg_hashes) EXPECT_EQ(status, doc::DataGroupHashStatus::match);

    // An empty store trusts nothing, and a tampered DG is still caught.
    auto tampered = dgs;
    tampered[2][5] ^= 1;
    result = check(bytes, tampered, doc::TrustStore());
    EXPECT_EQ(result.chain, doc::ChainStatus::unknown_csca);
    EXPECT_EQ(result.status, doc::PassiveAuthenticationStatus::failed);
    EXPECT_TRUE(has_reason(result, "DG2_HASH_MISMATCH"));
    EXPECT_TRUE(has_reason(result, doc::reason::csca_unknown));
}

TEST(PassiveAuthentication, ExpiredDocumentSigner) {
    const auto& pki = document_pki();
    const auto dgs = fptest::sample_data_groups();
    auto result = check(fptest::make_sod(dgs, pki.ds_expired), dgs, utopia_store());
    EXPECT_EQ(result.chain, doc::ChainStatus::expired) << result.chain_detail;
    EXPECT_EQ(result.reasons, std::vector<std::string>{"DS_CERT_EXPIRED"}) << reasons_text(result);
    EXPECT_EQ(result.status, doc::PassiveAuthenticationStatus::untrusted);

    // Signed while the DS certificate was valid (500 days ago): valid at its signing time.
    fptest::SodOptions options;
    options.signing_time = std::time(nullptr) - 500L * 86400L;
    result = check(fptest::make_sod(dgs, pki.ds_expired, options), dgs, utopia_store());
    expect_authentic(result);
    EXPECT_TRUE(result.validated_at_signing_time);

    // A signing time before the CSCA existed: the CSCA was not valid then.
    options.signing_time = std::time(nullptr) - 2000L * 86400L;
    result = check(fptest::make_sod(dgs, pki.ds_pss, options), dgs, utopia_store());
    EXPECT_EQ(result.chain, doc::ChainStatus::expired);
    EXPECT_TRUE(has_reason(result, doc::reason::ds_cert_expired) || has_reason(result, doc::reason::csca_cert_expired))
        << reasons_text(result);
}

TEST(PassiveAuthentication, RevokedDocumentSigner) {
    const auto& pki = document_pki();
    const auto dgs = fptest::sample_data_groups();
    const Bytes bytes = fptest::make_sod(dgs, pki.ds_revoked);
    auto result = check(bytes, dgs, utopia_store(/*with_crl=*/true));
    EXPECT_EQ(result.chain, doc::ChainStatus::revoked) << result.chain_detail;
    EXPECT_EQ(result.reasons, std::vector<std::string>{"DS_CERT_REVOKED"}) << reasons_text(result);
    EXPECT_EQ(result.status, doc::PassiveAuthenticationStatus::untrusted);
    // Without the CRL nothing says it is revoked; other DSs of the same CSCA stay valid with it.
    expect_authentic(check(bytes, dgs, utopia_store(/*with_crl=*/false)));
    expect_authentic(check(fptest::make_sod(dgs, pki.ds_pss), dgs, utopia_store(true)));
}

// ---- The trust store ------------------------------------------------------------------------------

TEST(TrustStore, LoadsPemDerMasterListAndCrlFromADirectory) {
    const auto& pki = document_pki();
    fptest::PkiTempDir dir;
    fptest::write_pki_file(dir.path() / "utopia.pem", fptest::pem_of(pki.csca_rsa.cert.get()) + "\n" +
                                                          fptest::pem_of(pki.csca_brainpool.cert.get()));
    fptest::write_pki_file(dir.path() / "utopia-rsa.der", fptest::der_of(pki.csca_rsa.cert.get()));  // a duplicate
    fptest::write_pki_file(dir.path() / "utopia.crl", fptest::der_of(pki.crl.get()));
    fptest::write_pki_file(dir.path() / "utopia-pem.crl", fptest::pem_of(pki.crl.get()));
    // Nowhere's CSCA, vouched for by Utopia's master list signer (chains to the PEM CSCA above).
    fptest::write_pki_file(dir.path() / "a-nowhere.ml", fptest::make_master_list({pki.csca_unknown.cert}, pki.ml_signer));
    fptest::write_pki_file(dir.path() / "README.txt", std::string("not a certificate"));
    std::filesystem::create_directory(dir.path() / "subdir");

    const doc::TrustStore store = doc::TrustStore::load(dir.path());
    const auto& summary = store.summary();
    EXPECT_EQ(summary.csca_certificates, 3u);
    EXPECT_EQ(store.cscas().size(), 3u);
    EXPECT_EQ(summary.master_lists, 1u);
    EXPECT_EQ(summary.crls, 2u);
    EXPECT_EQ(summary.skipped.size(), 2u);
    EXPECT_NE(store.summary_text().find("CN=CSCA Nowhere"), std::string::npos) << store.summary_text();

    const auto dgs = fptest::sample_data_groups();
    expect_authentic(check(fptest::make_sod(dgs, pki.ds_unknown), dgs, store));
    expect_authentic(check(fptest::make_sod(dgs, pki.ds_p256), dgs, store));
    EXPECT_EQ(check(fptest::make_sod(dgs, pki.ds_revoked), dgs, store).chain, doc::ChainStatus::revoked);

    // One file named directly, whatever its extension.
    const doc::TrustStore single = doc::TrustStore::load(dir.path() / "utopia-rsa.der");
    EXPECT_EQ(single.cscas().size(), 1u);
}

TEST(TrustStore, MasterListSignedByItsOwnCsca) {
    const auto& pki = document_pki();
    fptest::PkiTempDir dir;
    fptest::write_pki_file(dir.path() / "nowhere.ml",
                           fptest::make_master_list({pki.csca_unknown.cert, pki.csca_brainpool.cert}, pki.ml_signer_unknown));
    const doc::TrustStore store = doc::TrustStore::load(dir.path() / "nowhere.ml");
    EXPECT_EQ(store.cscas().size(), 2u);
    const doc::MasterList list = doc::parse_master_list(fptest::make_master_list({pki.csca_rsa.cert}, pki.ml_signer));
    EXPECT_EQ(list.cscas.size(), 1u);
    ASSERT_TRUE(list.signer_certificate);
    EXPECT_NO_THROW(doc::verify_master_list(list, {}, std::time(nullptr)));
}

TEST(TrustStore, MasterListWithBrokenSignatureIsRefused) {
    const auto& pki = document_pki();
    Bytes list = fptest::make_master_list({pki.csca_unknown.cert}, pki.ml_signer);
    {
        const doc::MasterList parsed = doc::parse_master_list(list);
        auto* cms = const_cast<CMS_ContentInfo*>(parsed.cms.get());
        const ASN1_OCTET_STRING* signature =
            CMS_SignerInfo_get0_signature(sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0));
        const std::span<const std::uint8_t> value(ASN1_STRING_get0_data(signature),
                                                  static_cast<std::size_t>(ASN1_STRING_length(signature)));
        list[offset_of(list, value) + value.size() - 2] ^= 0x04;
    }
    fptest::PkiTempDir dir;
    fptest::write_pki_file(dir.path() / "utopia.pem", fptest::pem_of(pki.csca_rsa.cert.get()));
    fptest::write_pki_file(dir.path() / "broken.ml", list);
    try {
        (void)doc::TrustStore::load(dir.path());
        FAIL() << "a master list with a broken signature was used";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::document_malformed);
        EXPECT_NE(std::string(e.what()).find("master list signature does not verify"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("broken.ml"), std::string::npos) << e.what();
    }

    // A valid signature by a signer that chains to nothing trusted: refused too.
    std::filesystem::remove(dir.path() / "broken.ml");
    fptest::write_pki_file(dir.path() / "stranger.ml", fptest::make_master_list({pki.csca_brainpool.cert}, pki.ml_signer_unknown));
    try {
        (void)doc::TrustStore::load(dir.path());
        FAIL() << "a master list whose signer chains to nothing was used";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::document_malformed);
        EXPECT_NE(std::string(e.what()).find("does not chain"), std::string::npos) << e.what();
    }
}

TEST(TrustStore, UnreadableOversizedOrMalformedFiles) {
    fptest::PkiTempDir dir;
    try {
        (void)doc::TrustStore::load(dir.path() / "missing");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::io_error) << e.what();
    }
    // Empty directory: nothing to trust is an error.
    try {
        (void)doc::TrustStore::load(dir.path());
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::document_malformed) << e.what();
    }
    const auto big = dir.path() / "big.pem";
    { std::ofstream(big).put('x'); }
    std::filesystem::resize_file(big, doc::max_trust_file_bytes + 1);  // sparse
    try {
        (void)doc::TrustStore::load(dir.path());
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::io_error) << e.what();
    }
    std::filesystem::remove(big);
    fptest::write_pki_file(dir.path() / "junk.pem", std::string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
    try {
        (void)doc::TrustStore::load(dir.path());
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::document_malformed) << e.what();
        EXPECT_NE(std::string(e.what()).find("junk.pem"), std::string::npos) << e.what();
    }
    std::filesystem::remove(dir.path() / "junk.pem");
    fptest::write_pki_file(dir.path() / "junk.crl", Bytes{0x30, 0x03, 0x02, 0x01, 0x00});
    fptest::write_pki_file(dir.path() / "ok.pem", fptest::pem_of(document_pki().csca_rsa.cert.get()));
    try {
        (void)doc::TrustStore::load(dir.path());
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::document_malformed) << e.what();
    }
}

TEST(TrustStore, DirectoryWithTooManyEntries) {
    fptest::PkiTempDir dir;
    for (std::size_t i = 0; i <= doc::max_trust_directory_entries; ++i)
        std::ofstream(dir.path() / ("f" + std::to_string(i)));
    try {
        (void)doc::TrustStore::load(dir.path());
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::io_error) << e.what();
    }
}

// ---- Malformed EF.SOD -----------------------------------------------------------------------------

TEST(SodParsing, TruncatedAtEveryLength) {
    const auto dgs = fptest::sample_data_groups();
    const Bytes bytes = fptest::make_sod(dgs, document_pki().ds_p256);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        const Bytes prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
        ASSERT_EQ(parse_error(prefix), ErrorCode::document_malformed) << "prefix of " << n << " bytes";
    }
    Bytes longer = bytes;
    longer.push_back(0);
    EXPECT_EQ(parse_error(longer), ErrorCode::document_malformed);
}

TEST(SodParsing, HostileLengthsAndTags) {
    const auto dgs = fptest::sample_data_groups();
    const Bytes good = fptest::make_sod(dgs, document_pki().ds_pss);
    ASSERT_EQ(good[0], 0x77);
    ASSERT_EQ(good[1], 0x82);  // 0x77 82 LL LL 30 82 LL LL ...
    for (const Bytes& bad : std::vector<Bytes>{
             {},
             {0x77},
             {0x77, 0x00},
             {0x77, 0x80, 0x00, 0x00},                          // indefinite length
             {0x77, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30},          // 4 GiB
             {0x77, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
             {0x77, 0x81, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00},  // non-minimal length
             {0x77, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00},        // not a ContentInfo
             {0x7f, 0x77, 0x00},
         }) {
        EXPECT_EQ(parse_error(bad), ErrorCode::document_malformed);
    }
    Bytes wrong_tag = good;
    wrong_tag[0] = 0x30;
    EXPECT_EQ(parse_error(wrong_tag), ErrorCode::document_malformed);
    // The inner ContentInfo length too long / too short.
    for (const int delta : {1, -1, 0x100, -0x100}) {
        Bytes bad = good;
        const int length = (bad[6] << 8 | bad[7]) + delta;
        bad[6] = static_cast<std::uint8_t>(length >> 8);
        bad[7] = static_cast<std::uint8_t>(length);
        EXPECT_EQ(parse_error(bad), ErrorCode::document_malformed) << delta;
    }
    // Every single byte of the header area set to 0xff: never a crash, an error or a parse.
    for (std::size_t i = 0; i < 64; ++i) {
        Bytes bad = good;
        bad[i] = 0xff;
        const ErrorCode code = parse_error(bad);
        EXPECT_TRUE(code == ErrorCode::document_malformed || code == ErrorCode::internal) << i;
    }
    const Bytes huge(doc::max_sod_bytes + 1, 0x77);
    EXPECT_EQ(parse_error(huge), ErrorCode::document_malformed);
}

TEST(SodParsing, MalformedLdsSecurityObjects) {
    const auto& pki = document_pki();
    using fptest::der_tlv;
    const auto concat = [](std::initializer_list<Bytes> parts) {
        Bytes out;
        for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
        return out;
    };
    const Bytes sha256{0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
    const auto algorithm = [&](const Bytes& oid) { return der_tlv(0x30, concat({der_tlv(0x06, oid), der_tlv(0x05, {})})); };
    const auto entry = [&](std::uint8_t number, std::size_t size) {
        return der_tlv(0x30, concat({der_tlv(0x02, {number}), der_tlv(0x04, Bytes(size, 0xab))}));
    };
    const auto lds = [&](std::uint8_t version, const Bytes& alg, const Bytes& entries, const Bytes& extra = {}) {
        return der_tlv(0x30, concat({der_tlv(0x02, {version}), alg, der_tlv(0x30, entries), extra}));
    };
    // The well-formed baseline parses.
    EXPECT_NO_THROW(doc::parse_sod(fptest::make_sod_from_content(lds(0, algorithm(sha256), concat({entry(1, 32), entry(2, 32)})), pki.ds_p256)));
    const std::vector<std::pair<std::string, Bytes>> cases{
        {"unknown hash (MD5)", lds(0, algorithm({0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05}), concat({entry(1, 16)}))},
        {"hash of the wrong size", lds(0, algorithm(sha256), concat({entry(1, 20)}))},
        {"DG17", lds(0, algorithm(sha256), concat({entry(17, 32)}))},
        {"DG0", lds(0, algorithm(sha256), concat({entry(0, 32)}))},
        {"DG1 twice", lds(0, algorithm(sha256), concat({entry(1, 32), entry(1, 32)}))},
        {"no hashes", lds(0, algorithm(sha256), {})},
        {"version 2", lds(2, algorithm(sha256), concat({entry(1, 32)}))},
        {"v1 without LDSVersionInfo", lds(1, algorithm(sha256), concat({entry(1, 32)}))},
        {"v0 with trailing fields", lds(0, algorithm(sha256), concat({entry(1, 32)}), der_tlv(0x30, {}))},
        {"not a sequence", der_tlv(0x04, {1, 2, 3})},
    };
    for (const auto& [name, content] : cases) {
        EXPECT_EQ(parse_error(fptest::make_sod_from_content(content, pki.ds_p256)), ErrorCode::document_malformed) << name;
    }
    // A signed master list is not an EF.SOD, and an EF.SOD is not a master list.
    const Bytes sod_with_master_list_type = fptest::make_sod_from_content(
        lds(0, algorithm(sha256), concat({entry(1, 32)})), pki.ds_p256, {}, "2.23.136.1.1.2");
    EXPECT_EQ(parse_error(sod_with_master_list_type), ErrorCode::document_malformed);
    const Bytes sod = fptest::make_sod(fptest::sample_data_groups(), pki.ds_p256);
    try {
        (void)doc::parse_master_list(std::span<const std::uint8_t>(sod).subspan(4));
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::document_malformed) << e.what();
    }
}

TEST(SodParsing, MalformedBytesGiveTheDocumentMalformedReason) {
    const auto dgs = fptest::sample_data_groups();
    Bytes bytes = fptest::make_sod(dgs, document_pki().ds_p256);
    auto result = doc::authenticate_sod_bytes(bytes, views(dgs), utopia_store(), std::time(nullptr));
    expect_authentic(result);
    bytes.resize(bytes.size() / 2);
    result = doc::authenticate_sod_bytes(bytes, views(dgs), utopia_store(), std::time(nullptr));
    EXPECT_EQ(result.status, doc::PassiveAuthenticationStatus::failed);
    EXPECT_EQ(result.reasons, std::vector<std::string>{"DOCUMENT_MALFORMED"});
    EXPECT_NE(result.sod_signature_detail.find("EF.SOD"), std::string::npos) << result.sod_signature_detail;
}

TEST(SodParsing, ReasonNames) {
    EXPECT_EQ(doc::reason::data_group_hash_mismatch(2), "DG2_HASH_MISMATCH");
    EXPECT_EQ(doc::to_string(doc::ChainStatus::unknown_csca), "unknown_csca");
    EXPECT_EQ(doc::to_string(doc::PassiveAuthenticationStatus::untrusted), "untrusted");
    EXPECT_EQ(doc::to_string(doc::DataGroupHashStatus::absent), "absent");
}

}  // namespace
