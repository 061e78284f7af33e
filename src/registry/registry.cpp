// Registry: enrolment, 1:N search, deletion, purge and key rotation over a Store, with one
// in-memory index per tenant (see include/faceproof/registry.hpp for the contract).
#include "faceproof/registry.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "faceproof/audit_trail.hpp"
#include "faceproof/error.hpp"
#include "faceproof/image.hpp"

namespace faceproof {
namespace {

constexpr std::size_t kMaxTenantLength = 64;
constexpr std::size_t kMaxReferenceLength = 256;
constexpr std::int64_t kSyncBatch = 1000;
constexpr const char* kNoKey =
    "no data key given: pass --key-file FILE or set FACEPROOF_KEY_FILE (`faceproof keys generate FILE` makes one)";

// References are the operator's own identifiers: any printable text without control characters.
void check_reference(const std::string& reference) {
    const bool ok = !reference.empty() && reference.size() <= kMaxReferenceLength &&
                    std::none_of(reference.begin(), reference.end(),
                                 [](unsigned char c) { return c < 0x20 || c == 0x7f; });
    if (!ok)
        throw Error(ErrorCode::invalid_argument,
                    "subject reference must be 1-256 characters without control characters");
}

// Associated data binds each ciphertext to its owner, so a sealed template cannot be moved to
// another subject or tenant by editing the database.
std::string template_ad(const std::string& tenant, const std::string& reference) {
    return "faceproof/template|" + tenant + "|" + reference;
}
std::string image_ad(const std::string& tenant, const std::string& reference) {
    return "faceproof/image|" + tenant + "|" + reference;
}

// One number per template for operators: the mean 0-100 score of the measures that could be
// assessed (0 when none could).
double overall_quality(const QualityReport& q) {
    double sum = 0;
    int n = 0;
    for (const auto& m : q.measures)
        if (m.assessed) sum += m.score, ++n;
    return n ? sum / n : 0.0;
}

double rate_over(double per_comparison, std::size_t comparisons) {
    return -std::expm1(static_cast<double>(comparisons) * std::log1p(-per_comparison));
}

// The per-comparison false-match rate whose whole-search rate over n comparisons is target.
double per_comparison_rate(double target, std::size_t comparisons) {
    return -std::expm1(std::log1p(-target) / static_cast<double>(std::max<std::size_t>(1, comparisons)));
}

struct TenantGallery {
    mutable std::shared_mutex mutex;
    std::unique_ptr<GalleryIndex> index;
    std::unordered_map<std::int64_t, std::string> owner;               // template id -> reference
    std::unordered_map<std::string, std::vector<std::int64_t>> by_subject;  // reference -> template ids
    std::string model_id;  // of every template in the index; empty while it is empty

    std::size_t max_templates_per_subject() const {
        std::size_t m = 1;
        for (const auto& [_, ids] : by_subject) m = std::max(m, ids.size());
        return m;
    }
    void add(std::int64_t id, const std::string& reference, const Template& t) {
        if (owner.count(id)) return;  // already there (a sync re-read the subject first)
        if (!model_id.empty() && t.model_id != model_id)
            throw Error(ErrorCode::template_mismatch, "tenant gallery holds templates of model '" + model_id +
                                                          "', not '" + t.model_id + "'");
        index->add(id, t.values);
        model_id = t.model_id;
        owner[id] = reference;
        by_subject[reference].push_back(id);
    }
    void remove_subject(const std::string& reference) {
        const auto it = by_subject.find(reference);
        if (it == by_subject.end()) return;
        for (std::int64_t id : it->second) {
            index->remove(id);
            owner.erase(id);
        }
        by_subject.erase(it);
        if (owner.empty()) model_id.clear();
    }
};

class RegistryImpl final : public Registry {
public:
    RegistryImpl(std::unique_ptr<Store> store, std::vector<DataKey> keys, Calibration calibration,
                 const RegistryOptions& options)
        : store_(std::move(store)), audit_(*store_), keys_(std::move(keys)), calibration_(std::move(calibration)),
          options_(options) {
        std::lock_guard lock(store_mutex_);
        change_cursor_ = store_->last_change();  // indexes load the current state; follow from here
        if (calibration_.points().empty())
            throw Error(ErrorCode::calibration_invalid, "registry: the calibration has no operating point");
    }

