// faceproof — the registry of enrolled subjects: consent-based enrolment, the 1:N duplicate check,
// deletion, retention purge and key rotation, each decision written to the audit trail.
//
// Layering: callers (CLI, HTTP) analyse images into Captures (analyse_capture, proofing.hpp), then
// call the Registry; the Registry seals templates with the data key, writes them through the Store
// interface, keeps one in-memory GalleryIndex per tenant, and audits. It takes analysed faces and
// never sees an Engine, so one Registry can serve many worker threads, each with its own Engine.
//
// Index consistency: a tenant's index is built from the store (every template opened with the key)
// the first time the tenant is used, then updated after each committed change made through this
// Registry. Changes made by other processes are picked up by sync() (the store's change feed).
//
// Snapshots (RegistryOptions::snapshot_directory): a tenant's index (codes, graph, template ids and
// references) is kept on the node's disk as one file sealed with the current data key, with the
// change-feed position it reflects. Loading a tenant then opens the snapshot and replays the feed
// from that position instead of opening every template and rebuilding the graph. A snapshot is
// discarded (removed, and the index rebuilt from the store) when it does not open with the current
// key (another key, a retired key after rotate_key, tampering), when it is of another tenant or
// index configuration, when the feed no longer reaches back to its position (pruned) or is behind
// it (another database), or when after the replay its template ids and references differ from
// the store's. A snapshot is written when a tenant of at least snapshot_min_templates is built
// from the store, and by save_snapshot(). Deletion: remove() and purge() rewrite the tenant's
// snapshot without the deleted templates before they return (or remove it when the tenant is not
// loaded or the rewrite fails), so deleted templates are in no snapshot afterwards; rotate_key()
// removes every snapshot sealed with the previous key and rewrites those of loaded tenants.
//
// 1:N thresholds: a search compares the probe with every template of the tenant (n comparisons).
// With a per-comparison false-match rate f, the chance that a person who is NOT enrolled matches
// someone is 1 - (1 - f)^n ≈ n·f. Searches therefore take a whole-search target (search_fmr) and use
// f = 1 - (1 - search_fmr)^(1/n), clamped to the calibration's range; when clamped, the result says
// so and reports the whole-search rate actually in force.
//
// Thread safety: all member functions may be called concurrently (the store is used under one
// mutex; searches of a tenant run in parallel under a shared lock).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "faceproof/audit.hpp"
#include "faceproof/crypto.hpp"
#include "faceproof/gallery_index.hpp"
#include "faceproof/calibration.hpp"
#include "faceproof/template.hpp"
#include "faceproof/quality.hpp"
#include "faceproof/store.hpp"

