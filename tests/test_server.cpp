// `faceproof serve` against a real server on loopback (in-process, a real SQLite file): the API,
// authentication and roles, tenant isolation, malformed requests, admission (503, 429), and every
// response checked against the OpenAPI document the server publishes.
#include <gtest/gtest.h>

#include <httplib.h>

#include <future>
#include <set>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "faceproof/api_keys.hpp"
#include "faceproof/crypto.hpp"
#include "faceproof/engine.hpp"
#include "faceproof/server.hpp"
#include "server/admission.hpp"
#include "document_builder.hpp"
#include "document_pki.hpp"
#include "test_server_support.hpp"
#include "test_support.hpp"

namespace fp = faceproof;
using nlohmann::json;

namespace {

// --- a minimal OpenAPI 3 checker: $ref, type, required, properties, items, enum, oneOf ---------
class OpenApi {
public:
    explicit OpenApi(json doc) : doc_(std::move(doc)) {}

    // Empty when body is a documented response of (method, path template) with this status.
    std::string check(const std::string& method, const std::string& path, int status, const json& body) const {
        const auto& paths = doc_.at("paths");
        if (!paths.contains(path)) return "path " + path + " is not documented";
        std::string m = method;
        for (auto& c : m) c = static_cast<char>(std::tolower(c));
        if (!paths[path].contains(m)) return method + " " + path + " is not documented";
        const auto& responses = paths[path][m].at("responses");
        if (!responses.contains(std::to_string(status)))
            return method + " " + path + ": status " + std::to_string(status) + " is not documented";
        json response = resolve(responses[std::to_string(status)]);
        if (!response.contains("content")) return {};
        return validate(resolve(response["content"]["application/json"]["schema"]), body, "$");
    }
    const json& doc() const { return doc_; }

private:
    json resolve(const json& node) const {
        if (!node.is_object() || !node.contains("$ref")) return node;
        std::string ref = node["$ref"].get<std::string>().substr(2);  // "#/a/b" -> "a/b"
        const json* at = &doc_;
        for (std::size_t start = 0; start <= ref.size();) {
            const auto slash = ref.find('/', start);
            at = &at->at(ref.substr(start, slash - start));
            if (slash == std::string::npos) break;
            start = slash + 1;
        }
        return resolve(*at);
    }
    std::string validate(const json& schema_in, const json& v, const std::string& where) const {
        const json schema = resolve(schema_in);
        if (schema.contains("oneOf")) {
            for (const auto& alt : schema["oneOf"])
                if (validate(alt, v, where).empty()) return {};
            return where + ": matches no alternative";
        }
        if (schema.contains("type")) {
            const std::string t = schema["type"];
            const bool ok = (t == "object" && v.is_object()) || (t == "array" && v.is_array()) ||
                            (t == "string" && v.is_string()) || (t == "boolean" && v.is_boolean()) ||
                            (t == "integer" && v.is_number_integer()) || (t == "number" && v.is_number());
            if (!ok) return where + ": expected " + t + ", got " + v.dump().substr(0, 80);
        }
        if (schema.contains("enum") && std::find(schema["enum"].begin(), schema["enum"].end(), v) == schema["enum"].end())
            return where + ": " + v.dump() + " is not one of " + schema["enum"].dump();
        if (v.is_object()) {
            const json required = schema.value("required", json::array());
            const json properties = schema.value("properties", json::object());
            for (const auto& r : required)
                if (!v.contains(r.get<std::string>())) return where + ": missing " + r.get<std::string>();
            for (const auto& [k, sub] : properties.items())
                if (v.contains(k))
                    if (auto e = validate(sub, v[k], where + "." + k); !e.empty()) return e;
        }
        if (v.is_array() && schema.contains("items"))
            for (std::size_t i = 0; i < v.size(); ++i)
                if (auto e = validate(schema["items"], v[i], where + "[" + std::to_string(i) + "]"); !e.empty()) return e;
        return {};
    }
    json doc_;
};

std::string jpeg(const cv::Mat& image) {
    std::vector<std::uint8_t> out;
    cv::imencode(".jpg", image, out, {cv::IMWRITE_JPEG_QUALITY, 90});
    return {out.begin(), out.end()};
}

std::string base64(const std::string& bytes) {
    static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        const unsigned n = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 | (unsigned char)bytes[i + 2];
        out += {t[n >> 18], t[(n >> 12) & 63], t[(n >> 6) & 63], t[n & 63]};
    }
    if (i + 1 == bytes.size()) {
        const unsigned n = (unsigned char)bytes[i] << 16;
        out += {t[n >> 18], t[(n >> 12) & 63], '=', '='};
    } else if (i + 2 == bytes.size()) {
        const unsigned n = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8;
        out += {t[n >> 18], t[(n >> 12) & 63], t[(n >> 6) & 63], '='};
    }
    return out;
}

using fptest::RunningServer;