    EnrolmentResult enrol(const std::string& actor, const std::string& tenant, const std::string& reference,
                          const Consent& consent, const std::vector<Capture>& captures,
                          const EnrolmentPolicy& policy) override {
        check_tenant(tenant);
        check_reference(reference);
        return enrol_captures(actor, tenant, reference, &consent, captures, policy);
    }

    EnrolmentResult add_templates(const std::string& actor, const std::string& tenant, const std::string& reference,
                                  const std::vector<Capture>& captures, const EnrolmentPolicy& policy) override {
        check_tenant(tenant);
        check_reference(reference);
        return enrol_captures(actor, tenant, reference, nullptr, captures, policy);
    }

    SearchResult search(const std::string& actor, const std::string& tenant, const Capture& probe,
                        const SearchOptions& options) override {
        check_tenant(tenant);
        if (!probe.face_template) throw Error(ErrorCode::no_face, "search: no face found in the probe image");
        SearchResult r = search_gallery(gallery(tenant), *probe.face_template, options);
        nlohmann::json details = search_details(r);
        details["model_id"] = probe.face_template->model_id;
        record(actor, tenant, "search", r.found() ? r.candidates.front().subject : "",
               r.found() ? "found" : "not_found", details);
        return r;
    }

    std::optional<SubjectInfo> subject(const std::string& tenant, const std::string& reference) override {
        check_tenant(tenant);
        std::optional<Subject> s;
        {
            std::lock_guard lock(store_mutex_);
            s = store_->find(tenant, reference);
        }
        if (!s) return std::nullopt;
        SubjectInfo info{s->tenant, s->reference, s->created_at, s->updated_at, s->consent, {}};
        for (const auto& t : s->templates)
            info.templates.push_back(
                TemplateInfo{t.id, t.model_id, t.created_at, t.key_id, t.quality_score, !t.sealed_image.empty()});
        return info;
    }

    std::vector<std::string> subjects(const std::string& tenant, std::int64_t limit, std::int64_t offset) override {
        check_tenant(tenant);
        std::lock_guard lock(store_mutex_);
        return store_->list(tenant, limit, offset);
    }

    bool remove(const std::string& actor, const std::string& tenant, const std::string& reference) override {
        check_tenant(tenant);
        bool removed = false;
        // A tenant whose index is not loaded has nothing to update (and needs no key to delete).
        const std::shared_ptr<TenantGallery> g = loaded_gallery(tenant);
        {
            // The index follows the store under the tenant's exclusive lock, so no search sees a
            // template the store no longer has.
            std::unique_lock<std::shared_mutex> index_lock;
            if (g) index_lock = std::unique_lock(g->mutex);
            {
                std::lock_guard lock(store_mutex_);
                removed = store_->remove(tenant, reference);
            }
            if (g) g->remove_subject(reference);
        }
        record(actor, tenant, "delete", reference, removed ? "deleted" : "not_found", nlohmann::json::object());
        return removed;
    }

    std::vector<std::string> purge(const std::string& actor, const std::string& now) override {
        const std::string at = now.empty() ? audit_time_now() : now;
        std::vector<std::string> purged;
        {
            std::lock_guard lock(store_mutex_);
            purged = store_->purge_expired(at);
        }
        std::map<std::string, std::vector<std::string>> by_tenant;
        for (const auto& name : purged) {
            const auto slash = name.find('/');
            by_tenant[name.substr(0, slash)].push_back(name.substr(slash + 1));
        }
        for (const auto& [tenant, references] : by_tenant) {
            std::shared_ptr<TenantGallery> g = loaded_gallery(tenant);
            if (g) {
                std::unique_lock index_lock(g->mutex);
                for (const auto& reference : references) g->remove_subject(reference);
            }
            for (const auto& reference : references)
                record(actor, tenant, "purge", reference, "deleted", {{"reason", "consent expired"}, {"at", at}});
        }
        record(actor, "", "purge", "", "done", {{"subjects_deleted", purged.size()}, {"at", at}});
        return purged;
    }