namespace faceproof {

// Tenant names are identifiers: 1-64 letters, digits, '-', '_' or '.' (they appear in
// "tenant/reference" strings and URLs). Error{invalid_argument} otherwise.
void check_tenant(const std::string& tenant);

// Subject references are the operator's identifiers (a customer number, an application id): 1-128
// characters of valid UTF-8, without '/' or '\' (a reference is a URL path segment), without
// control characters (C0, DEL, C1) or invisible formatting characters (zero-width and
// bidirectional controls, BOM), and without a space at either end. Compared byte for byte (no
// Unicode normalisation). Every entry point (CLI, HTTP, Registry) checks before anything is
// stored or looked up: Error{invalid_argument} otherwise.
inline constexpr std::size_t kMaxReferenceCharacters = 128;
void check_reference(const std::string& reference);

// One analysed image, ready to enrol or to search with.
struct Capture {
    std::optional<Template> face_template;  // of the most prominent face; empty when no face was found
    QualityReport quality;                  // of that face, under the profile asked for
    std::size_t faces = 0;                  // faces found in the image
    std::vector<std::uint8_t> encoded;      // the image file's bytes (sealed and kept only with retention on)
};

struct RegistryOptions {
    GalleryIndexOptions index;
    // Keep each enrolment image, sealed like the templates. Off by default: biometric images are
    // kept only when the operator turns this on deliberately.
    bool retain_images = false;
    // Directory of this node's sealed index snapshots (see "Snapshots" above); empty = none. It
    // must exist; files are created 0600.
    std::filesystem::path snapshot_directory;
    // Tenants with fewer templates are not snapshotted on load (they are rebuilt quickly).
    std::size_t snapshot_min_templates = 10000;
};

struct SearchOptions {
    std::size_t top = 5;      // candidates returned at most (best subjects, one entry per subject)
    double search_fmr = 1e-2;  // target false-match rate of the WHOLE search (see above)
};

struct Candidate {
    std::string subject;    // the operator's reference
    double similarity = 0;  // best over the subject's templates
    bool match = false;     // similarity >= threshold
};

struct SearchResult {
    std::vector<Candidate> candidates;  // best first; at most `top`, matches and near misses
    double threshold = 0;               // similarity threshold applied per comparison
    double comparison_fmr = 0;          // per-comparison false-match rate of that threshold
    double search_fmr = 0;              // whole-search false-match rate in force: 1-(1-comparison_fmr)^n
    bool threshold_clamped = false;     // the target needed a rate outside the calibration
    std::size_t gallery_templates = 0, gallery_subjects = 0;
    bool approximate = false;           // HNSW was used
    std::string method;                 // "exact", "exact_compact" or "hnsw" (GalleryIndex::method)
    bool found() const { return !candidates.empty() && candidates.front().match; }
};

struct EnrolmentPolicy {
    bool require_quality = true;     // refuse captures that fail the quality profile
    bool refuse_duplicates = true;   // refuse when the face matches another enrolled subject
    // add_templates: refuse ("FACE_MISMATCH image N") a face whose best similarity to the subject's
    // stored templates is below the verification threshold (calibration at kDefaultFmr): adding a
    // different person's face to a subject ("grafting") would let that person be found as them.
    // Turning it off is an administrator's decision after review (audited).
    bool require_same_face = true;
    SearchOptions duplicate_search;  // threshold of the duplicate check
};

struct EnrolmentResult {
    bool enrolled = false;
    // Why not, as stable codes: "NO_FACE image N", "POOR_QUALITY image N: CODE...",
    // "DUPLICATE_IDENTITY" (see duplicates), "FACE_MISMATCH image N" (add_templates).
    std::vector<std::string> reasons;
    std::vector<Candidate> duplicates;          // other subjects the new face matches
    std::vector<std::int64_t> template_ids;     // stored templates when enrolled
};

struct TemplateInfo {  // what may be shown about a stored template: no biometric data
    std::int64_t id = 0;
    std::string model_id, created_at, key_id;
    double quality_score = 0;
    bool image_retained = false;
};

struct SubjectInfo {
    std::string tenant, reference, created_at, updated_at;
    Consent consent;
    std::vector<TemplateInfo> templates;
};

class Registry {
public:
    virtual ~Registry() = default;

    // Enrols a new subject with its consent and one template per capture. Refusals (no face, poor
    // quality, duplicate identity) are results, audited, with nothing stored.
    // Atomicity: the duplicate check, the insert and the audit entry are one transaction under the
    // tenant's write lock (Store::transaction), after the index caught up with the store's change
    // feed: two enrolments of one face — threads, processes or nodes — cannot both pass the check,
    // and no subject is ever stored without its audit entry.
    // throws: Error{conflict} when the reference exists, {not_found} (add_templates) when it does
    //         not (both audited as refusals), {consent_invalid}, {invalid_argument} for a bad
    //         tenant/reference or no captures, {store_error}.
    virtual EnrolmentResult enrol(const std::string& actor, const std::string& tenant, const std::string& reference,
                                  const Consent& consent, const std::vector<Capture>& captures,
                                  const EnrolmentPolicy& policy = {}) = 0;