class ServerTest : public fptest::ModelTest<ServerTest> {
public:
    static void set_up_suite() {
        // The CSCA trust store of document checks, from the PKI made at test time.
        trust_dir_ = new fptest::TempDir("faceproof-server-trust");
        fptest::write_pki_file(trust_dir_->path() / "csca.pem", fptest::pem_of(fptest::document_pki().csca_rsa.cert.get()));
        fp::ServerConfig config;
        config.workers = 2;
        config.max_body_bytes = 8u << 20;
        config.trust_store = trust_dir_->path();
        server_ = new RunningServer(config);
        operator_key_ = server_->key("acme", fp::ApiRole::operator_role);
        admin_key_ = server_->key("acme", fp::ApiRole::admin);
        other_key_ = server_->key("beta", fp::ApiRole::operator_role);
        const auto& [photo, faces, templates] = fptest::group_photo();
        for (int i = 0; i < 2; ++i) {
            const cv::Mat crop = fptest::crop(photo, fptest::grow_box(faces[i].box, 0.6, photo.size()));
            faces_.push_back(jpeg(crop));
            seconds_.push_back(jpeg(fptest::degraded_copy(crop)));
            const auto bytes = jpeg(crop);
            portraits_.push_back(fptest::dg2_from_image(std::vector<std::uint8_t>(bytes.begin(), bytes.end()), "jpeg",
                                                        static_cast<std::uint16_t>(crop.cols),
                                                        static_cast<std::uint16_t>(crop.rows), fptest::Encoding::iso19794_5));
        }
        dg1_ = fptest::dg1_from_mrz(fptest::td3_mrz("AB1234567", "HOLDER<<ANNA"));
        sod_ = fptest::make_sod({{1, dg1_}, {2, portraits_[0]}}, fptest::document_pki().ds_pss);
        auto c = server_->client();
        const auto r = c.Get("/v1/openapi.json");
        openapi_ = new OpenApi(json::parse(r ? r->body : "{}"));
    }
    static void TearDownTestSuite() {
        delete server_;
        delete openapi_;
        delete trust_dir_;
        server_ = nullptr;
        openapi_ = nullptr;
    }

protected:

    static httplib::Headers auth(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

    // Sends, checks the response against the OpenAPI document, returns status and JSON body.
    std::pair<int, json> call(const std::string& method, const std::string& path, const std::string& templ,
                              const httplib::Headers& headers, const httplib::MultipartFormDataItems* form = nullptr,
                              const std::string& body = {}, const std::string& type = {}) {
        auto c = server_->client();
        httplib::Result r = method == "GET"      ? c.Get(path, headers)
                            : method == "DELETE" ? c.Delete(path, headers)
                            : form               ? c.Post(path, headers, *form)
                                                 : c.Post(path, headers, body, type);
        if (!r) {
            ADD_FAILURE() << method << " " << path << ": no response (" << httplib::to_string(r.error()) << ")";
            return {0, json()};
        }
        json j = json::parse(r->body, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << path << " answered non-JSON: " << r->body.substr(0, 200);
        EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
        const std::string problem = openapi_->check(method, templ, r->status, j);
        EXPECT_TRUE(problem.empty()) << method << " " << path << " -> " << r->status << ": " << problem << "\n"
                                     << j.dump().substr(0, 400);
        if (r->status >= 400) {
            EXPECT_TRUE(j.contains("error") && j["error"].contains("code") && j["error"].contains("message")) << j.dump();
        }
        return {r->status, j};
    }
    static httplib::MultipartFormDataItems form(std::initializer_list<std::pair<std::string, std::string>> files,
                                                std::initializer_list<std::pair<std::string, std::string>> fields = {}) {
        httplib::MultipartFormDataItems items;
        for (const auto& [name, bytes] : files) items.push_back({name, bytes, name + ".jpg", "image/jpeg"});
        for (const auto& [name, value] : fields) items.push_back({name, value, "", ""});
        return items;
    }
    static std::string consent() {
        return R"({"purpose":"identity-proofing","legal_basis":"consent","notice_version":"v1",)"
               R"("given_at":"2026-01-01T00:00:00Z","expires_at":"2099-01-01T00:00:00Z"})";
    }

    static inline std::string operator_key_, admin_key_, other_key_;
    static inline RunningServer* server_ = nullptr;
    static inline OpenApi* openapi_ = nullptr;
    static inline std::vector<std::string> faces_, seconds_;
    // A chip document of person 0 (EF.SOD over DG1 and portraits_[0]); portraits_[1] is person 1's DG2.
    static inline fptest::TempDir* trust_dir_ = nullptr;
    static inline std::vector<std::uint8_t> dg1_, sod_;
    static inline std::vector<std::vector<std::uint8_t>> portraits_;
    static std::string text(const std::vector<std::uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }
};

TEST_F(ServerTest, HealthReadinessMetricsAndTheOpenApiDocument) {
    EXPECT_EQ(call("GET", "/healthz", "/healthz", {}).second["status"], "ok");
    EXPECT_EQ(call("GET", "/readyz", "/readyz", {}).second["status"], "ready");
    // Every route the server has is in the document, and nothing else.
    std::set<std::string> documented;
    for (const auto& [path, ops] : openapi_->doc()["paths"].items())
        for (const auto& [method, _] : ops.items())
            if (method != "parameters") documented.insert(method + " " + path);
    const std::set<std::string> served{"post /v1/verify", "post /v1/detect", "post /v1/quality", "post /v1/liveness",
                                       "post /v1/documents/check", "post /v1/liveness/sessions",
                                       "get /v1/liveness/sessions/{id}", "post /v1/liveness/sessions/{id}/capture",
                                       "post /v1/subjects", "get /v1/subjects/{ref}", "delete /v1/subjects/{ref}",
                                       "post /v1/subjects/{ref}/templates", "post /v1/search", "get /v1/audit",
                                       "get /v1/openapi.json", "get /healthz", "get /readyz", "get /metrics"};
    EXPECT_EQ(documented, served);
    call("POST", "/v1/detect", "/v1/detect", auth(operator_key_), nullptr, R"({"image":")" + base64(faces_[0]) + "\"}",
         "application/json");
    auto c = server_->client();
    const auto metrics = c.Get("/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_NE(metrics->body.find("faceproof_http_requests_total{route=\"/v1/detect\",method=\"POST\",status=\"200\"}"),
              std::string::npos);
    EXPECT_NE(metrics->body.find("faceproof_http_request_duration_seconds_bucket{route=\"/v1/detect\",le=\"+Inf\"}"),
              std::string::npos);
    EXPECT_NE(metrics->body.find("faceproof_pipeline_stage_seconds_count{stage=\"detect\"}"), std::string::npos);
    EXPECT_NE(metrics->body.find("faceproof_queue_depth "), std::string::npos);
    const auto page = c.Get("/");
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 200);
    EXPECT_NE(page->body.find("<html"), std::string::npos);
    EXPECT_NE(page->get_header_value("Content-Security-Policy").find("default-src 'self'"), std::string::npos);
}

