// Registry: enrolment, 1:N search, deletion, purge and key rotation over a Store, with one
// in-memory index per tenant (see include/faceproof/registry.hpp for the contract).
#include "faceproof/registry.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>

#include "faceproof/audit_trail.hpp"
#include "faceproof/crypto.hpp"
#include "faceproof/error.hpp"
#include "gallery/index_snapshot.hpp"
#include "util/utf8.hpp"

namespace faceproof {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxTenantLength = 64;
constexpr std::int64_t kSyncBatch = 1000;
constexpr const char* kNoKey =
    "no data key given: pass --key-file FILE or set FACEPROOF_KEY_FILE (`faceproof keys generate FILE` makes one)";

// Associated data binds each ciphertext to its owner, so a sealed template cannot be moved to
// another subject or tenant by editing the database.
std::string template_ad(const std::string& tenant, const std::string& reference) {
    return "faceproof/template|" + tenant + "|" + reference;
}
std::string image_ad(const std::string& tenant, const std::string& reference) {
    return "faceproof/image|" + tenant + "|" + reference;
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
    std::string model_id;      // of every template in the index; empty while it is empty
    std::string model_sha256;  // of the model file that made them (same model id, other weights: refused)
    // subjects_with[n]: how many subjects have n templates; kept so a search does not walk every
    // subject to find the largest (a millisecond per 100k subjects).
    std::vector<std::size_t> subjects_with{0};

    std::size_t max_templates_per_subject() const {
        for (std::size_t n = subjects_with.size() - 1; n > 1; --n)
            if (subjects_with[n] > 0) return n;
        return 1;
    }
    void count_subject(std::size_t templates, int delta) {
        if (templates >= subjects_with.size()) subjects_with.resize(templates + 1, 0);
        subjects_with[templates] = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(subjects_with[templates]) + delta);
    }
    // Restores owner, by_subject and the counts from (template id, reference) pairs.
    void set_owners(const std::vector<std::pair<std::int64_t, std::string>>& owners) {
        owner.reserve(owners.size());
        for (const auto& [id, reference] : owners) {
            if (!owner.emplace(id, reference).second)
                throw Error(ErrorCode::invalid_argument, "gallery snapshot: template id " + std::to_string(id) + " twice");
            by_subject[reference].push_back(id);
        }
        for (const auto& [reference, ids] : by_subject) count_subject(ids.size(), +1);
    }
    bool same_model_file(const std::string& sha256) const {
        return std::equal(sha256.begin(), sha256.end(), model_sha256.begin(), model_sha256.end(),
                          [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) ==
                                                      std::tolower(static_cast<unsigned char>(b)); });
    }
    void add(std::int64_t id, const std::string& reference, const Template& t) {
        if (owner.count(id)) return;  // already there (a sync re-read the subject first)
        if (!model_id.empty() && (t.model_id != model_id || !same_model_file(t.model_sha256)))
            throw Error(ErrorCode::template_mismatch, "tenant gallery holds templates of model '" + model_id +
                                                          "' (file " + model_sha256.substr(0, 12) + "), not '" +
                                                          t.model_id + "' (file " + t.model_sha256.substr(0, 12) + ")");
        index->add(id, t.values);
        model_id = t.model_id;
        model_sha256 = t.model_sha256;
        owner[id] = reference;
        auto& ids = by_subject[reference];
        if (!ids.empty()) count_subject(ids.size(), -1);
        ids.push_back(id);
        count_subject(ids.size(), +1);
    }
    void remove_subject(const std::string& reference) {
        const auto it = by_subject.find(reference);
        if (it == by_subject.end()) return;
        for (std::int64_t id : it->second) {
            index->remove(id);
            owner.erase(id);
        }
        count_subject(it->second.size(), -1);
        by_subject.erase(it);
        if (owner.empty()) model_id.clear(), model_sha256.clear();
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
        SearchResult r = search_with_store(tenant, *gallery(tenant), *probe.face_template, options);
        nlohmann::json details = search_details(r);
        details["model_id"] = probe.face_template->model_id;
        record(actor, tenant, "search", r.found() ? r.candidates.front().subject : "",
               r.found() ? "found" : "not_found", details);
        return r;
    }

    std::optional<SubjectInfo> subject(const std::string& tenant, const std::string& reference) override {
        check_tenant(tenant);
        check_reference(reference);
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
        check_reference(reference);
        bool removed = false;
        write(tenant, [&](AfterCommit& after_commit) {
            removed = store_->remove(tenant, reference);
            record_locked(actor, tenant, "delete", reference, removed ? "deleted" : "not_found",
                          nlohmann::json::object());
            // The index follows the store once the deletion is committed (a rollback keeps both).
            after_commit.push_back([this, tenant, reference] {
                if (auto g = loaded_gallery(tenant)) {
                    std::unique_lock index_lock(g->mutex);
                    g->remove_subject(reference);
                }
            });
        });
        if (removed) {
            erase_deleted();
            snapshot_after_deletion(tenant);
        }
        return removed;
    }

    std::vector<std::string> purge(const std::string& actor, const std::string& now) override {
        const std::string at = now.empty() ? audit_time_now() : now;
        std::vector<std::string> purged;
        write("", [&](AfterCommit& after_commit) {
            purged = store_->purge_expired(at);
            std::map<std::string, std::vector<std::string>> by_tenant;
            for (const auto& name : purged) {
                const auto slash = name.find('/');
                by_tenant[name.substr(0, slash)].push_back(name.substr(slash + 1));
            }
            for (const auto& [tenant, references] : by_tenant)
                for (const auto& reference : references)
                    record_locked(actor, tenant, "purge", reference, "deleted",
                                  {{"reason", "consent expired"}, {"at", at}});
            record_locked(actor, "", "purge", "", "done", {{"subjects_deleted", purged.size()}, {"at", at}});
            after_commit.push_back([this, by_tenant] {
                for (const auto& [tenant, references] : by_tenant)
                    if (auto g = loaded_gallery(tenant)) {
                        std::unique_lock index_lock(g->mutex);
                        for (const auto& reference : references) g->remove_subject(reference);
                    }
            });
        });
        if (!purged.empty()) {
            erase_deleted();
            std::set<std::string> tenants;
            for (const auto& name : purged) tenants.insert(name.substr(0, name.find('/')));
            for (const auto& tenant : tenants) snapshot_after_deletion(tenant);
        }
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
        snapshots_after_rotation();
    }

    bool save_snapshot(const std::string& tenant) override {
        check_tenant(tenant);
        if (!snapshots_enabled()) return false;
        std::lock_guard writer(writer_mutex_);
        std::lock_guard lock(store_mutex_);
        while (apply_changes_locked() > 0) {
        }
        const auto g = gallery_locked(tenant);
        write_snapshot_locked(tenant, *g, change_cursor_);
        return true;
    }

    std::size_t save_snapshots() override {
        if (!snapshots_enabled()) return 0;
        std::vector<std::string> tenants;
        {
            std::lock_guard lock(galleries_mutex_);
            for (const auto& entry : galleries_) tenants.push_back(entry.first);
        }
        for (const auto& tenant : tenants) save_snapshot(tenant);
        return tenants.size();
    }

    std::optional<std::string> pseudonym(const std::string& tenant, const std::string& domain,
                                         const std::string& value) const override {
        std::shared_lock keys_lock(keys_mutex_);
        if (keys_.empty()) return std::nullopt;
        return keyed_hash_hex(current_key(), "faceproof/" + domain + "/" + tenant, value);
    }

    AuditEntry record(const std::string& actor, const std::string& tenant, const std::string& action,
                      const std::string& subject, const std::string& outcome, const nlohmann::json& details) override {
        std::lock_guard lock(store_mutex_);
        return record_locked(actor, tenant, action, subject, outcome, details);
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
        std::lock_guard writer(writer_mutex_);
        std::lock_guard lock(store_mutex_);
        install_gallery(tenant, load_gallery_locked(tenant, false));
    }

    void vacuum() override {
        std::lock_guard lock(store_mutex_);
        store_->vacuum();
    }

    std::size_t sync() override {
        std::lock_guard writer(writer_mutex_);  // one reader of the feed at a time keeps the cursor monotonic
        std::lock_guard lock(store_mutex_);
        return apply_changes_locked();
    }