    // Adds templates to an enrolled subject (not_found when absent); same refusals as enrol, except
    // that matching the subject itself is of course not a duplicate.
    virtual EnrolmentResult add_templates(const std::string& actor, const std::string& tenant,
                                          const std::string& reference, const std::vector<Capture>& captures,
                                          const EnrolmentPolicy& policy = {}) = 0;

    // 1:N: the subjects of the tenant most similar to the probe. Error{no_face} when the capture has
    // no face; invalid_argument for top == 0 or a search_fmr outside (0, 1).
    virtual SearchResult search(const std::string& actor, const std::string& tenant, const Capture& probe,
                                const SearchOptions& options = {}) = 0;

    virtual std::optional<SubjectInfo> subject(const std::string& tenant, const std::string& reference) = 0;
    virtual std::vector<std::string> subjects(const std::string& tenant, std::int64_t limit, std::int64_t offset) = 0;

    // Deletes the subject with its consent, templates, retained images and index entries, audited
    // in the same transaction; then makes the deleted bytes leave the database files where that is
    // cheap (Store::erase_deleted: SQLite's write-ahead log). Returns false (audited too) when
    // there was no such subject.
    virtual bool remove(const std::string& actor, const std::string& tenant, const std::string& reference) = 0;

    // Deletes every subject whose consent expired at `now` (RFC 3339; empty = now); returns
    // "tenant/reference" of each.
    virtual std::vector<std::string> purge(const std::string& actor, const std::string& now = {}) = 0;

    // Re-seals every stored template and image under new_key (opened with any key this registry
    // holds); afterwards new_key is the key new data is sealed with. Reads keep working during the
    // rotation. Rows already under new_key are left alone, so an interrupted rotation can be rerun.
    virtual void rotate_key(const std::string& actor, DataKey new_key) = 0;

    // keyed_hash_hex of value under the registry's current data key (domain "faceproof/<domain>/<tenant>"),
    // for audit details that must identify a value without showing it (a document number); nullopt
    // when the registry was opened without a key.
    virtual std::optional<std::string> pseudonym(const std::string& tenant, const std::string& domain,
                                                 const std::string& value) const = 0;

    // Appends an audit entry for a decision made elsewhere (e.g. a 1:1 verify).
    virtual AuditEntry record(const std::string& actor, const std::string& tenant, const std::string& action,
                              const std::string& subject, const std::string& outcome,
                              const nlohmann::json& details) = 0;
    virtual std::vector<AuditEntry> audit(const std::optional<std::string>& tenant, std::int64_t after,
                                          std::int64_t limit) = 0;
    virtual AuditCheck verify_audit(std::int64_t* entries = nullptr) = 0;

    // Rebuilds the tenant's index from the store.
    virtual void reload(const std::string& tenant) = 0;
    // Applies what other processes or nodes changed in the store since the last call, from the
    // store's change feed: each changed subject of a loaded tenant is re-read (or dropped). A gap in
    // the feed (pruned while this node was away) rebuilds every loaded tenant. Returns the number of
    // changes read. Several nodes on one database call this periodically (faceproof serve: 4 times
    // a second).
    virtual std::size_t sync() = 0;
    // Compacts the database so deleted bytes leave its files (Store::vacuum).
    virtual void vacuum() = 0;
    // Writes the tenant's snapshot now (loading the tenant first when needed); false when the
    // registry has no snapshot directory. throws: Error{io_error} when the file cannot be written,
    // Error{key_invalid} without a key.
    virtual bool save_snapshot(const std::string& tenant) = 0;
    // save_snapshot for every tenant loaded now; returns how many (0 without a snapshot directory).
    virtual std::size_t save_snapshots() = 0;

    // keys: the first seals new data; every key opens data sealed with it (the previous key stays
    // usable during a rotation). keys may be empty for work that needs none (listing, deleting,
    // purging, the audit); enrolment and search then throw Error{key_invalid} saying how to give one.
    static std::unique_ptr<Registry> open(std::unique_ptr<Store> store, std::vector<DataKey> keys,
                                          Calibration calibration, const RegistryOptions& options = {});
};

}  // namespace faceproof