TEST_F(ServerTest, VerifyMultipartAndJsonAgree) {
    const auto f = form({{"reference", faces_[0]}, {"probe", seconds_[0]}}, {{"require_liveness", "false"}});
    const auto [status, j] = call("POST", "/v1/verify", "/v1/verify", auth(operator_key_), &f);
    ASSERT_EQ(status, 200) << j.dump();
    EXPECT_TRUE(j["face_match"]);
    const std::string body = json{{"reference", "data:image/jpeg;base64," + base64(faces_[0])},
                                  {"probe", json::array({base64(seconds_[0])})},
                                  {"require_liveness", false}}
                                 .dump();
    const auto [status2, j2] = call("POST", "/v1/verify", "/v1/verify", auth(operator_key_), nullptr, body, "application/json");
    ASSERT_EQ(status2, 200) << j2.dump();
    EXPECT_DOUBLE_EQ(j["similarity"].get<double>(), j2["similarity"].get<double>());
    const auto other = form({{"reference", faces_[0]}, {"probe", faces_[1]}});
    EXPECT_FALSE(call("POST", "/v1/verify", "/v1/verify", auth(operator_key_), &other).second["match"]);
}

TEST_F(ServerTest, AuthenticationAndRoles) {
    const auto f = form({{"image", faces_[0]}});
    EXPECT_EQ(call("POST", "/v1/detect", "/v1/detect", {}, &f).first, 401);
    EXPECT_EQ(call("POST", "/v1/detect", "/v1/detect", auth("fpk_0000000000000000_" + std::string(64, '0')), &f).first, 401);
    EXPECT_EQ(call("POST", "/v1/detect", "/v1/detect", {{"Authorization", "Basic abc"}}, &f).first, 401);
    const std::string revoked = server_->key("acme", fp::ApiRole::operator_role);
    {
        auto store = fp::Store::open(server_->db());
        ASSERT_TRUE(store->revoke_api_key(revoked.substr(4, 16), "2026-01-01T00:00:00Z"));
    }
    EXPECT_EQ(call("POST", "/v1/detect", "/v1/detect", auth(revoked), &f).first, 401);
    EXPECT_EQ(call("GET", "/v1/audit", "/v1/audit", auth(operator_key_)).first, 403);
    const auto [status, audit] = call("GET", "/v1/audit?limit=5", "/v1/audit", auth(admin_key_));
    EXPECT_EQ(status, 200);
    EXPECT_LE(audit["entries"].size(), 5u);
    EXPECT_EQ(call("GET", "/v1/audit?limit=x", "/v1/audit", auth(admin_key_)).first, 400);
}

