// Tests of the audit hash chain and of the guard that keeps biometric data out of it.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "faceproof/audit.hpp"
#include "faceproof/error.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
using fptest::expect_error_code;
using nlohmann::json;

namespace {

std::string time_of(int i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "2024-05-01T12:%02d:%02dZ", (i / 60) % 60, i % 60);
    return buf;
}

std::vector<fp::AuditEntry> build_chain(int n) {
    std::vector<fp::AuditEntry> out;
    for (int i = 0; i < n; ++i) {
        json details = {{"score", 0.5 + i * 0.001}, {"threshold", 0.42}, {"model_id", "fr_embed@1"},
                        {"fmr", 1e-4}, {"attempt", i}};
        out.push_back(fp::make_audit_entry(out.empty() ? nullptr : &out.back(), "tenant-a", "api-key-7", "verify",
                                           "subject-" + std::to_string(i % 5), i % 3 ? "match" : "no_match",
                                           std::move(details), time_of(i)));
    }
    return out;
}

}  // namespace

TEST(AuditChain, BuildsAndVerifies) {
    const auto chain = build_chain(50);
    ASSERT_EQ(chain.size(), 50u);
    EXPECT_EQ(chain[0].sequence, 1);
    EXPECT_EQ(chain[0].previous_hash, std::string(64, '0'));
    for (std::size_t i = 1; i < chain.size(); ++i) {
        EXPECT_EQ(chain[i].sequence, static_cast<std::int64_t>(i + 1));
        EXPECT_EQ(chain[i].previous_hash, chain[i - 1].hash);
    }
    EXPECT_EQ(chain[7].hash.size(), 64u);
    EXPECT_EQ(fp::audit_hash(chain[7]), chain[7].hash);
    const auto check = fp::verify_audit_chain(chain);
    EXPECT_TRUE(check.ok) << check.problem;
    EXPECT_EQ(check.first_bad_sequence, 0);
    EXPECT_TRUE(fp::verify_audit_chain({}).ok);
}

TEST(AuditChain, HashSurvivesAJsonRoundTripOfDetails) {
    auto chain = build_chain(3);
    // As a store would: details written as text and parsed back.
    for (auto& e : chain) e.details = json::parse(e.details.dump());
    EXPECT_TRUE(fp::verify_audit_chain(chain).ok);
}

TEST(AuditChain, EditedFieldIsReportedAtThatEntry) {
    const auto chain = build_chain(50);
    using Edit = void (*)(fp::AuditEntry&);
    const std::vector<std::pair<std::string, Edit>> edits = {
        {"outcome", [](fp::AuditEntry& e) { e.outcome = "match"; e.outcome += "!"; }},
        {"score", [](fp::AuditEntry& e) { e.details["score"] = 0.99; }},
        {"time", [](fp::AuditEntry& e) { e.time = "2030-01-01T00:00:00Z"; }},
        {"tenant", [](fp::AuditEntry& e) { e.tenant = "tenant-b"; }},
        {"actor", [](fp::AuditEntry& e) { e.actor = "someone-else"; }},
        {"action", [](fp::AuditEntry& e) { e.action = "enrol"; }},
        {"subject", [](fp::AuditEntry& e) { e.subject = "subject-x"; }},
        {"sequence", [](fp::AuditEntry& e) { e.sequence += 100; }},
        {"previous_hash", [](fp::AuditEntry& e) { e.previous_hash[0] = e.previous_hash[0] == 'a' ? 'b' : 'a'; }},
        {"hash", [](fp::AuditEntry& e) { e.hash[5] = e.hash[5] == 'a' ? 'b' : 'a'; }},
    };
    for (const auto& [field, edit] : edits) {
        SCOPED_TRACE(field);
        auto c = chain;
        edit(c[20]);  // sequence 21
        const auto check = fp::verify_audit_chain(c);
        EXPECT_FALSE(check.ok);
        const std::int64_t expected = field == "sequence" ? 121 : 21;
        EXPECT_EQ(check.first_bad_sequence, expected) << check.problem;
        EXPECT_FALSE(check.problem.empty());
    }
}

TEST(AuditChain, EditWithRecomputedHashIsCaughtAtTheNextEntry) {
    auto c = build_chain(50);
    c[20].outcome = "match (edited)";
    c[20].hash = fp::audit_hash(c[20]);
    const auto check = fp::verify_audit_chain(c);
    EXPECT_FALSE(check.ok);
    EXPECT_EQ(check.first_bad_sequence, 22) << check.problem;
}

TEST(AuditChain, RemovedEntryIsDetected) {
    for (std::size_t removed : {0u, 1u, 24u, 48u}) {
        SCOPED_TRACE(removed);
        auto c = build_chain(50);
        c.erase(c.begin() + static_cast<std::ptrdiff_t>(removed));
        const auto check = fp::verify_audit_chain(c);
        EXPECT_FALSE(check.ok);
        EXPECT_EQ(check.first_bad_sequence, static_cast<std::int64_t>(removed) + 2) << check.problem;
    }
}

TEST(AuditChain, RemovedAndRenumberedEntryIsDetected) {
    // Remove entry 10 and renumber the rest: hashes no longer match their content.
    auto c = build_chain(50);
    c.erase(c.begin() + 9);
    for (std::size_t i = 9; i < c.size(); ++i) c[i].sequence -= 1;
    const auto check = fp::verify_audit_chain(c);
    EXPECT_FALSE(check.ok);
    EXPECT_EQ(check.first_bad_sequence, 10) << check.problem;
}