private:
    using AfterCommit = std::vector<std::function<void()>>;

    // Every change to the store goes through here: one transaction holding the tenant's write lock
    // (all tenants when tenant is empty), across processes and nodes. Before `work` runs, every
    // loaded index is brought up to the store's current state from the change feed, so a check
    // made in work (the duplicate check) sees everything committed by anyone, and nobody can commit
    // to the tenant until this transaction ends. The audit entry work appends commits with the
    // change. after_commit actions (index updates) run once the commit succeeded, still under the
    // writer lock, so the next writer of this process finds them done.
    void write(const std::string& tenant, const std::function<void(AfterCommit&)>& work) {
        std::lock_guard writer(writer_mutex_);
        std::lock_guard lock(store_mutex_);
        AfterCommit after_commit;
        store_->transaction(tenant.empty() ? "tenants" : "tenant:" + tenant, [&] {
            while (apply_changes_locked() > 0) {
            }
            work(after_commit);
        });
        for (const auto& action : after_commit) action();
    }

    // Snapshots sealed with the previous key are removed; loaded tenants' are written again under
    // the new one. A file that cannot be removed is left (it no longer opens: discarded at load).
    void snapshots_after_rotation() {
        if (!snapshots_enabled()) return;
        std::lock_guard writer(writer_mutex_);
        std::lock_guard lock(store_mutex_);
        std::error_code error;
        for (const auto& entry : fs::directory_iterator(options_.snapshot_directory, error))
            if (entry.path().extension() == ".gallery") fs::remove(entry.path(), error);
        std::vector<std::pair<std::string, std::shared_ptr<TenantGallery>>> loaded;
        {
            std::lock_guard galleries_lock(galleries_mutex_);
            loaded.assign(galleries_.begin(), galleries_.end());
        }
        for (const auto& [tenant, g] : loaded)
            if (g->index->size() >= options_.snapshot_min_templates) write_snapshot_locked(tenant, *g, change_cursor_);
    }

    // Deleted bytes leave the database files (SQLite: WAL checkpoint; PostgreSQL needs vacuum()).
    void erase_deleted() {
        std::lock_guard lock(store_mutex_);
        store_->erase_deleted();
    }

    AuditEntry record_locked(const std::string& actor, const std::string& tenant, const std::string& action,
                             const std::string& subject, const std::string& outcome, const nlohmann::json& details) {
        return audit_.append(tenant, actor, action, subject, outcome, details);
    }

    // The best similarity of face to the subject's stored templates (decrypted here, never kept).
    double best_similarity_to(const std::string& tenant, const Subject& subject, const Template& face) {
        double best = -1;
        std::shared_lock keys_lock(keys_mutex_);
        for (const auto& record : subject.templates) {
            auto plain = faceproof::open(key_for(record.key_id), record.sealed, template_ad(tenant, subject.reference));
            const Template stored = parse_template(plain);
            sodium_wipe(plain);
            best = std::max(best, similarity(stored, face));
        }
        return best;
    }

    // Refusals shared by enrol and add_templates; consent == nullptr means "add to existing".
    EnrolmentResult enrol_captures(const std::string& actor, const std::string& tenant, const std::string& reference,
                                   const Consent* consent, const std::vector<Capture>& captures,
                                   const EnrolmentPolicy& policy) {
        if (captures.empty()) throw Error(ErrorCode::invalid_argument, "enrol: at least one image is needed");
        const char* action = consent ? "enrol" : "add_templates";
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
        nlohmann::json details{{"captures", captures.size()}};
        if (!result.reasons.empty()) {
            details["reasons"] = result.reasons;
            record(actor, tenant, action, reference, "refused", details);
            return result;
        }

        // Sealing is pure computation: done before the transaction, so the lock is held briefly.
        std::vector<TemplateRecord> records;
        {
            std::shared_lock keys_lock(keys_mutex_);
            const DataKey& key = current_key();
            for (const auto& c : captures) {
                TemplateRecord t;
                t.model_id = c.face_template->model_id;
                t.quality_score = mean_quality_score(c.quality);
                t.key_id = key.id();
                t.sealed = faceproof::seal(key, serialize_template(*c.face_template), template_ad(tenant, reference));
                if (options_.retain_images && !c.encoded.empty())
                    t.sealed_image = faceproof::seal(key, c.encoded, image_ad(tenant, reference));
                records.push_back(std::move(t));
            }
        }

        std::optional<Error> refusal;  // a refusal that is audited, committed, then thrown
        bool audited = false;
        try {
            write(tenant, [&](AfterCommit& after_commit) {
                const std::shared_ptr<TenantGallery> g = gallery_locked(tenant);
                const std::optional<Subject> existing = store_->find(tenant, reference);
                if (consent && existing) {
                    refusal = Error(ErrorCode::conflict, "subject '" + reference + "' is enrolled already in tenant " + tenant);
                } else if (!consent && !existing) {
                    refusal = Error(ErrorCode::not_found, "no subject '" + reference + "' in tenant " + tenant);
                }
                if (refusal) {
                    details["error"] = std::string(to_string(refusal->code()));
                    record_locked(actor, tenant, action, reference, "refused", details);
                    audited = true;
                    return;
                }
                // Grafting: templates added to a subject must be that subject's face.
                if (!consent && policy.require_same_face) {
                    const double threshold = calibration_.threshold_for(kDefaultFmr);
                    nlohmann::json scores = nlohmann::json::array();
                    for (std::size_t i = 0; i < captures.size(); ++i) {
                        const double best = best_similarity_to(tenant, *existing, *captures[i].face_template);
                        scores.push_back(std::round(best * 1e4) / 1e4);
                        if (best < threshold) result.reasons.push_back("FACE_MISMATCH image " + std::to_string(i + 1));
                    }
                    details["subject_similarity"] = scores;
                    details["subject_threshold"] = threshold;
                }
                if (!consent && !policy.require_same_face) details["face_match_overridden"] = true;
                // The duplicate check: does this face already belong to someone else?
                if (result.reasons.empty()) {
                    std::map<std::string, double> others;
                    for (const auto& c : captures) {
                        const SearchResult found = search_gallery_locked(tenant, *g, *c.face_template, policy.duplicate_search);
                        for (const auto& cand : found.candidates)
                            if (cand.match && cand.subject != reference)
                                others[cand.subject] = std::max(others[cand.subject], cand.similarity);
                    }
                    for (const auto& [subject, similarity] : others)
                        result.duplicates.push_back({subject, similarity, true});
                    std::sort(result.duplicates.begin(), result.duplicates.end(),
                              [](const Candidate& a, const Candidate& b) { return a.similarity > b.similarity; });
                    if (!result.duplicates.empty() && policy.refuse_duplicates)
                        result.reasons.push_back("DUPLICATE_IDENTITY");
                    if (!result.duplicates.empty()) {
                        nlohmann::json dups = nlohmann::json::array();
                        for (const auto& d : result.duplicates)
                            dups.push_back({{"subject", d.subject}, {"similarity", std::round(d.similarity * 1e4) / 1e4}});
                        details["duplicates"] = dups;
                    }
                }
                if (!result.reasons.empty()) {
                    details["reasons"] = result.reasons;
                    record_locked(actor, tenant, action, reference, "refused", details);
                    audited = true;
                    return;
                }
                if (consent) {
                    Subject s;
                    s.tenant = tenant;
                    s.reference = reference;
                    s.consent = *consent;
                    s.templates = records;
                    store_->enrol(s);
                    const std::optional<Subject> stored = store_->find(tenant, reference);
                    if (!stored) throw Error(ErrorCode::store_error, "enrol: the subject vanished in its own transaction");
                    for (const auto& t : stored->templates) result.template_ids.push_back(t.id);
                } else {
                    for (const auto& t : records) result.template_ids.push_back(store_->add_template(tenant, reference, t));
                }
                details["model_id"] = captures.front().face_template->model_id;
                details["captures_retained"] = options_.retain_images;
                details["stored"] = result.template_ids.size();
                record_locked(actor, tenant, action, reference, "enrolled", details);
                audited = true;
                after_commit.push_back([&, g] {
                    std::unique_lock index_lock(g->mutex);
                    for (std::size_t i = 0; i < captures.size(); ++i)
                        g->add(result.template_ids[i], reference, *captures[i].face_template);
                });
                result.enrolled = true;
            });
        } catch (const Error& e) {
            // The transaction rolled back, its audit entry with it: record the failure on its own.
            result.enrolled = false;
            if (!refusal) {
                details["error"] = std::string(to_string(e.code()));
                try {
                    record(actor, tenant, action, reference, "failed", details);
                } catch (const Error&) {
                    // The database is what failed: the caller gets the original error.
                }
            }
            throw;
        }
        (void)audited;
        if (refusal) throw *refusal;
        return result;
    }

    // A search by a caller holding no lock: the store's lock is taken only when the index keeps no
    // floats (the candidates' templates are then read from the store and opened).
    SearchResult search_with_store(const std::string& tenant, const TenantGallery& g, const Template& probe,
                                   const SearchOptions& options) {
        if (options_.index.keep_full_precision) return search_gallery(g, probe, options, nullptr);
        std::lock_guard lock(store_mutex_);
        return search_gallery_locked(tenant, g, probe, options);
    }

    // requires: store_mutex_ held.
    SearchResult search_gallery_locked(const std::string& tenant, const TenantGallery& g, const Template& probe,
                                       const SearchOptions& options) {
        if (options_.index.keep_full_precision) return search_gallery(g, probe, options, nullptr);
        // Lock order: store, keys, then the gallery (search_gallery takes g.mutex).
        std::shared_lock keys_lock(keys_mutex_);
        const FullPrecisionSource source = stored_templates_locked(tenant, g);
        return search_gallery(g, probe, options, &source);
    }

    // The full-precision vectors of template ids, from the store's sealed templates (the index's
    // codes are only an approximation). requires: store_mutex_ and keys_mutex_ held while it is
    // called, and g.mutex (the search holds it): g.owner names each id's subject.
    FullPrecisionSource stored_templates_locked(const std::string& tenant, const TenantGallery& g) {
        return [this, &tenant, &g](std::span<const std::int64_t> ids, std::span<float> out) {
            std::map<std::string, std::optional<Subject>> subjects;
            const std::size_t dimension = ids.empty() ? 0 : out.size() / ids.size();
            for (std::size_t i = 0; i < ids.size(); ++i) {
                const std::string& reference = g.owner.at(ids[i]);
                auto found = subjects.find(reference);
                if (found == subjects.end()) found = subjects.emplace(reference, store_->find(tenant, reference)).first;
                const TemplateRecord* record = nullptr;
                if (found->second)
                    for (const auto& t : found->second->templates)
                        if (t.id == ids[i]) record = &t;
                if (!record)
                    throw Error(ErrorCode::store_error, "search: template " + std::to_string(ids[i]) +
                                                            " is in the index but no longer in the store");
                auto plain = faceproof::open(key_for(record->key_id), record->sealed, template_ad(tenant, reference));
                Template t = parse_template(plain);
                sodium_wipe(plain);
                if (t.values.size() != dimension)
                    throw Error(ErrorCode::template_mismatch, "search: a stored template has another dimension");
                std::copy(t.values.begin(), t.values.end(), out.begin() + static_cast<std::ptrdiff_t>(i * dimension));
                std::fill(t.values.begin(), t.values.end(), 0.0f);
            }
        };
    }

    SearchResult search_gallery(const TenantGallery& g, const Template& probe, const SearchOptions& options,
                                const FullPrecisionSource* source) {
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
        r.method = g.index->method();
        const auto& points = calibration_.points();
        const double lowest = points.front().fmr, highest = points.back().fmr;
        const double wanted = per_comparison_rate(options.search_fmr, r.gallery_templates);
        r.comparison_fmr = std::clamp(wanted, lowest, highest);
        r.threshold_clamped = r.comparison_fmr != wanted;
        r.threshold = calibration_.threshold_for(r.comparison_fmr);
        r.search_fmr = rate_over(r.comparison_fmr, std::max<std::size_t>(1, r.gallery_templates));
        if (r.gallery_templates == 0) return r;
        if (!g.model_id.empty() && (g.model_id != probe.model_id || !g.same_model_file(probe.model_sha256)))
            throw Error(ErrorCode::template_mismatch, "search: the gallery holds templates of model '" + g.model_id +
                                                          "' made by model file " + g.model_sha256.substr(0, 12) +
                                                          ", the probe's is " + probe.model_sha256.substr(0, 12));
        // Near misses are listed down to the calibration's loosest operating point, for review.
        const double review_floor = std::min(r.threshold, calibration_.threshold_for(highest));
        const std::size_t k = options.top * g.max_templates_per_subject();
        std::map<std::string, double> best;
        for (const IndexHit& hit : g.index->search(probe.values, k, static_cast<float>(review_floor), source)) {
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

    // One batch of the change feed applied to the loaded indexes; returns the changes read.
    // requires: writer_mutex_ and store_mutex_ held.
    std::size_t apply_changes_locked() {
        const std::vector<SubjectChange> changes = store_->changes_since(change_cursor_, kSyncBatch);
        if (changes.empty()) return 0;
        if (changes.front().sequence > change_cursor_ + 1) {
            // Entries were pruned while we were not looking: rebuild everything loaded.
            std::vector<std::string> tenants;
            {
                std::lock_guard lock(galleries_mutex_);
                for (const auto& [tenant, _] : galleries_) tenants.push_back(tenant);
            }
            for (const auto& tenant : tenants) install_gallery(tenant, load_gallery_locked(tenant, false));
            change_cursor_ = changes.back().sequence;
        } else {
            std::set<std::string> deleted_from;
            for (const auto& change : changes)
                if (refresh_subject_locked(change.tenant, change.reference)) deleted_from.insert(change.tenant);
            change_cursor_ = changes.back().sequence;
            for (const auto& tenant : deleted_from) snapshot_after_deletion_locked(tenant);
        }
        return changes.size();
    }

    // Re-reads one subject into a loaded tenant's index (or drops it when it is gone); returns true
    // when templates left the index (a deletion: the tenant's snapshot must follow).
    // requires: store_mutex_ held.
    bool refresh_subject_locked(const std::string& tenant, const std::string& reference) {
        const std::shared_ptr<TenantGallery> g = loaded_gallery(tenant);
        if (g) return refresh_subject_in_locked(*g, tenant, reference);
        // Not loaded here: a snapshot of the tenant on this node would keep a deleted subject's
        // templates until the tenant is next loaded; a subject gone from the store was deleted.
        if (snapshots_enabled() && fs::exists(gallery::snapshot_path(options_.snapshot_directory, tenant)) &&
            !store_->find(tenant, reference))
            gallery::remove_snapshot(options_.snapshot_directory, tenant);
        return false;
    }

    // requires: store_mutex_ held; g not yet shared, or the writer lock held.
    bool refresh_subject_in_locked(TenantGallery& g, const std::string& tenant, const std::string& reference) {
        const std::optional<Subject> s = store_->find(tenant, reference);
        std::vector<std::pair<std::int64_t, Template>> templates;
        if (s) {
            std::shared_lock keys_lock(keys_mutex_);
            for (const auto& record : s->templates) {
                auto plain = faceproof::open(key_for(record.key_id), record.sealed, template_ad(tenant, reference));
                templates.emplace_back(record.id, parse_template(plain));
                sodium_wipe(plain);
            }
        }
        std::unique_lock index_lock(g.mutex);
        bool removed = false;
        if (const auto it = g.by_subject.find(reference); it != g.by_subject.end())
            for (const std::int64_t id : it->second)
                removed = removed || std::none_of(templates.begin(), templates.end(),
                                                  [id](const auto& t) { return t.first == id; });
        g.remove_subject(reference);
        for (const auto& [id, t] : templates) g.add(id, reference, t);
        return removed;
    }

    // --- snapshots ------------------------------------------------------------------------------

    bool snapshots_enabled() const { return !options_.snapshot_directory.empty(); }

    // Writes g as the tenant's snapshot at `position`: every change of the feed up to it is
    // reflected in g (a lower position is safe too: the replay re-reads a subject, idempotently).
    // requires: store_mutex_ held (writers of g excluded: they hold it).
    void write_snapshot_locked(const std::string& tenant, const TenantGallery& g, std::int64_t position) {
        gallery::SnapshotContents contents;
        contents.tenant = tenant;
        contents.change_sequence = position;
        {
            std::shared_lock index_lock(g.mutex);
            contents.model_id = g.model_id;
            contents.model_sha256 = g.model_sha256;
            contents.owners.assign(g.owner.begin(), g.owner.end());
            contents.index = g.index->save();
        }
        try {
            std::shared_lock keys_lock(keys_mutex_);
            gallery::write_snapshot(options_.snapshot_directory, current_key(), contents);
        } catch (...) {
            sodium_wipe(contents.index.bytes);
            throw;
        }
        sodium_wipe(contents.index.bytes);
    }

    // A snapshot that cannot be used is removed (it would fail again); failing to remove it only
    // means the next load finds and discards it again.
    void discard_snapshot(const std::string& tenant) noexcept {
        try {
            gallery::remove_snapshot(options_.snapshot_directory, tenant);
        } catch (const Error&) {
        }
    }

    struct SnapshotLoad {
        std::shared_ptr<TenantGallery> gallery;
        std::int64_t position = 0;    // the feed position the gallery now reflects
        bool replay_deleted = false;  // the replay removed templates: the snapshot holds them still
    };

    // The tenant's gallery from its snapshot and the feed since, or an empty gallery pointer when
    // there is no usable snapshot (see registry.hpp for when one is discarded).
    // requires: store_mutex_ held.
    SnapshotLoad load_from_snapshot_locked(const std::string& tenant) {
        SnapshotLoad load;
        std::optional<gallery::SnapshotContents> s;
        try {
            std::shared_lock keys_lock(keys_mutex_);
            if (keys_.empty()) return load;
            // Only the current key: a snapshot sealed with a retired key is rewritten under the new one.
            s = gallery::read_snapshot(options_.snapshot_directory, tenant, keys_.front());
        } catch (const Error&) {
            discard_snapshot(tenant);
            return load;
        }
        if (!s) return load;
        try {
            const std::int64_t last = store_->last_change();
            if (s->change_sequence > last)
                throw Error(ErrorCode::invalid_argument, "gallery snapshot: ahead of the store's change feed");
            if (s->change_sequence < last) {
                const auto next = store_->changes_since(s->change_sequence, 1);
                if (next.empty() || next.front().sequence != s->change_sequence + 1)
                    throw Error(ErrorCode::invalid_argument, "gallery snapshot: the change feed was pruned beyond it");
            }
            auto g = std::make_shared<TenantGallery>();
            g->index = GalleryIndex::restore(options_.index, s->index.bytes);
            sodium_wipe(s->index.bytes);
            g->set_owners(s->owners);
            g->model_id = s->model_id;
            g->model_sha256 = s->model_sha256;
            if (g->owner.size() != g->index->size())
                throw Error(ErrorCode::invalid_argument, "gallery snapshot: index and owners differ");
            for (const std::int64_t id : g->index->ids())
                if (!g->owner.count(id)) throw Error(ErrorCode::invalid_argument, "gallery snapshot: index and owners differ");
            load.position = s->change_sequence;
            for (;;) {
                const std::vector<SubjectChange> changes = store_->changes_since(load.position, kSyncBatch);
                if (changes.empty()) break;
                for (const auto& change : changes)
                    if (change.tenant == tenant && refresh_subject_in_locked(*g, tenant, change.reference))
                        load.replay_deleted = true;
                load.position = changes.back().sequence;
            }
            // After the replay the index must hold exactly the store's templates of the tenant.
            const auto rows = store_->all_templates(tenant);
            if (rows.size() != g->owner.size())
                throw Error(ErrorCode::invalid_argument, "gallery snapshot: does not match the store (template count)");
            for (const auto& [owner, record] : rows) {
                const auto it = g->owner.find(record.id);
                if (it == g->owner.end() || it->second != owner.reference)
                    throw Error(ErrorCode::invalid_argument, "gallery snapshot: does not match the store (template ids)");
            }
            load.gallery = std::move(g);
        } catch (const Error&) {
            if (s) sodium_wipe(s->index.bytes);
            discard_snapshot(tenant);
            load.gallery.reset();
        }
        return load;
    }

    // The tenant's snapshot after templates left its index (deletion's guarantees cover
    // snapshots): rewritten from the loaded index, or removed when the tenant is not loaded or the
    // rewrite fails. requires: writer_mutex_ and store_mutex_ held.
    void snapshot_after_deletion_locked(const std::string& tenant) {
        if (!snapshots_enabled() || !fs::exists(gallery::snapshot_path(options_.snapshot_directory, tenant))) return;
        if (const auto g = loaded_gallery(tenant)) {
            try {
                write_snapshot_locked(tenant, *g, change_cursor_);
                return;
            } catch (const Error&) {
                // removed below
            }
        }
        gallery::remove_snapshot(options_.snapshot_directory, tenant);  // throws io_error when it cannot
    }

    void snapshot_after_deletion(const std::string& tenant) {
        if (!snapshots_enabled()) return;
        std::lock_guard writer(writer_mutex_);
        std::lock_guard lock(store_mutex_);
        snapshot_after_deletion_locked(tenant);
    }

    // The tenant's gallery: from its snapshot when allowed and usable, else built from the store
    // (every template opened), then snapshotted when large enough. requires: store_mutex_ held.
    std::shared_ptr<TenantGallery> load_gallery_locked(const std::string& tenant, bool allow_snapshot = true) {
        if (snapshots_enabled() && allow_snapshot) {
            SnapshotLoad load = load_from_snapshot_locked(tenant);
            if (load.gallery) {
                if (load.replay_deleted) write_snapshot_locked(tenant, *load.gallery, load.position);
                return load.gallery;
            }
        }
        // Read before the templates: changes committed meanwhile are after it, and a replay from it
        // re-reads them.
        const std::int64_t position = store_->last_change();
        auto g = std::make_shared<TenantGallery>();
        g->index = GalleryIndex::create(options_.index);
        const std::vector<std::pair<SubjectKey, TemplateRecord>> rows = store_->all_templates(tenant);
        {
            std::shared_lock keys_lock(keys_mutex_);
            for (const auto& [owner, record] : rows) {
                auto plain = faceproof::open(key_for(record.key_id), record.sealed, template_ad(tenant, owner.reference));
                const Template t = parse_template(plain);
                sodium_wipe(plain);
                g->add(record.id, owner.reference, t);
            }
        }
        if (snapshots_enabled() && g->index->size() >= options_.snapshot_min_templates) {
            try {
                write_snapshot_locked(tenant, *g, position);
            } catch (const Error&) {
                // The index serves without it; the next load rebuilds from the store again.
                discard_snapshot(tenant);
            }
        }
        return g;
    }

    void install_gallery(const std::string& tenant, std::shared_ptr<TenantGallery> g) {
        std::lock_guard lock(galleries_mutex_);
        galleries_[tenant] = std::move(g);
    }

    std::shared_ptr<TenantGallery> loaded_gallery(const std::string& tenant) {
        std::lock_guard lock(galleries_mutex_);
        const auto it = galleries_.find(tenant);
        return it == galleries_.end() ? nullptr : it->second;
    }

    // The tenant's index, built from the store on first use. requires: store_mutex_ held.
    std::shared_ptr<TenantGallery> gallery_locked(const std::string& tenant) {
        if (auto g = loaded_gallery(tenant)) return g;
        auto fresh = load_gallery_locked(tenant);
        install_gallery(tenant, fresh);
        return fresh;
    }

    // The same, for readers that hold no lock. Loading under the store lock keeps it from racing a
    // write of this process (which updates loaded indexes only).
    std::shared_ptr<TenantGallery> gallery(const std::string& tenant) {
        if (auto g = loaded_gallery(tenant)) return g;
        std::lock_guard lock(store_mutex_);
        return gallery_locked(tenant);
    }

    // Lock order: writer_mutex_, store_mutex_, keys_mutex_, then galleries_mutex_ or one gallery's
    // mutex (never two of those at once).
    std::mutex writer_mutex_;  // one writer (and one reader of the change feed) per process
    std::mutex store_mutex_;   // Store is not thread-safe
    std::unique_ptr<Store> store_;
    AuditTrail audit_;
    mutable std::shared_mutex keys_mutex_;
    std::vector<DataKey> keys_;  // front() seals
    const Calibration calibration_;
    const RegistryOptions options_;
    std::mutex galleries_mutex_;
    std::map<std::string, std::shared_ptr<TenantGallery>> galleries_;
    std::int64_t change_cursor_ = 0;
};

}  // namespace