TEST_F(ServerTest, EnrolSearchDeleteAndTenantIsolation) {
    const auto enrol = form({{"image", faces_[0]}}, {{"subject", "cust-42"}, {"consent", consent()}});
    auto [status, e] = call("POST", "/v1/subjects", "/v1/subjects", auth(operator_key_), &enrol);
    // Group-photo crops may fail the selfie profile: enrol with the document profile if so.
    if (status == 200 && !e["enrolled"]) {
        const auto doc = form({{"image", faces_[0]}}, {{"subject", "cust-42"}, {"consent", consent()}, {"profile", "document"}});
        std::tie(status, e) = call("POST", "/v1/subjects", "/v1/subjects", auth(operator_key_), &doc);
    }
    ASSERT_EQ(status, 201) << e.dump();
    EXPECT_EQ(call("POST", "/v1/subjects", "/v1/subjects", auth(operator_key_), &enrol).first, 409);

    const auto probe = form({{"image", seconds_[0]}});
    const auto [s1, found] = call("POST", "/v1/search", "/v1/search", auth(operator_key_), &probe);
    ASSERT_EQ(s1, 200);
    ASSERT_TRUE(found["found"]) << found.dump();
    EXPECT_EQ(found["candidates"][0]["subject"], "cust-42");
    EXPECT_EQ(call("GET", "/v1/subjects/cust-42", "/v1/subjects/{ref}", auth(operator_key_)).second["subject"], "cust-42");

    // Tenant beta sees nothing of acme's.
    EXPECT_FALSE(call("POST", "/v1/search", "/v1/search", auth(other_key_), &probe).second["found"]);
    EXPECT_EQ(call("GET", "/v1/subjects/cust-42", "/v1/subjects/{ref}", auth(other_key_)).first, 404);
    EXPECT_EQ(call("DELETE", "/v1/subjects/cust-42", "/v1/subjects/{ref}", auth(other_key_)).first, 404);

    const auto more = form({{"image", seconds_[0]}}, {{"profile", "document"}});
    EXPECT_EQ(call("POST", "/v1/subjects/cust-42/templates", "/v1/subjects/{ref}/templates", auth(operator_key_), &more).first, 201);
    EXPECT_EQ(call("POST", "/v1/subjects/nobody/templates", "/v1/subjects/{ref}/templates", auth(operator_key_), &more).first, 404);
    EXPECT_TRUE(call("DELETE", "/v1/subjects/cust-42", "/v1/subjects/{ref}", auth(operator_key_)).second["deleted"]);
    EXPECT_EQ(call("GET", "/v1/subjects/cust-42", "/v1/subjects/{ref}", auth(operator_key_)).first, 404);
    EXPECT_FALSE(call("POST", "/v1/search", "/v1/search", auth(operator_key_), &probe).second["found"]);
    // The decisions are in the tenant's audit trail.
    const auto audit = call("GET", "/v1/audit?limit=1000", "/v1/audit", auth(admin_key_)).second;
    std::set<std::string> actions;
    for (const auto& entry : audit["entries"]) actions.insert(entry["action"].get<std::string>());
    for (const char* a : {"enrol", "search", "add_templates", "delete"}) EXPECT_TRUE(actions.count(a)) << a;
}

TEST_F(ServerTest, MalformedRequestsGetJsonErrorsAndTheServerKeepsServing) {
    const auto h = auth(operator_key_);
    EXPECT_EQ(call("POST", "/v1/verify", "/v1/verify", h, nullptr, "{not json", "application/json").first, 400);
    EXPECT_EQ(call("POST", "/v1/verify", "/v1/verify", h, nullptr, "[1,2]", "application/json").first, 400);
    EXPECT_EQ(call("POST", "/v1/verify", "/v1/verify", h, nullptr, "reference=x", "text/plain").first, 415);
    EXPECT_EQ(call("POST", "/v1/verify", "/v1/verify", h, nullptr, R"({"reference":"aGVsbG8="})", "application/json").first, 400);
    EXPECT_EQ(call("POST", "/v1/verify", "/v1/verify", h, nullptr, R"({"reference":"%%%","probe":"x"})", "application/json").first, 400);
    EXPECT_EQ(call("POST", "/v1/verify", "/v1/verify", h, nullptr, R"({"reference":7,"probe":"x"})", "application/json").first, 400);
    const auto junk = form({{"image", std::string(5000, 'x')}});
    EXPECT_EQ(call("POST", "/v1/detect", "/v1/detect", h, &junk).first, 422);
    const auto truncated = form({{"image", faces_[0].substr(0, faces_[0].size() / 2)}});
    EXPECT_EQ(call("POST", "/v1/detect", "/v1/detect", h, &truncated).first, 422);
    const auto fmr = form({{"reference", faces_[0]}, {"probe", faces_[0]}}, {{"fmr", "0.9"}});
    EXPECT_EQ(call("POST", "/v1/verify", "/v1/verify", h, &fmr).first, 400);
    const auto no_consent = form({{"image", faces_[0]}}, {{"subject", "x"}});
    EXPECT_EQ(call("POST", "/v1/subjects", "/v1/subjects", h, &no_consent).first, 422);

    auto c = server_->client();
    // Over the body limit (8 MiB here).
    const auto big = c.Post("/v1/detect", h, std::string(9u << 20, 'a'), "application/json");
    ASSERT_TRUE(big);
    EXPECT_EQ(big->status, 413);
    EXPECT_EQ(json::parse(big->body, nullptr, false).value("error", json::object()).value("code", ""), "image_too_large");
    // A multipart body cut off in the middle.
    const std::string boundary = "XyZ";
    const std::string cut = "--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n"
                            "Content-Type: image/jpeg\r\n\r\n" + faces_[0].substr(0, 100);
    const auto r = c.Post("/v1/detect", h, cut, "multipart/form-data; boundary=XyZ");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_TRUE(json::parse(r->body, nullptr, false).contains("error")) << r->body;
    // Unknown routes and methods.
    const auto unknown = c.Get("/v2/nothing");
    ASSERT_TRUE(unknown);
    EXPECT_EQ(unknown->status, 404);
    EXPECT_EQ(json::parse(unknown->body)["error"]["code"], "not_found");
    // Still serving.
    EXPECT_EQ(call("GET", "/healthz", "/healthz", {}).first, 200);
}