TEST(AuditChain, SwappedEntriesAreDetected) {
    auto c = build_chain(50);
    std::swap(c[30], c[31]);  // sequences 31 and 32
    const auto check = fp::verify_audit_chain(c);
    EXPECT_FALSE(check.ok);
    EXPECT_EQ(check.first_bad_sequence, 32) << check.problem;

    auto d = build_chain(50);
    std::swap(d[0], d[49]);
    EXPECT_FALSE(fp::verify_audit_chain(d).ok);
}

TEST(AuditChain, TruncatedHeadNeedsTheExpectedPreviousHash) {
    const auto chain = build_chain(50);
    const std::vector<fp::AuditEntry> tail(chain.begin() + 10, chain.end());
    const auto plain = fp::verify_audit_chain(tail);
    EXPECT_FALSE(plain.ok);
    EXPECT_EQ(plain.first_bad_sequence, 11);
    const auto anchored = fp::verify_audit_chain(tail, chain[9].hash);
    EXPECT_TRUE(anchored.ok) << anchored.problem;
    const auto wrong = fp::verify_audit_chain(tail, chain[8].hash);
    EXPECT_FALSE(wrong.ok);
    EXPECT_EQ(wrong.first_bad_sequence, 11);
    // The genesis hash as anchor is the same as no anchor.
    EXPECT_TRUE(fp::verify_audit_chain(chain, std::string(64, '0')).ok);
}

TEST(AuditChain, MakeEntryChecksItsInputs) {
    const auto chain = build_chain(2);
    auto tampered = chain[1];
    tampered.outcome = "edited";
    expect_error_code(fp::ErrorCode::invalid_argument,
                      [&] { fp::make_audit_entry(&tampered, "t", "a", "verify", "s", "match", json::object(), time_of(1)); });
    expect_error_code(fp::ErrorCode::invalid_argument,
                      [&] { fp::make_audit_entry(nullptr, "t", "a", "verify", "s", "match", json::object(), "yesterday"); });
    expect_error_code(fp::ErrorCode::invalid_argument, [&] {
        fp::make_audit_entry(nullptr, "t", "a", "verify", "s", "match", json::object(), "2024-05-01T12:00:00+02:00");
    });
    expect_error_code(fp::ErrorCode::invalid_argument, [&] {
        fp::make_audit_entry(nullptr, "t", "a", "verify", "s", "match",
                             {{"score", std::numeric_limits<double>::quiet_NaN()}}, time_of(1));
    });
    expect_error_code(fp::ErrorCode::invalid_argument, [&] {
        fp::make_audit_entry(nullptr, "t", "a", "verify", "s", "match", {{"template", "AAAA"}}, time_of(1));
    });
    // Default time is now, in the accepted format.
    const auto e = fp::make_audit_entry(nullptr, "t", "a", "verify", "s", "match", json::object());
    EXPECT_EQ(e.time.size(), 24u) << e.time;
    EXPECT_EQ(e.time.back(), 'Z');
    EXPECT_TRUE(fp::verify_audit_chain({e}).ok);
}

TEST(AuditBiometrics, AcceptsScoresThresholdsAndIds) {
    EXPECT_NO_THROW(fp::check_no_biometrics(json::object()));
    EXPECT_NO_THROW(fp::check_no_biometrics(json(nullptr)));
    EXPECT_NO_THROW(fp::check_no_biometrics(
        {{"score", 0.71}, {"threshold", 0.42}, {"model_id", "fr_embed@1"}, {"fmr", 1e-4},
         {"quality", {{"sharpness", 0.9}, {"pose", {1.0, 2.0, 3.0}}}}, {"scores", json(std::vector<double>(16, 0.5))},
         {"note", "image was rotated"}}));
}

TEST(AuditBiometrics, RejectsTemplatesEmbeddingsAndImages) {
    const std::vector<std::pair<std::string, json>> cases = {
        {"template", {{"template", "base64..."}}},
        {"Template_B64", {{"Template_B64", "base64..."}}},
        {"probe_embedding", {{"probe_embedding", {0.1, 0.2}}}},
        {"image", {{"image", "..."}}},
        {"faceImage", {{"faceImage", "..."}}},
        {"selfie", {{"selfie_jpeg", "..."}}},
        {"nested", {{"result", {{"inner", {{"embedding", 1}}}}}}},
        {"in array", {{"items", json::array({json{{"photo", "x"}}})}}},
        {"17 numbers", {{"v", json(std::vector<double>(17, 0.1))}}},
        {"512 numbers nested", {{"a", {{"b", json(std::vector<float>(512, 0.1f))}}}}},
        {"17 ints top level", json(std::vector<int>(17, 1))},
        {"binary", {{"blob", json::binary({1, 2, 3})}}},
    };
    for (const auto& [name, details] : cases) {
        SCOPED_TRACE(name);
        // Captured by name: clang before 16 cannot capture a structured binding.
        expect_error_code(fp::ErrorCode::invalid_argument, [&details = details] { fp::check_no_biometrics(details); });
    }
}