void check_reference(const std::string& reference) {
    const auto characters = decode_utf8(reference);
    auto refuse = [&](const std::string& why) {
        throw Error(ErrorCode::invalid_argument,
                    "subject reference " + why + " (1-" + std::to_string(kMaxReferenceCharacters) +
                        " characters of UTF-8; no '/', '\\', control or invisible formatting characters; "
                        "no spaces at either end)");
    };
    if (!characters) refuse("is not valid UTF-8");
    if (characters->empty() || characters->size() > kMaxReferenceCharacters) refuse("has the wrong length");
    for (const char32_t c : *characters) {
        const bool control = c < 0x20 || (c >= 0x7F && c <= 0x9F);
        // Zero-width and bidirectional controls make two references look alike in a log or a
        // review screen; non-characters are not text.
        const bool invisible = (c >= 0x200B && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
                               (c >= 0x2060 && c <= 0x2064) || (c >= 0x2066 && c <= 0x2069) || c == 0xFEFF ||
                               c == 0xFFFE || c == 0xFFFF;
        if (control || invisible) refuse("holds a control or invisible character");
        if (c == '/' || c == '\\') refuse("holds a slash or backslash");
    }
    if (characters->front() == ' ' || characters->back() == ' ') refuse("starts or ends with a space");
}

void check_tenant(const std::string& tenant) {
    const bool ok = !tenant.empty() && tenant.size() <= kMaxTenantLength &&
                    std::all_of(tenant.begin(), tenant.end(), [](unsigned char c) {
                        return std::isalnum(c) || c == '-' || c == '_' || c == '.';
                    });
    if (!ok)
        throw Error(ErrorCode::invalid_argument,
                    "tenant must be 1-64 characters of letters, digits, '-', '_' or '.'");
}

std::unique_ptr<Registry> Registry::open(std::unique_ptr<Store> store, std::vector<DataKey> keys,
                                         Calibration calibration, const RegistryOptions& options) {
    if (!store) throw Error(ErrorCode::invalid_argument, "registry: no store");
    if (!options.snapshot_directory.empty() && !std::filesystem::is_directory(options.snapshot_directory))
        throw Error(ErrorCode::io_error, "registry: the snapshot directory " + options.snapshot_directory.string() +
                                             " is not a directory");
    return std::make_unique<RegistryImpl>(std::move(store), std::move(keys), std::move(calibration), options);
}

}  // namespace faceproof