// Admission: with one worker and no queue, concurrent requests beyond the first get 503 +
// Retry-After; the per-key rate limit answers 429.
TEST(ServerAdmission, OverloadIs503AndRateLimitIs429) {
    if (const auto problem = fptest::engine_prerequisites_problem(); !problem.empty()) FAIL() << problem;
    fp::ServerConfig config;
    config.workers = 1;
    config.queue = 0;
    config.rate_limit_per_minute = 12;
    RunningServer server(config);
    const std::string key = server.key("acme", fp::ApiRole::operator_role);
    const std::string photo = fptest::read_text(fptest::sample_path(2));  // a large group photo: slow enough
    httplib::MultipartFormDataItems f{{"reference", photo, "a.jpg", "image/jpeg"}, {"probe", photo, "b.jpg", "image/jpeg"}};
    std::vector<std::future<std::pair<int, std::string>>> replies;
    for (int i = 0; i < 6; ++i)
        replies.push_back(std::async(std::launch::async, [&] {
            auto c = server.client();
            const auto r = c.Post("/v1/verify", {{"Authorization", "Bearer " + key}}, f);
            return r ? std::make_pair(r->status, r->get_header_value("Retry-After")) : std::make_pair(0, std::string());
        }));
    int ok = 0, busy = 0;
    for (auto& r : replies) {
        const auto [status, retry] = r.get();
        if (status == 200) ++ok;
        if (status == 503) {
            ++busy;
            EXPECT_FALSE(retry.empty());
        }
    }
    EXPECT_GE(ok, 1);
    EXPECT_GE(busy, 1);
    EXPECT_EQ(ok + busy, 6);
    // 6 used of 12 per minute: the next 6 pass admission, then 429 with Retry-After.
    auto c = server.client();
    int limited = 0;
    for (int i = 0; i < 8; ++i) {
        const auto r = c.Get("/v1/subjects/nobody", {{"Authorization", "Bearer " + key}});
        ASSERT_TRUE(r);
        if (r->status == 429) {
            ++limited;
            EXPECT_FALSE(r->get_header_value("Retry-After").empty());
            EXPECT_EQ(json::parse(r->body)["error"]["code"], "rate_limited");
        }
    }
    EXPECT_EQ(limited, 2);
}

TEST(ServerAdmission, RateLimiterWindows) {
    using namespace std::chrono;
    const auto t0 = fp::server::Clock::now();
    fp::server::RateLimiter limiter(2);
    EXPECT_EQ(limiter.admit("k", t0), 0);
    EXPECT_EQ(limiter.admit("k", t0 + seconds(1)), 0);
    EXPECT_GT(limiter.admit("k", t0 + seconds(2)), 0);
    EXPECT_EQ(limiter.admit("k", t0 + seconds(61)), 0);
}

// --- documents (ICAO 9303 chip files) ---------------------------------------------------------------

TEST_F(ServerTest, DocumentCheckValidTamperedAndMalformed) {
    const auto genuine = form({{"sod", text(sod_)}, {"dg1", text(dg1_)}, {"dg2", text(portraits_[0])}});
    const auto [status, j] = call("POST", "/v1/documents/check", "/v1/documents/check", auth(operator_key_), &genuine);
    ASSERT_EQ(status, 200) << j.dump();
    EXPECT_EQ(j["status"], "valid") << j.dump();
    EXPECT_EQ(j["checks"]["chain"], "valid");
    EXPECT_EQ(j["mrz"]["primary_identifier"], "HOLDER");

    const auto swapped = form({{"sod", text(sod_)}, {"dg1", text(dg1_)}, {"dg2", text(portraits_[1])}});
    const auto [status2, j2] = call("POST", "/v1/documents/check", "/v1/documents/check", auth(operator_key_), &swapped);
    ASSERT_EQ(status2, 200) << j2.dump();
    EXPECT_EQ(j2["status"], "invalid");
    EXPECT_EQ(j2["reasons"], json::array({"DG2_HASH_MISMATCH"}));

    // JSON base64 fields, the SOD cut in half: no decision, 422 naming the file.
    const std::string body = json{{"sod", base64(text(sod_).substr(0, sod_.size() / 2))},
                                  {"dg1", base64(text(dg1_))},
                                  {"dg2", base64(text(portraits_[0]))}}
                                 .dump();
    const auto [status3, j3] = call("POST", "/v1/documents/check", "/v1/documents/check", auth(operator_key_), nullptr,
                                    body, "application/json");
    EXPECT_EQ(status3, 422) << j3.dump();
    EXPECT_EQ(j3["error"]["code"], "document_malformed");
    EXPECT_NE(j3["error"]["message"].get<std::string>().find("EF.SOD"), std::string::npos) << j3.dump();

    const auto missing = form({{"sod", text(sod_)}, {"dg1", text(dg1_)}});
    EXPECT_EQ(call("POST", "/v1/documents/check", "/v1/documents/check", auth(operator_key_), &missing).first, 400);

    // Audited without the number or the name, with a keyed pseudonym of the number.
    auto c = server_->client();
    const auto audit = c.Get("/v1/audit?limit=1000", auth(admin_key_));
    ASSERT_TRUE(audit);
    EXPECT_EQ(audit->body.find("AB1234567"), std::string::npos);
    EXPECT_EQ(audit->body.find("HOLDER"), std::string::npos);
    bool found = false;
    const json entries = json::parse(audit->body)["entries"];
    for (const auto& e : entries)
        if (e["action"] == "document_check" && e["outcome"] == "valid") {
            found = true;
            EXPECT_EQ(e["details"]["document_number_pseudonym"].get<std::string>().size(), 64u) << e.dump();
        }
    EXPECT_TRUE(found) << audit->body;
}

