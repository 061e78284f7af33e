#include "server/proofing_service.hpp"

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "faceproof/crypto.hpp"
#include "faceproof/proofing.hpp"
#include "faceproof/quality.hpp"
#include "faceproof/registry.hpp"
#include "report/liveness_json.hpp"
#include "report/proofing_json.hpp"
#include "report/quality_json.hpp"
#include "report/registry_json.hpp"
#include "report/json_report.hpp"
#include "server/lockout.hpp"
#include "util/data_dir.hpp"

namespace faceproof::server {
namespace {

// An authenticated key is trusted for this long before the store is asked again, so a revocation
// takes effect within this time on every node.
constexpr auto kKeyCacheTtl = std::chrono::seconds(5);

// A worker's one set of networks: the verifier, whose engine also serves detection, quality and
// captures to enrol.
using Pipeline = IdentityVerifier;

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

// Runs f, naming the image (e.g. "probe 3") in any error it throws: the one image-context wrapper.
template <class F>
auto naming(const std::string& label, F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const Error& e) {
        throw Error(e.code(), label + ": " + e.what());
    }
}

// One image of a request, counted and checked but not decoded yet.
struct PendingImage {
    std::string label;  // "reference", "probe 2", "image 1"
    std::span<const std::uint8_t> bytes;
};

// A field's images after checking their count: nothing is decoded, not even base64 when the
// count is wrong.
std::vector<PendingImage> field_images(const RequestBody& body, const std::string& field, std::size_t min,
                                       std::size_t max) {
    const std::size_t n = body.image_count(field);
    if (n == 0 && min > 0) throw Error(ErrorCode::invalid_argument, "missing image field \"" + field + "\"");
    if (n < min || n > max)
        throw Error(ErrorCode::invalid_argument,
                    min == max ? "send exactly " + std::to_string(min) + " \"" + field + "\" image" + (min > 1 ? "s" : "")
                               : "send " + std::to_string(min) + " to " + std::to_string(max) + " \"" + field +
                                     "\" images (got " + std::to_string(n) + ")");
    std::vector<PendingImage> out;
    const auto images = body.images(field);
    for (std::size_t i = 0; i < images.size(); ++i)
        out.push_back({field + (images.size() > 1 ? " " + std::to_string(i + 1) : ""), images[i]});
    return out;
}

// The per-request decoding budget, from the headers alone: each image within the per-image limits
// and their decoded size together within the request's (413 at once, before any pixel is decoded).
void check_decoding_budget(const std::vector<PendingImage>& images, const ImageLimits& limits, std::size_t budget) {
    std::size_t total = 0;
    for (const auto& image : images) {
        const ImageInfo info = naming(image.label, [&] { return probe_image_within(image.bytes, limits); });
        total += static_cast<std::size_t>(info.width) * static_cast<std::size_t>(info.height) * 3;
    }
    if (total > budget)
        throw Error(ErrorCode::image_too_large,
                    "the request's images decode to " + std::to_string(total >> 20) + " MiB together; the limit is " +
                        std::to_string(budget >> 20) + " MiB per request");
}

cv::Mat decode(const PendingImage& image, const ImageLimits& limits) {
    return naming(image.label, [&] { return decode_image(image.bytes, limits); });
}

void add_timings(StageTimings& total, const StageTimings& t) {
    for (const auto& [stage, ms] : t) total[stage] += ms;
}

LockoutRule rule(int failures, int window_s, int lock_s) {
    return {failures, std::int64_t{window_s} * 1000, std::int64_t{lock_s} * 1000};
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
    std::unique_ptr<LivenessLockout> lockout;
    Metrics* metrics = nullptr;
    // PostgreSQL: deletions wait for a scheduled vacuum (server.hpp compaction_delay_s).
    bool compaction_scheduled = false;
    std::mutex compaction_mutex;
    std::optional<std::chrono::steady_clock::time_point> first_pending_deletion;

    explicit Impl(const ServerConfig& c) : config(c), rate_limiter(c.rate_limit_per_minute) {}

    // A pipeline for this request, or RetryLater{overloaded} when the queue is full.
    std::unique_ptr<Pool<Pipeline>::Lease> pipeline() {
        auto lease = pipelines->acquire();
        if (!lease) throw RetryLater(ErrorCode::overloaded, "every worker is busy and the queue is full", 1);
        metrics->set_queue(pipelines->waiting(), pipelines->busy(), pipelines->size());
        return lease;
    }

    void check_budget(const std::vector<PendingImage>& images) {
        check_decoding_budget(images, config.image_limits, config.max_request_decoded_bytes);
    }

    // The `image` fields of an enrolment (1 to 10), analysed under the `profile` field.
    std::vector<Capture> enrolment_captures(const RequestBody& body) {
        const QualityProfile profile = quality_profile_from_string(body.text("profile").value_or("selfie"));
        const auto images = field_images(body, "image", 1, 10);
        check_budget(images);
        std::vector<Capture> captures;
        auto lease = pipeline();
        for (const auto& image : images) captures.push_back(capture(**lease, image, profile));
        return captures;
    }
    static EnrolmentPolicy enrolment_policy(const RequestBody& body) {
        EnrolmentPolicy policy;
        policy.refuse_duplicates = !body.flag("allow_duplicate").value_or(false);
        return policy;
    }

    Capture capture(Pipeline& p, const PendingImage& image, QualityProfile profile) {
        return naming(image.label,
                      [&] { return analyse_capture(p.engine(), p.quality(), image.bytes, profile, config.image_limits); });
    }

    void check_lockout(const ApiPrincipal& p, const std::string& subject) {
        if (const int wait = lockout->locked_for(p.key_id, p.tenant, subject))
            throw RetryLater(ErrorCode::rate_limited,
                             subject.empty() ? "too many failed liveness checks with this API key; locked out"
                                             : "too many failed liveness checks for this subject or API key; locked out",
                             wait);
    }

    void deleted() {
        if (!compaction_scheduled) return;
        std::lock_guard lock(compaction_mutex);
        if (!first_pending_deletion) first_pending_deletion = std::chrono::steady_clock::now();
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
    impl_->lockout = std::make_unique<LivenessLockout>(
        Store::open(url), rule(config.lockout_failures, config.lockout_window_s, config.lockout_s),
        rule(config.key_lockout_failures, config.key_lockout_window_s, config.key_lockout_s));
    impl_->compaction_scheduled = !impl_->auth_store->erase_deleted();  // PostgreSQL
    int workers = config.workers > 0 ? config.workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::unique_ptr<Pipeline>> items;
    for (int i = 0; i < workers; ++i)
        items.push_back(IdentityVerifier::create(impl_->models, Calibration::shipped(), LivenessCalibration::shipped()));
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
    const auto reference = field_images(body, "reference", 1, 1);
    const auto probes = field_images(body, "probe", 1, 16);
    ProofingOptions options;
    options.fmr = body.number("fmr").value_or(kDefaultFmr);
    options.require_liveness = body.flag("require_liveness").value_or(true);
    Calibration::shipped().threshold_for(options.fmr);  // an uncalibrated fmr is a 400, before any work
    const std::string subject = body.text("subject").value_or("");
    if (!subject.empty()) check_reference(subject);
    impl_->check_lockout(p, subject);
    std::vector<PendingImage> all = reference;
    all.insert(all.end(), probes.begin(), probes.end());
    impl_->check_budget(all);
    ProofingResult r;
    {
        auto lease = impl_->pipeline();
        const cv::Mat reference_image = decode(reference.front(), impl_->config.image_limits);
        std::vector<cv::Mat> probe_images;
        for (const auto& probe : probes) probe_images.push_back(decode(probe, impl_->config.image_limits));
        r = (*lease)->check(reference_image, probe_images, options);
    }
    StageTimings stages;
    add_timings(stages, r.match.reference.timings());
    add_timings(stages, r.match.probe.timings());
    metrics_.observe_stages(stages);
    impl_->lockout->record(p.key_id, p.tenant, subject, r.probe.liveness.live);
    record_verification(*impl_->registry, p.actor(), p.tenant, subject, r);
    return {200, proofing_json(r)};
}

Reply ProofingService::detect(const ApiPrincipal&, const RequestBody& body) {
    const auto images = field_images(body, "image", 1, 1);
    impl_->check_budget(images);
    StageTimings timings;
    std::vector<Face> faces;
    cv::Size size;
    {
        auto lease = impl_->pipeline();
        const cv::Mat image = decode(images.front(), impl_->config.image_limits);
        size = image.size();
        faces = (*lease)->engine().detect(image, &timings);
    }
    metrics_.observe_stages(timings);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& f : faces) list.push_back(face_json(f, false));
    return {200, {{"faces", list}, {"width", size.width}, {"height", size.height}}};
}

Reply ProofingService::quality(const ApiPrincipal&, const RequestBody& body) {
    const QualityProfile profile = quality_profile_from_string(body.text("profile").value_or("selfie"));
    const auto images = field_images(body, "image", 1, 1);
    impl_->check_budget(images);
    auto lease = impl_->pipeline();
    const cv::Mat image = decode(images.front(), impl_->config.image_limits);
    return {200, quality_json((*lease)->quality().assess((*lease)->engine().context(image), profile))};
}

Reply ProofingService::liveness(const ApiPrincipal& p, const RequestBody& body) {
    const auto frames = field_images(body, "image", 1, 16);
    const std::string subject = body.text("subject").value_or("");
    if (!subject.empty()) check_reference(subject);
    impl_->check_lockout(p, subject);
    impl_->check_budget(frames);
    LivenessReport report;
    {
        auto lease = impl_->pipeline();
        std::vector<cv::Mat> images;
        for (const auto& frame : frames) images.push_back(decode(frame, impl_->config.image_limits));
        report = (*lease)->assess_probe(images).liveness;
    }
    impl_->lockout->record(p.key_id, p.tenant, subject, report.live);
    impl_->registry->record(p.actor(), p.tenant, "liveness", subject, report.live ? "live" : "not_live",
                            {{"score", std::round(report.score * 1e4) / 1e4},
                             {"threshold", report.threshold},
                             {"frames", frames.size()},
                             {"reasons", report.reasons}});
    return {200, liveness_json(report)};
}

Reply ProofingService::enrol(const ApiPrincipal& p, const RequestBody& body) {
    const std::string reference = body.required_text("subject");
    check_reference(reference);
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
    check_reference(reference);
    EnrolmentPolicy policy = Impl::enrolment_policy(body);
    if (body.flag("allow_face_mismatch").value_or(false)) {
        require_admin(p);  // adding another person's face to a subject is an administrator's decision
        policy.require_same_face = false;
    }
    const std::vector<Capture> captures = impl_->enrolment_captures(body);
    const EnrolmentResult r = impl_->registry->add_templates(p.actor(), p.tenant, reference, captures, policy);
    for (const auto& reason : r.reasons)
        if (reason.rfind("FACE_MISMATCH", 0) == 0)
            throw Error(ErrorCode::face_mismatch,
                        reason + ": the face is not the subject's (below the verification threshold); nothing stored");
    nlohmann::json json = enrolment_json(r, captures);
    json["subject"] = reference;
    return {r.enrolled ? 201 : 200, json};
}

Reply ProofingService::subject(const ApiPrincipal& p, const std::string& reference) {
    check_reference(reference);
    const auto s = impl_->registry->subject(p.tenant, reference);
    if (!s) throw Error(ErrorCode::not_found, "no subject '" + reference + "'");
    return {200, subject_json(*s)};
}

Reply ProofingService::remove(const ApiPrincipal& p, const std::string& reference) {
    check_reference(reference);
    if (!impl_->registry->remove(p.actor(), p.tenant, reference))
        throw Error(ErrorCode::not_found, "no subject '" + reference + "'");
    impl_->deleted();
    return {200, {{"subject", reference}, {"deleted", true}}};
}

Reply ProofingService::search(const ApiPrincipal& p, const RequestBody& body) {
    const auto images = field_images(body, "image", 1, 1);
    SearchOptions options;
    if (const auto top = body.number("top")) {
        if (*top < 1 || *top > 100 || *top != std::floor(*top))
            throw Error(ErrorCode::invalid_argument, "\"top\" must be an integer from 1 to 100");
        options.top = static_cast<std::size_t>(*top);
    }
    options.search_fmr = body.number("fmr").value_or(options.search_fmr);
    impl_->check_budget(images);
    Capture probe;
    {
        auto lease = impl_->pipeline();
        probe = impl_->capture(**lease, images.front(), QualityProfile::selfie);
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

void ProofingService::maintain() {
    metrics_.count_sync(impl_->registry->sync());
    if (!impl_->compaction_scheduled) return;
    {
        std::lock_guard lock(impl_->compaction_mutex);
        const auto due = std::chrono::duration<double>(impl_->config.compaction_delay_s);
        if (!impl_->first_pending_deletion || std::chrono::steady_clock::now() - *impl_->first_pending_deletion < due)
            return;
        impl_->first_pending_deletion.reset();  // deletions from now on wait for the next round
    }
    impl_->registry->vacuum();
    metrics_.count_compaction();
}

}  // namespace faceproof::server