    void rotate_key(const std::string& actor, DataKey new_key) override {
        const std::string new_id = new_key.id();
        std::vector<std::string> old_ids;
        std::int64_t resealed = 0;
        {
            std::unique_lock keys_lock(keys_mutex_);
            for (const auto& k : keys_)
                if (k.id() != new_id) old_ids.push_back(k.id());
            const auto present = std::find_if(keys_.begin(), keys_.end(), [&](const DataKey& k) { return k.id() == new_id; });
            if (present != keys_.end()) keys_.erase(present);
            keys_.insert(keys_.begin(), std::move(new_key));
        }
        try {
            std::lock_guard lock(store_mutex_);
            std::shared_lock keys_lock(keys_mutex_);
            const DataKey& current = current_key();
            store_->reseal_templates([&](const SubjectKey& owner, TemplateRecord& t) {
                if (t.key_id == new_id) return;  // done by an earlier, interrupted run
                const std::string& tenant = owner.tenant;
                const std::string& reference = owner.reference;
                const DataKey& old = key_for(t.key_id);
                auto plain = faceproof::open(old, t.sealed, template_ad(tenant, reference));
                t.sealed = faceproof::seal(current, plain, template_ad(tenant, reference));
                sodium_wipe(plain);
                if (!t.sealed_image.empty()) {
                    auto image = faceproof::open(old, t.sealed_image, image_ad(tenant, reference));
                    t.sealed_image = faceproof::seal(current, image, image_ad(tenant, reference));
                    sodium_wipe(image);
                }
                t.key_id = new_id;
                ++resealed;
            });
        } catch (const Error& e) {
            record(actor, "", "rotate_key", "", "failed",
                   {{"new_key_id", new_id}, {"resealed", resealed}, {"error", std::string(to_string(e.code()))}});
            throw;
        }
        record(actor, "", "rotate_key", "", "done",
               {{"new_key_id", new_id}, {"previous_key_ids", old_ids}, {"resealed", resealed}});
    }

    AuditEntry record(const std::string& actor, const std::string& tenant, const std::string& action,
                      const std::string& subject, const std::string& outcome, const nlohmann::json& details) override {
        std::lock_guard lock(store_mutex_);
        return audit_.append(tenant, actor, action, subject, outcome, details);
    }

    std::vector<AuditEntry> audit(const std::optional<std::string>& tenant, std::int64_t after,
                                  std::int64_t limit) override {
        std::lock_guard lock(store_mutex_);
        return audit_.list(tenant, after, limit);
    }

    AuditCheck verify_audit(std::int64_t* entries) override {
        std::lock_guard lock(store_mutex_);
        return audit_.verify(entries);
    }

    void reload(const std::string& tenant) override {
        check_tenant(tenant);
        auto fresh = load_gallery(tenant);
        std::lock_guard lock(galleries_mutex_);
        galleries_[tenant] = std::move(fresh);
    }

    void vacuum() override {
        std::lock_guard lock(store_mutex_);
        store_->vacuum();
    }

