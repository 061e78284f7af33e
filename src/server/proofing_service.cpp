#include "server/proofing_service.hpp"

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "faceproof/crypto.hpp"
#include "faceproof/proofing.hpp"
#include "faceproof/quality.hpp"
#include "faceproof/registry.hpp"
#include "liveness/liveness_json.hpp"
#include "proofing/proofing_json.hpp"
#include "quality/quality_json.hpp"
#include "registry/registry_json.hpp"
#include "report/json_report.hpp"
#include "util/data_dir.hpp"

namespace faceproof::server {
namespace {

// An authenticated key is trusted for this long before the store is asked again, so a revocation
// takes effect within this time on every node.
constexpr auto kKeyCacheTtl = std::chrono::seconds(5);

struct Pipeline {
    std::unique_ptr<Engine> engine;
    std::unique_ptr<QualityAssessor> quality;
    std::unique_ptr<IdentityVerifier> verifier;
};

// The data key: the configured one, else the default key file, created on first start so that
// `faceproof serve` works out of the box on the embedded store.
std::vector<DataKey> load_keys(const ServerConfig& c) {
    std::vector<DataKey> keys;
    if (!DataKey::configured(c.key_file)) {
        const auto file = DataKey::default_file();
        if (file.empty()) return keys;  // no HOME: enrolment will say how to give a key
        create_private_directories(file.parent_path());  // 0700: it holds the key (and the default store)
        DataKey::generate_file(file);
        std::cerr << "faceproof serve: created the data key " << file.string()
                  << " (mode 0600); back it up, and keep it apart from the database where you can\n";
    }
    keys.push_back(DataKey::from_environment_or_file(c.key_file));
    return keys;
}

std::vector<cv::Mat> decode_all(const std::vector<std::vector<std::uint8_t>>& images, const ImageLimits& limits,
                                const std::string& field) {
    std::vector<cv::Mat> out;
    for (std::size_t i = 0; i < images.size(); ++i) {
        try {
            out.push_back(decode_image(images[i], limits));
        } catch (const Error& e) {
            throw Error(e.code(), field + (images.size() > 1 ? " " + std::to_string(i + 1) : "") + ": " + e.what());
        }
    }
    return out;
}

void add_timings(StageTimings& total, const StageTimings& t) {
    for (const auto& [stage, ms] : t) total[stage] += ms;
}

}  // namespace

struct ProofingService::Impl {
    ServerConfig config;
    std::shared_ptr<const ModelSet> models;
    std::unique_ptr<Registry> registry;
    std::mutex auth_mutex;
    std::unique_ptr<Store> auth_store;  // API keys and readiness; the Registry has its own connection
    std::unordered_map<std::string, std::pair<ApiPrincipal, std::chrono::steady_clock::time_point>> key_cache;
    std::unique_ptr<Pool<Pipeline>> pipelines;
    RateLimiter rate_limiter;
    Lockout lockout;
    Metrics* metrics = nullptr;

    explicit Impl(const ServerConfig& c)
        : config(c),
          rate_limiter(c.rate_limit_per_minute),
          lockout(c.lockout_failures, std::chrono::seconds(c.lockout_window_s), std::chrono::seconds(c.lockout_s)) {}

    // A pipeline for this request, or RetryLater{overloaded} when the queue is full.
    std::unique_ptr<Pool<Pipeline>::Lease> pipeline() {
        auto lease = pipelines->acquire();
        if (!lease) throw RetryLater(ErrorCode::overloaded, "every worker is busy and the queue is full", 1);
        metrics->set_queue(pipelines->waiting(), pipelines->busy(), pipelines->size());
        return lease;
    }

    // The `image` fields of an enrolment (at most 10), analysed under the `profile` field.
    std::vector<Capture> enrolment_captures(const RequestBody& body) {
        const auto images = body.required_images("image");
        if (images.size() > 10) throw Error(ErrorCode::invalid_argument, "at most 10 images per request");
        const QualityProfile profile = quality_profile_from_string(body.text("profile").value_or("selfie"));
        std::vector<Capture> captures;
        auto lease = pipeline();
        for (std::size_t i = 0; i < images.size(); ++i)
            captures.push_back(capture(**lease, images[i], profile, "image " + std::to_string(i + 1)));
        return captures;
    }
    static EnrolmentPolicy enrolment_policy(const RequestBody& body) {
        EnrolmentPolicy policy;
        policy.refuse_duplicates = !body.flag("allow_duplicate").value_or(false);
        return policy;
    }