TEST_F(ServerTest, VerifyAgainstADocumentPortrait) {
    const auto holder = form({{"sod", text(sod_)}, {"dg1", text(dg1_)}, {"dg2", text(portraits_[0])}, {"probe", seconds_[0]}},
                             {{"require_liveness", "false"}});
    const auto [status, j] = call("POST", "/v1/verify", "/v1/verify", auth(operator_key_), &holder);
    ASSERT_EQ(status, 200) << j.dump();
    EXPECT_TRUE(j["accepted"]) << j.dump();
    EXPECT_EQ(j["document"]["status"], "valid");

    const auto other = form({{"sod", text(sod_)}, {"dg1", text(dg1_)}, {"dg2", text(portraits_[0])}, {"probe", seconds_[1]}},
                            {{"require_liveness", "false"}});
    const auto [status2, j2] = call("POST", "/v1/verify", "/v1/verify", auth(operator_key_), &other);
    ASSERT_EQ(status2, 200) << j2.dump();
    EXPECT_FALSE(j2["accepted"]);
    EXPECT_EQ(j2["reasons"], json::array({"NO_MATCH"}));

    // A photo of the printed card with another person's portrait on it.
    const auto card = form({{"sod", text(sod_)}, {"dg1", text(dg1_)}, {"dg2", text(portraits_[0])}, {"probe", seconds_[0]},
                            {"card", faces_[1]}},
                           {{"require_liveness", "false"}});
    const auto [status3, j3] = call("POST", "/v1/verify", "/v1/verify", auth(operator_key_), &card);
    ASSERT_EQ(status3, 200) << j3.dump();
    EXPECT_FALSE(j3["accepted"]);
    EXPECT_FALSE(j3["card"]["match"]);
    EXPECT_EQ(j3["reasons"], json::array({"CARD_PORTRAIT_MISMATCH"}));

    const auto both = form({{"reference", faces_[0]}, {"sod", text(sod_)}, {"dg1", text(dg1_)}, {"dg2", text(portraits_[0])},
                            {"probe", seconds_[0]}});
    EXPECT_EQ(call("POST", "/v1/verify", "/v1/verify", auth(operator_key_), &both).first, 400);
}

TEST_F(ServerTest, DocumentsNeedATrustStore) {
    fp::ServerConfig config;  // no trust_store
    config.workers = 1;
    RunningServer bare(config);
    const std::string key = bare.key("acme", fp::ApiRole::operator_role);
    auto c = bare.client();
    const auto files = form({{"sod", text(sod_)}, {"dg1", text(dg1_)}, {"dg2", text(portraits_[0])}, {"probe", seconds_[0]}});
    for (const char* path : {"/v1/documents/check", "/v1/verify"}) {
        const auto r = c.Post(path, auth(key), files);
        ASSERT_TRUE(r) << path;
        EXPECT_EQ(r->status, 400) << path << ": " << r->body;
        EXPECT_NE(r->body.find("trust store"), std::string::npos) << r->body;
    }
}


// --- Challenge-liveness sessions -------------------------------------------------------------

// A recording of a still photo sent as a session's capture: frames `count`, 100 ms apart.
httplib::MultipartFormDataItems still_capture(const std::string& photo, int count, bool with_colors = false) {
    httplib::MultipartFormDataItems items;
    std::string times, colors;
    for (int i = 0; i < count; ++i) {
        items.push_back({"frame", photo, "frame" + std::to_string(i) + ".jpg", "image/jpeg"});
        times += (i ? "," : "") + std::to_string(i * 100);
        colors += (i ? "," : "") + std::to_string(std::min(i / 4, 5));
    }
    items.push_back({"timestamps_ms", times, "", ""});
    if (with_colors) items.push_back({"color_indices", colors, "", ""});
    return items;
}