    std::size_t sync() override {
        std::lock_guard sync_lock(sync_mutex_);  // one sync at a time keeps the cursor monotonic
        std::vector<SubjectChange> changes;
        {
            std::lock_guard lock(store_mutex_);
            changes = store_->changes_since(change_cursor_, kSyncBatch);
        }
        if (changes.empty()) return 0;
        if (changes.front().sequence > change_cursor_ + 1) {
            // Entries were pruned while we were not looking: rebuild everything loaded.
            std::vector<std::string> tenants;
            {
                std::lock_guard lock(galleries_mutex_);
                for (const auto& [tenant, _] : galleries_) tenants.push_back(tenant);
            }
            for (const auto& tenant : tenants) reload(tenant);
        } else {
            for (const auto& change : changes) refresh_subject(change.tenant, change.reference);
        }
        change_cursor_ = changes.back().sequence;
        return changes.size();
    }

private:
    // Refusals shared by enrol and add_templates; consent == nullptr means "add to existing".
    EnrolmentResult enrol_captures(const std::string& actor, const std::string& tenant, const std::string& reference,
                                   const Consent* consent, const std::vector<Capture>& captures,
                                   const EnrolmentPolicy& policy) {
        if (captures.empty()) throw Error(ErrorCode::invalid_argument, "enrol: at least one image is needed");
        const char* action = consent ? "enrol" : "add_templates";
        if (!consent) {
            std::lock_guard lock(store_mutex_);
            if (!store_->find(tenant, reference))
                throw Error(ErrorCode::not_found, "no subject '" + reference + "' in tenant " + tenant);
        }
        EnrolmentResult result;
        for (std::size_t i = 0; i < captures.size(); ++i) {
            const std::string image = "image " + std::to_string(i + 1);
            if (!captures[i].face_template) {
                result.reasons.push_back("NO_FACE " + image);
            } else if (policy.require_quality && !captures[i].quality.pass) {
                std::string codes;
                for (const auto& code : captures[i].quality.feedback) codes += " " + code;
                result.reasons.push_back("POOR_QUALITY " + image + ":" + codes);
            }
        }
        TenantGallery& g = gallery(tenant);
        if (result.reasons.empty()) {
            // The duplicate check: does this face already belong to someone else?
            std::map<std::string, double> others;
            SearchResult last;
            for (const auto& c : captures) {
                last = search_gallery(g, *c.face_template, policy.duplicate_search);
                for (const auto& cand : last.candidates)
                    if (cand.match && cand.subject != reference)
                        others[cand.subject] = std::max(others[cand.subject], cand.similarity);
            }
            for (const auto& [subject, similarity] : others) result.duplicates.push_back({subject, similarity, true});
            std::sort(result.duplicates.begin(), result.duplicates.end(),
                      [](const Candidate& a, const Candidate& b) { return a.similarity > b.similarity; });
            if (!result.duplicates.empty() && policy.refuse_duplicates) result.reasons.push_back("DUPLICATE_IDENTITY");
        }
        nlohmann::json details{{"captures", captures.size()}};
        if (!result.duplicates.empty()) {
            nlohmann::json dups = nlohmann::json::array();
            for (const auto& d : result.duplicates)
                dups.push_back({{"subject", d.subject}, {"similarity", std::round(d.similarity * 1e4) / 1e4}});
            details["duplicates"] = dups;
        }
        if (!result.reasons.empty()) {
            details["reasons"] = result.reasons;
            record(actor, tenant, action, reference, "refused", details);
            return result;
        }

        std::vector<TemplateRecord> records;
        {
            std::shared_lock keys_lock(keys_mutex_);
            const DataKey& key = current_key();
            for (const auto& c : captures) {
                TemplateRecord t;
                t.model_id = c.face_template->model_id;
                t.quality_score = overall_quality(c.quality);
                t.key_id = key.id();
                t.sealed = faceproof::seal(key, serialize_template(*c.face_template), template_ad(tenant, reference));
                if (options_.retain_images && !c.encoded.empty())
                    t.sealed_image = faceproof::seal(key, c.encoded, image_ad(tenant, reference));
                records.push_back(std::move(t));
            }
        }
        details["model_id"] = captures.front().face_template->model_id;
        details["captures_retained"] = options_.retain_images;
        try {
            std::unique_lock index_lock(g.mutex);
            std::lock_guard lock(store_mutex_);
            if (consent) {
                Subject s;
                s.tenant = tenant;
                s.reference = reference;
                s.consent = *consent;
                s.templates = records;
                store_->enrol(s);
                const std::optional<Subject> stored = store_->find(tenant, reference);
                if (!stored) throw Error(ErrorCode::store_error, "enrol: the subject vanished after its commit");
                for (const auto& t : stored->templates) result.template_ids.push_back(t.id);
            } else {
                for (const auto& t : records) result.template_ids.push_back(store_->add_template(tenant, reference, t));
            }
            for (std::size_t i = 0; i < captures.size(); ++i)
                g.add(result.template_ids[i], reference, *captures[i].face_template);
        } catch (const Error& e) {
            details["error"] = std::string(to_string(e.code()));
            record(actor, tenant, action, reference, "refused", details);
            throw;
        }
        result.enrolled = true;
        details["stored"] = result.template_ids.size();
        record(actor, tenant, action, reference, "enrolled", details);
        return result;
    }