    Capture capture(Pipeline& p, const std::vector<std::uint8_t>& bytes, QualityProfile profile, const std::string& field) {
        try {
            return analyse_capture(*p.engine, *p.quality, bytes, profile, config.image_limits);
        } catch (const Error& e) {
            throw Error(e.code(), field + ": " + e.what());
        }
    }
};

ProofingService::ProofingService(const ServerConfig& config) : impl_(std::make_unique<Impl>(config)) {
    impl_->metrics = &metrics_;
    impl_->models = ModelSet::open(resolve_model_dir(config.models_dir));
    const std::string url = Store::resolve_url(config.db);
    RegistryOptions options;
    options.retain_images = config.retain_images;
    options.index.threads = 1;  // requests already run in parallel; one search, one core
    impl_->registry = Registry::open(Store::open(url), load_keys(config), Calibration::shipped(), options);
    impl_->auth_store = Store::open(url);
    int workers = config.workers > 0 ? config.workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::unique_ptr<Pipeline>> items;
    for (int i = 0; i < workers; ++i) {
        auto p = std::make_unique<Pipeline>();
        p->engine = Engine::create(impl_->models);
        p->quality = QualityAssessor::create(*impl_->models);
        p->verifier = IdentityVerifier::create(impl_->models, Calibration::shipped(), LivenessCalibration::shipped());
        items.push_back(std::move(p));
    }
    impl_->pipelines = std::make_unique<Pool<Pipeline>>(std::move(items), config.queue >= 0 ? config.queue : 2 * workers);
    metrics_.set_queue(0, 0, workers);
}

ProofingService::~ProofingService() = default;

ApiPrincipal ProofingService::authenticate(const std::string& authorization) {
    static const std::string kBearer = "Bearer ";
    if (authorization.rfind(kBearer, 0) != 0)
        throw Error(ErrorCode::unauthorized, "send the API key as \"Authorization: Bearer <key>\"");
    const std::string key = authorization.substr(kBearer.size());
    std::optional<ApiPrincipal> principal;
    {
        std::lock_guard lock(impl_->auth_mutex);
        const auto now = std::chrono::steady_clock::now();
        const auto it = impl_->key_cache.find(key);
        if (it != impl_->key_cache.end() && now - it->second.second < kKeyCacheTtl) {
            principal = it->second.first;
        } else {
            principal = authenticate_api_key(*impl_->auth_store, key);
            if (impl_->key_cache.size() > 10000) impl_->key_cache.clear();
            if (principal) impl_->key_cache[key] = {*principal, now};
            else impl_->key_cache.erase(key);
        }
    }
    if (!principal) throw Error(ErrorCode::unauthorized, "unknown or revoked API key");
    if (const int wait = impl_->rate_limiter.admit(principal->key_id))
        throw RetryLater(ErrorCode::rate_limited, "too many requests for this API key", wait);
    return *principal;
}

void ProofingService::require_admin(const ApiPrincipal& p) {
    if (p.role != ApiRole::admin) throw Error(ErrorCode::forbidden, "this needs an admin API key");
}

Reply ProofingService::verify(const ApiPrincipal& p, const RequestBody& body) {
    const auto reference_bytes = body.required_images("reference");
    if (reference_bytes.size() != 1) throw Error(ErrorCode::invalid_argument, "send exactly one \"reference\" image");
    const auto probe_bytes = body.required_images("probe");
    if (probe_bytes.size() > 16) throw Error(ErrorCode::invalid_argument, "a burst has at most 16 probe frames");
    ProofingOptions options;
    options.fmr = body.number("fmr").value_or(kDefaultFmr);
    options.require_liveness = body.flag("require_liveness").value_or(true);
    Calibration::shipped().threshold_for(options.fmr);  // an uncalibrated fmr is a 400, before any work
    const std::string subject = body.text("subject").value_or("");
    const std::string lock_key = p.tenant + "/" + subject;
    if (!subject.empty())
        if (const int wait = impl_->lockout.locked_for(lock_key))
            throw RetryLater(ErrorCode::rate_limited, "too many failed liveness checks for this subject; locked out", wait);
    const cv::Mat reference = decode_all(reference_bytes, impl_->config.image_limits, "reference").front();
    const std::vector<cv::Mat> probes = decode_all(probe_bytes, impl_->config.image_limits, "probe");
    ProofingResult r;
    {
        auto lease = impl_->pipeline();
        r = (*lease)->verifier->check(reference, probes, options);
    }
    StageTimings stages;
    add_timings(stages, r.match.reference.timings);
    add_timings(stages, r.match.probe.timings);
    metrics_.observe_stages(stages);
    if (!subject.empty()) {
        if (r.probe.liveness.live) impl_->lockout.record_success(lock_key);
        else impl_->lockout.record_failure(lock_key);
    }
    impl_->registry->record(p.actor(), p.tenant, "verify", subject, r.accepted ? "match" : "no_match",
                            proofing_audit_details(r));
    return {200, proofing_json(r)};
}

Reply ProofingService::detect(const ApiPrincipal&, const RequestBody& body) {
    const cv::Mat image = decode_all(body.required_images("image"), impl_->config.image_limits, "image").front();
    StageTimings timings;
    std::vector<Face> faces;
    {
        auto lease = impl_->pipeline();
        faces = (*lease)->engine->detect(image, &timings);
    }
    metrics_.observe_stages(timings);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& f : faces) list.push_back(face_json(f, false));
    return {200, {{"faces", list}, {"width", image.cols}, {"height", image.rows}}};
}