TEST_F(ServerTest, LivenessSessionLifecycleTokenScopeAndSingleUse) {
    const auto [created_status, created] =
        call("POST", "/v1/liveness/sessions", "/v1/liveness/sessions", auth(operator_key_), nullptr,
             R"({"mode":"motion_light"})", "application/json");
    ASSERT_EQ(created_status, 201) << created.dump();
    const std::string id = created["session_id"], token = created["client_token"];
    EXPECT_EQ(token.rfind("fpsess_", 0), 0u);
    EXPECT_EQ(created["challenge"]["steps"].size(), 3u);
    EXPECT_GE(created["challenge"]["colors"].size(), 6u);
    const std::string path = "/v1/liveness/sessions/" + id;

    // Seen with its token or a key of its tenant; another tenant, a wrong token, no auth: not found / 401.
    EXPECT_EQ(call("GET", path, "/v1/liveness/sessions/{id}", auth(token)).first, 200);
    const auto [open_status, open] = call("GET", path, "/v1/liveness/sessions/{id}", auth(operator_key_));
    EXPECT_EQ(open_status, 200);
    EXPECT_EQ(open["state"], "open");
    EXPECT_EQ(open["challenge"], created["challenge"]);
    EXPECT_EQ(call("GET", path, "/v1/liveness/sessions/{id}", auth(other_key_)).first, 404);
    EXPECT_EQ(call("GET", path, "/v1/liveness/sessions/{id}", auth("fpsess_" + std::string(64, '0'))).first, 404);
    EXPECT_EQ(call("GET", path, "/v1/liveness/sessions/{id}", {}).first, 401);
    // The token is scoped to its session: no other route takes it.
    EXPECT_EQ(call("POST", "/v1/liveness/sessions", "/v1/liveness/sessions", auth(token), nullptr, "{}",
                   "application/json").first, 401);

    // Malformed captures are refused before the session is touched.
    auto no_times = still_capture(faces_[0], 10, true);
    no_times.erase(std::remove_if(no_times.begin(), no_times.end(), [](const auto& i) { return i.name == "timestamps_ms"; }),
                   no_times.end());
    EXPECT_EQ(call("POST", path + "/capture", "/v1/liveness/sessions/{id}/capture", auth(token), &no_times).first, 400);
    const auto no_colors = still_capture(faces_[0], 10, false);
    EXPECT_EQ(call("POST", path + "/capture", "/v1/liveness/sessions/{id}/capture", auth(token), &no_colors).first, 400);
    EXPECT_EQ(call("GET", path, "/v1/liveness/sessions/{id}", auth(token)).second["state"], "open");

    // A still photo replayed: decided, not live, with the step and light reasons.
    const auto replay = still_capture(faces_[0], 12, true);
    const auto [status, decided] =
        call("POST", path + "/capture", "/v1/liveness/sessions/{id}/capture", auth(token), &replay);
    ASSERT_EQ(status, 200) << decided.dump();
    EXPECT_EQ(decided["decision"], "not_live") << decided.dump();
    const auto reasons = decided["reasons"].get<std::vector<std::string>>();
    EXPECT_NE(std::find(reasons.begin(), reasons.end(), "STEP_MISSING"), reasons.end()) << decided.dump();
    EXPECT_NE(std::find(reasons.begin(), reasons.end(), "LIGHT_NOT_FOLLOWED"), reasons.end()) << decided.dump();
    // Single use: a second capture is a conflict; the result stays readable.
    EXPECT_EQ(call("POST", path + "/capture", "/v1/liveness/sessions/{id}/capture", auth(token), &replay).first, 409);
    const auto [after_status, after] = call("GET", path, "/v1/liveness/sessions/{id}", auth(token));
    EXPECT_EQ(after["state"], "decided");
    EXPECT_EQ(after["result"]["decision"], "not_live");

    // Verification with the session: the token may verify only with its own session, once.
    const auto no_session = form({{"reference", faces_[0]}, {"probe", seconds_[0]}});
    EXPECT_EQ(call("POST", "/v1/verify", "/v1/verify", auth(token), &no_session).first, 401);
    const auto with_session = form({{"reference", faces_[0]}}, {{"liveness_session", id}});
    const auto [verify_status, verified] = call("POST", "/v1/verify", "/v1/verify", auth(token), &with_session);
    ASSERT_EQ(verify_status, 200) << verified.dump();
    EXPECT_FALSE(verified["accepted"]) << verified.dump();
    EXPECT_EQ(verified["liveness"]["session_id"], id);
    EXPECT_EQ(verified["liveness"]["decision"], "not_live");
    EXPECT_EQ(call("POST", "/v1/verify", "/v1/verify", auth(operator_key_), &with_session).first, 409);
}

TEST_F(ServerTest, LivenessSessionsAreIsolatedAndExpire) {
    fp::ServerConfig config;
    config.workers = 1;
    config.liveness_session_ttl_s = 1;
    RunningServer short_lived(config);
    const std::string key = short_lived.key("acme", fp::ApiRole::operator_role);
    const std::string beta = short_lived.key("beta", fp::ApiRole::operator_role);
    auto c = short_lived.client();
    const auto r = c.Post("/v1/liveness/sessions", auth(key), R"({"mode":"motion"})", "application/json");
    ASSERT_TRUE(r && r->status == 201) << (r ? r->body : "no answer");
    const json created = json::parse(r->body);
    const std::string path = "/v1/liveness/sessions/" + std::string(created["session_id"]) + "/capture";
    const auto capture = still_capture(faces_[0], 10);
    // Another tenant's key cannot capture it.
    const auto foreign = c.Post(path, auth(beta), capture);
    ASSERT_TRUE(foreign);
    EXPECT_EQ(foreign->status, 404) << foreign->body;
    std::this_thread::sleep_for(std::chrono::milliseconds(1300));
    const auto late = c.Post(path, auth(std::string(created["client_token"])), capture);
    ASSERT_TRUE(late);
    EXPECT_EQ(late->status, 410) << late->body;
    EXPECT_NE(late->body.find("\"expired\""), std::string::npos) << late->body;
}