    SearchResult search_gallery(const TenantGallery& g, const Template& probe, const SearchOptions& options) {
        if (options.top == 0) throw Error(ErrorCode::invalid_argument, "search: top must be at least 1");
        if (!(options.search_fmr > 0 && options.search_fmr < 1))
            throw Error(ErrorCode::invalid_argument, "search: the false-match rate must be in (0, 1)");
        if (probe.model_id != calibration_.model_id())
            throw Error(ErrorCode::template_mismatch, "search: the calibration is for model '" +
                                                          calibration_.model_id() + "', the probe is '" +
                                                          probe.model_id + "'");
        SearchResult r;
        std::shared_lock lock(g.mutex);
        r.gallery_templates = g.index->size();
        r.gallery_subjects = g.by_subject.size();
        r.approximate = g.index->approximate();
        const auto& points = calibration_.points();
        const double lowest = points.front().fmr, highest = points.back().fmr;
        const double wanted = per_comparison_rate(options.search_fmr, r.gallery_templates);
        r.comparison_fmr = std::clamp(wanted, lowest, highest);
        r.threshold_clamped = r.comparison_fmr != wanted;
        r.threshold = calibration_.threshold_for(r.comparison_fmr);
        r.search_fmr = rate_over(r.comparison_fmr, std::max<std::size_t>(1, r.gallery_templates));
        if (r.gallery_templates == 0) return r;
        if (!g.model_id.empty() && g.model_id != probe.model_id)
            throw Error(ErrorCode::template_mismatch,
                        "search: the gallery holds templates of model '" + g.model_id + "'");
        // Near misses are listed down to the calibration's loosest operating point, for review.
        const double review_floor = std::min(r.threshold, calibration_.threshold_for(highest));
        const std::size_t k = options.top * g.max_templates_per_subject();
        std::map<std::string, double> best;
        for (const IndexHit& hit : g.index->search(probe.values, k, static_cast<float>(review_floor))) {
            const std::string& subject = g.owner.at(hit.id);
            const auto it = best.find(subject);
            if (it == best.end() || hit.similarity > it->second) best[subject] = hit.similarity;
        }
        for (const auto& [subject, similarity] : best)
            r.candidates.push_back({subject, similarity, similarity >= r.threshold});
        std::sort(r.candidates.begin(), r.candidates.end(), [](const Candidate& a, const Candidate& b) {
            return a.similarity != b.similarity ? a.similarity > b.similarity : a.subject < b.subject;
        });
        if (r.candidates.size() > options.top) r.candidates.resize(options.top);
        return r;
    }

    static nlohmann::json search_details(const SearchResult& r) {
        auto round4 = [](double v) { return std::round(v * 1e4) / 1e4; };
        return {{"top_similarity", r.candidates.empty() ? 0.0 : round4(r.candidates.front().similarity)},
                {"threshold", r.threshold},
                {"comparison_fmr", r.comparison_fmr},
                {"search_fmr", r.search_fmr},
                {"threshold_clamped", r.threshold_clamped},
                {"gallery_size", r.gallery_templates},
                {"matches", std::count_if(r.candidates.begin(), r.candidates.end(),
                                          [](const Candidate& c) { return c.match; })},
                {"approximate", r.approximate}};
    }

    const DataKey& current_key() const {  // requires keys_mutex_ held
        if (keys_.empty()) throw Error(ErrorCode::key_invalid, kNoKey);
        return keys_.front();
    }
    const DataKey& key_for(const std::string& key_id) const {  // requires keys_mutex_ held
        if (keys_.empty()) throw Error(ErrorCode::key_invalid, kNoKey);
        for (const auto& k : keys_)
            if (k.id() == key_id) return k;
        throw Error(ErrorCode::key_invalid, "a stored template is sealed with data key " + key_id +
                                                ", which was not given (wrong --key-file?)");
    }

    static void sodium_wipe(std::vector<std::uint8_t>& v) {
        volatile std::uint8_t* p = v.data();
        for (std::size_t i = 0; i < v.size(); ++i) p[i] = 0;
        v.clear();
    }

