// faceproof — one decision over a chip document: passive authentication (sod.*, trust_store.*,
// passive_authentication.*), the data groups (data_groups.*) and the MRZ (mrz.cpp).
#include "faceproof/document.hpp"

#include <algorithm>
#include <ctime>
#include <map>
#include <span>

#include "document/data_groups.hpp"
#include "document/passive_authentication.hpp"
#include "document/sod.hpp"
#include "document/trust_store.hpp"
#include "faceproof/error.hpp"
#include "util/input_file.hpp"
#include "util/naming.hpp"

namespace faceproof {
namespace {

namespace fs = std::filesystem;

std::vector<std::uint8_t> read_chip_file(const fs::path& dir, const char* name) {
    return read_input_file(dir / name, kMaxDocumentFileBytes, std::string("chip file ") + name);
}

std::optional<std::vector<std::uint8_t>> read_optional_chip_file(const fs::path& dir, const char* name) {
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(dir / name, ec))) return std::nullopt;
    return read_chip_file(dir, name);
}

std::string active_authentication_summary(const ActiveAuthenticationKey& key) {
    if (key.algorithm == "RSA") return "RSA " + std::to_string(key.bits);
    return key.algorithm + " " + (key.curve.empty() ? std::to_string(key.bits) + " bits" : key.curve);
}

}  // namespace

DocumentBundle DocumentBundle::read_directory(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw Error(ErrorCode::io_error, "document bundle '" + dir.string() +
                                             "' is not a directory (it should hold EF.SOD, DG1, DG2 as read from the chip)");
    DocumentBundle bundle;
    bundle.sod = read_chip_file(dir, "EF.SOD");
    bundle.dg1 = read_chip_file(dir, "DG1");
    bundle.dg2 = read_chip_file(dir, "DG2");
    bundle.dg14 = read_optional_chip_file(dir, "DG14");
    bundle.dg15 = read_optional_chip_file(dir, "DG15");
    return bundle;
}

std::shared_ptr<const document::TrustStore> load_trust_store(const fs::path& path) {
    return std::make_shared<const document::TrustStore>(document::TrustStore::load(path));
}

std::string describe_trust_store(const document::TrustStore& trust_store) { return trust_store.summary_text(); }

std::string_view to_string(DocumentStatus status) noexcept {
    switch (status) {
        case DocumentStatus::valid: return "valid";
        case DocumentStatus::invalid: return "invalid";
        case DocumentStatus::untrusted: return "untrusted";
    }
    return "invalid";
}

DocumentCheck check_document(const DocumentBundle& bundle, const document::TrustStore& trust_store,
                             std::chrono::system_clock::time_point now) {
    // Everything is parsed before anything is judged: a bundle with a file that does not parse
    // gets no decision (document_malformed), never a partial one.
    const document::Sod sod = naming("EF.SOD", [&] { return document::parse_sod(bundle.sod); });
    const Dg1Mrz dg1 = naming("DG1", [&] { return parse_dg1(bundle.dg1); });
    const Mrz mrz = naming("DG1", [&] { return parse_mrz(dg1.lines); });
    std::vector<Portrait> portraits = naming("DG2", [&] { return parse_dg2(bundle.dg2); });
    if (portraits.empty()) throw Error(ErrorCode::document_malformed, "DG2: no portrait");
    std::vector<SecurityInfoSummary> security_infos;
    if (bundle.dg14) security_infos = naming("DG14", [&] { return parse_dg14(*bundle.dg14); });
    std::optional<ActiveAuthenticationKey> aa_key;
    if (bundle.dg15) aa_key = naming("DG15", [&] { return parse_dg15(*bundle.dg15); });

    std::map<int, std::span<const std::uint8_t>> data_groups{{1, bundle.dg1}, {2, bundle.dg2}};
    if (bundle.dg14) data_groups.emplace(14, *bundle.dg14);
    if (bundle.dg15) data_groups.emplace(15, *bundle.dg15);
    const std::time_t now_t = std::chrono::system_clock::to_time_t(now);
    const document::PassiveAuthenticationResult pa = document::authenticate(sod, data_groups, trust_store, now_t);

    DocumentCheck check;
    check.sod_signature = std::string(document::to_string(pa.sod_signature));
    check.sod_signature_detail = pa.sod_signature_detail;
    for (const auto& [number, status] : pa.dg_hashes)
        check.dg_hashes["DG" + std::to_string(number)] = std::string(document::to_string(status));
    check.hash_algorithm = std::string(document::to_string(sod.hash_algorithm));
    check.signature_algorithm = sod.signature_algorithm;
    check.chain = std::string(document::to_string(pa.chain));
    check.chain_detail = pa.chain_detail;
    check.document_signer = pa.document_signer;
    check.csca = pa.csca;
    check.chain_checked_at_signing_time = pa.validated_at_signing_time;

    check.mrz = mrz;
    check.dates = check_mrz_dates(mrz, std::chrono::floor<std::chrono::days>(now));
    check.mrz_check_digits_ok = mrz.check_digits_ok;
    check.document_expired = check.dates.expiry.state == MrzDateState::expired;

    check.portraits = portraits.size();
    Portrait& first = portraits.front();
    check.portrait = DocumentPortrait{first.encoding, first.format, first.width, first.height, std::move(first.image)};
    for (const auto& info : security_infos) check.chip_security_infos.push_back(info.protocol);
    if (aa_key) check.active_authentication_key = active_authentication_summary(*aa_key);

    check.reasons = pa.reasons;
    for (const auto& r : mrz.reasons) check.reasons.push_back(r);
    for (const auto& r : check.dates.reasons) check.reasons.push_back(r);

    const bool intact = pa.sod_signature == document::SignatureStatus::valid &&
                        std::none_of(pa.dg_hashes.begin(), pa.dg_hashes.end(), [&](const auto& entry) {
                            // A DG the SOD lists but the bundle lacks (DG3, a fingerprint) is no
                            // integrity failure: only the DGs given are judged.
                            return entry.second == document::DataGroupHashStatus::mismatch;
                        }) &&
                        // DG1 and DG2 are what the decision rests on: both must be signed.
                        pa.dg_hashes.count(1) && pa.dg_hashes.count(2);
    if (!intact || !mrz.check_digits_ok || !check.dates.ok)
        check.status = DocumentStatus::invalid;
    else if (pa.chain != document::ChainStatus::valid)
        check.status = DocumentStatus::untrusted;
    else
        check.status = DocumentStatus::valid;
    return check;
}

}  // namespace faceproof