Reply ProofingService::quality(const ApiPrincipal&, const RequestBody& body) {
    const cv::Mat image = decode_all(body.required_images("image"), impl_->config.image_limits, "image").front();
    const QualityProfile profile = quality_profile_from_string(body.text("profile").value_or("selfie"));
    auto lease = impl_->pipeline();
    const auto faces = (*lease)->engine->detect(image);
    return {200, quality_json((*lease)->quality->assess(image, faces, profile))};
}

Reply ProofingService::liveness(const ApiPrincipal&, const RequestBody& body) {
    const auto frames = decode_all(body.required_images("image"), impl_->config.image_limits, "image");
    if (frames.size() > 16) throw Error(ErrorCode::invalid_argument, "a burst has at most 16 frames");
    auto lease = impl_->pipeline();
    return {200, liveness_json((*lease)->verifier->assess_probe(frames).liveness)};
}

Reply ProofingService::enrol(const ApiPrincipal& p, const RequestBody& body) {
    const std::string reference = body.required_text("subject");
    const auto consent_value = body.json("consent");
    if (!consent_value) throw Error(ErrorCode::consent_invalid, "missing field \"consent\" (the consent record)");
    const Consent consent = consent_from_json(*consent_value);
    const std::vector<Capture> captures = impl_->enrolment_captures(body);
    const EnrolmentResult r =
        impl_->registry->enrol(p.actor(), p.tenant, reference, consent, captures, Impl::enrolment_policy(body));
    nlohmann::json json = enrolment_json(r, captures);
    json["subject"] = reference;
    return {r.enrolled ? 201 : 200, json};
}

Reply ProofingService::add_templates(const ApiPrincipal& p, const std::string& reference, const RequestBody& body) {
    const std::vector<Capture> captures = impl_->enrolment_captures(body);
    const EnrolmentResult r =
        impl_->registry->add_templates(p.actor(), p.tenant, reference, captures, Impl::enrolment_policy(body));
    nlohmann::json json = enrolment_json(r, captures);
    json["subject"] = reference;
    return {r.enrolled ? 201 : 200, json};
}

Reply ProofingService::subject(const ApiPrincipal& p, const std::string& reference) {
    const auto s = impl_->registry->subject(p.tenant, reference);
    if (!s) throw Error(ErrorCode::not_found, "no subject '" + reference + "'");
    return {200, subject_json(*s)};
}

Reply ProofingService::remove(const ApiPrincipal& p, const std::string& reference) {
    if (!impl_->registry->remove(p.actor(), p.tenant, reference))
        throw Error(ErrorCode::not_found, "no subject '" + reference + "'");
    return {200, {{"subject", reference}, {"deleted", true}}};
}

Reply ProofingService::search(const ApiPrincipal& p, const RequestBody& body) {
    const auto images = body.required_images("image");
    if (images.size() != 1) throw Error(ErrorCode::invalid_argument, "send exactly one \"image\"");
    SearchOptions options;
    if (const auto top = body.number("top")) {
        if (*top < 1 || *top > 100 || *top != std::floor(*top))
            throw Error(ErrorCode::invalid_argument, "\"top\" must be an integer from 1 to 100");
        options.top = static_cast<std::size_t>(*top);
    }
    options.search_fmr = body.number("fmr").value_or(options.search_fmr);
    Capture probe;
    {
        auto lease = impl_->pipeline();
        probe = impl_->capture(**lease, images.front(), QualityProfile::selfie, "image");
    }
    probe.encoded.clear();  // a probe is never kept
    const SearchResult r = impl_->registry->search(p.actor(), p.tenant, probe, options);
    return {200, search_json(r)};
}

Reply ProofingService::audit(const ApiPrincipal& p, std::int64_t after, std::int64_t limit) {
    require_admin(p);
    if (after < 0 || limit < 0 || limit > 1000)
        throw Error(ErrorCode::invalid_argument, "after must be >= 0 and limit from 0 to 1000");
    nlohmann::json entries = nlohmann::json::array();
    for (const auto& e : impl_->registry->audit(p.tenant, after, limit)) entries.push_back(audit_entry_json(e));
    return {200, {{"entries", entries}}};
}

bool ProofingService::ready() {
    try {
        std::lock_guard lock(impl_->auth_mutex);
        impl_->auth_store->last_change();  // the database answers
        return true;
    } catch (const Error&) {
        return false;
    }
}

void ProofingService::sync() { metrics_.count_sync(impl_->registry->sync()); }

}  // namespace faceproof::server