    // Re-reads one subject into a loaded tenant's index (or drops it when it is gone).
    void refresh_subject(const std::string& tenant, const std::string& reference) {
        const std::shared_ptr<TenantGallery> g = loaded_gallery(tenant);
        if (!g) return;  // loaded from the store when first used
        std::unique_lock index_lock(g->mutex);
        std::optional<Subject> s;
        {
            std::lock_guard lock(store_mutex_);
            s = store_->find(tenant, reference);
        }
        g->remove_subject(reference);
        if (!s) return;
        std::shared_lock keys_lock(keys_mutex_);
        for (const auto& record : s->templates) {
            auto plain = faceproof::open(key_for(record.key_id), record.sealed, template_ad(tenant, reference));
            const Template t = parse_template(plain);
            sodium_wipe(plain);
            g->add(record.id, reference, t);
        }
    }

    std::shared_ptr<TenantGallery> load_gallery(const std::string& tenant) {
        auto g = std::make_shared<TenantGallery>();
        g->index = GalleryIndex::create(options_.index);
        std::vector<std::pair<SubjectKey, TemplateRecord>> rows;
        {
            std::lock_guard lock(store_mutex_);
            rows = store_->all_templates(tenant);
        }
        std::shared_lock keys_lock(keys_mutex_);
        for (const auto& [owner, record] : rows) {
            auto plain = faceproof::open(key_for(record.key_id), record.sealed, template_ad(tenant, owner.reference));
            const Template t = parse_template(plain);
            sodium_wipe(plain);
            g->add(record.id, owner.reference, t);
        }
        return g;
    }

    std::shared_ptr<TenantGallery> loaded_gallery(const std::string& tenant) {
        std::lock_guard lock(galleries_mutex_);
        const auto it = galleries_.find(tenant);
        return it == galleries_.end() ? nullptr : it->second;
    }

    // The tenant's index, built from the store on first use.
    TenantGallery& gallery(const std::string& tenant) {
        if (auto g = loaded_gallery(tenant)) return *g;
        auto fresh = load_gallery(tenant);
        std::lock_guard lock(galleries_mutex_);
        auto& slot = galleries_[tenant];
        if (!slot) slot = std::move(fresh);  // another thread may have loaded it meanwhile
        return *slot;
    }

    std::mutex store_mutex_;  // Store is not thread-safe
    std::unique_ptr<Store> store_;
    AuditTrail audit_;
    mutable std::shared_mutex keys_mutex_;
    std::vector<DataKey> keys_;  // front() seals
    const Calibration calibration_;
    const RegistryOptions options_;
    std::mutex galleries_mutex_;
    std::map<std::string, std::shared_ptr<TenantGallery>> galleries_;
    std::mutex sync_mutex_;
    std::int64_t change_cursor_ = 0;
};

}  // namespace

void check_tenant(const std::string& tenant) {
    const bool ok = !tenant.empty() && tenant.size() <= kMaxTenantLength &&
                    std::all_of(tenant.begin(), tenant.end(), [](unsigned char c) {
                        return std::isalnum(c) || c == '-' || c == '_' || c == '.';
                    });
    if (!ok)
        throw Error(ErrorCode::invalid_argument,
                    "tenant must be 1-64 characters of letters, digits, '-', '_' or '.'");
}

Capture analyse_capture(Engine& engine, QualityAssessor& quality, std::span<const std::uint8_t> image_bytes,
                        QualityProfile profile, const ImageLimits& limits) {
    Capture c;
    const cv::Mat bgr = decode_image(image_bytes, limits);
    std::vector<Face> faces;
    try {
        FaceAnalysis a = engine.analyze(bgr);
        faces = a.faces;
        c.face_template = std::move(a.face_template);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::no_face) throw;
    }
    c.faces = faces.size();
    c.quality = quality.assess(bgr, faces, profile);
    c.encoded.assign(image_bytes.begin(), image_bytes.end());
    return c;
}

std::unique_ptr<Registry> Registry::open(std::unique_ptr<Store> store, std::vector<DataKey> keys,
                                         Calibration calibration, const RegistryOptions& options) {
    if (!store) throw Error(ErrorCode::invalid_argument, "registry: no store");
    return std::make_unique<RegistryImpl>(std::move(store), std::move(keys), std::move(calibration), options);
}

}  // namespace faceproof