TEST_F(ServerTest, FailedLivenessSessionsLockTheSubjectOut) {
    const std::string subject = "session-lockout-" + std::to_string(::getpid());
    const auto replay = still_capture(faces_[0], 9);
    int locked_at = 0;
    for (int attempt = 1; attempt <= 6 && !locked_at; ++attempt) {
        const auto [status, created] = call("POST", "/v1/liveness/sessions", "/v1/liveness/sessions", auth(operator_key_),
                                            nullptr, json{{"subject", subject}}.dump(), "application/json");
        if (status == 429) {
            locked_at = attempt;
            break;
        }
        ASSERT_EQ(status, 201) << created.dump();
        const std::string path = "/v1/liveness/sessions/" + std::string(created["session_id"]) + "/capture";
        const auto [capture_status, decided] =
            call("POST", path, "/v1/liveness/sessions/{id}/capture", auth(std::string(created["client_token"])), &replay);
        ASSERT_EQ(capture_status, 200) << decided.dump();
        EXPECT_EQ(decided["decision"], "not_live");
    }
    EXPECT_EQ(locked_at, 6) << "five failed sessions (lockout_failures) lock the subject out";
}


TEST_F(ServerTest, RacingCapturesOfOneSessionDecideOnce) {
    const auto [status, created] = call("POST", "/v1/liveness/sessions", "/v1/liveness/sessions", auth(operator_key_),
                                        nullptr, "{}", "application/json");
    ASSERT_EQ(status, 201) << created.dump();
    const std::string path = "/v1/liveness/sessions/" + std::string(created["session_id"]) + "/capture";
    const httplib::Headers token = auth(std::string(created["client_token"]));
    const auto capture = still_capture(faces_[0], 12);
    std::vector<int> statuses(3, 0);
    std::vector<std::thread> racers;
    for (std::size_t i = 0; i < statuses.size(); ++i)
        racers.emplace_back([&, i] {
            auto c = server_->client();
            const auto r = c.Post(path, token, capture);
            statuses[i] = r ? r->status : 0;
        });
    for (auto& t : racers) t.join();
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 200), 1);
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 409), 2);
}


TEST_F(ServerTest, IndexSnapshotsAreWrittenAtShutdownSealedAndPrivate) {
    fptest::TempDir snapshots("faceproof-snapshots");
    std::filesystem::path file;
    {
        fp::ServerConfig config;
        config.workers = 1;
        config.gallery_snapshot_dir = snapshots.path();
        RunningServer node(config);
        const std::string key = node.key("acme", fp::ApiRole::operator_role);
        auto c = node.client();
        const auto enrolled = c.Post("/v1/subjects", auth(key),
                                     form({{"image", faces_[0]}}, {{"subject", "snap-1"}, {"consent", consent()}}));
        ASSERT_TRUE(enrolled);
        ASSERT_EQ(enrolled->status, 201) << enrolled->body;
        file = snapshots.path() / "acme.gallery";
    }  // the server stops: the loaded tenant's index is saved
    ASSERT_TRUE(std::filesystem::exists(file)) << "no snapshot at " << file;
    EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::all, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    // Sealed: the subject's reference is not in the file in clear.
    std::ifstream in(file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_GT(bytes.size(), 512u);
    EXPECT_EQ(bytes.find("snap-1"), std::string::npos);
}


TEST_F(ServerTest, LivenessSessionCaptureAsJsonAndItsLimits) {
    const auto [status, created] = call("POST", "/v1/liveness/sessions", "/v1/liveness/sessions", auth(operator_key_),
                                        nullptr, R"({"mode":"motion"})", "application/json");
    ASSERT_EQ(status, 201) << created.dump();
    const std::string path = "/v1/liveness/sessions/" + std::string(created["session_id"]) + "/capture";
    const httplib::Headers token = auth(std::string(created["client_token"]));
    // The frame count is refused before anything is decoded: tiny frames keep the body small.
    cv::Mat tiny_image(16, 16, CV_8UC3, cv::Scalar(90, 120, 160));
    const std::string tiny = jpeg(tiny_image);
    const auto body = [&](int frames, bool backwards, const std::string& frame) {
        json j{{"frame", json::array()}, {"timestamps_ms", json::array()}};
        for (int i = 0; i < frames; ++i) {
            j["frame"].push_back(base64(frame));
            j["timestamps_ms"].push_back(backwards && i == frames - 1 ? 0 : i * 100);
        }
        return j.dump();
    };
    // More frames than liveness_session_max_frames, times going backwards, a mode's field it does not
    // have: 400, and the session stays open for the honest retry.
    EXPECT_EQ(call("POST", path, "/v1/liveness/sessions/{id}/capture", token, nullptr, body(121, false, tiny),
                   "application/json").first, 400);
    EXPECT_EQ(call("POST", path, "/v1/liveness/sessions/{id}/capture", token, nullptr, body(10, true, faces_[0]),
                   "application/json").first, 400);
    json with_colors = json::parse(body(10, false, faces_[0]));
    with_colors["color_indices"] = json::array({0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    EXPECT_EQ(call("POST", path, "/v1/liveness/sessions/{id}/capture", token, nullptr, with_colors.dump(),
                   "application/json").first, 400);
    const auto [decided_status, decided] =
        call("POST", path, "/v1/liveness/sessions/{id}/capture", token, nullptr, body(12, false, faces_[0]), "application/json");
    ASSERT_EQ(decided_status, 200) << decided.dump();
    EXPECT_EQ(decided["decision"], "not_live");
    EXPECT_EQ(decided["frames"].size(), 12u);
}

}  // namespace
