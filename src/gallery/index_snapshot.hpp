// Snapshots of a tenant's gallery index on the node's disk, so a node starts from them instead of
// opening every template and rebuilding the graph.
//
// A snapshot is biometric data (codes, graph, template ids and their subjects' references): it is
// one file, sealed with the data key (faceproof::seal, associated data naming the purpose and the
// tenant: a snapshot cannot be moved to another tenant), holding the change-feed sequence it
// reflects and the model that made its templates. Files are written atomically (temporary file,
// fsync, rename, fsync of the directory) with mode 0600, one per tenant: DIR/TENANT.gallery.
//
// Whether a snapshot may be used (opens with the current key, matches the store) is the registry's
// decision; this file only writes, reads and removes them.
//
// Thread safety: functions are reentrant; concurrent writers of one tenant's file must be
// serialised by the caller (the registry's writer lock).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "faceproof/data_key.hpp"
#include "faceproof/gallery_index.hpp"

namespace faceproof::gallery {

struct SnapshotContents {
    std::string tenant;
    std::int64_t change_sequence = 0;  // the store's change feed position the index reflects
    std::string model_id, model_sha256;
    std::vector<std::pair<std::int64_t, std::string>> owners;  // template id -> subject reference
    IndexImage index;
};

std::filesystem::path snapshot_path(const std::filesystem::path& directory, const std::string& tenant);

// requires: directory exists (else Error{io_error}); tenant passed check_tenant.
// ensures: the tenant's file is the new snapshot, or (on any failure: Error{io_error}) the previous
//          one, never a partial file. The plaintext is wiped from memory after sealing.
void write_snapshot(const std::filesystem::path& directory, const DataKey& key, const SnapshotContents& contents);

// nullopt when the tenant has no snapshot file. throws: Error{key_invalid} when it was sealed with
// another key or does not authenticate (tampered, another tenant's), Error{invalid_argument} when
// its contents are malformed, Error{io_error} when it cannot be read.
std::optional<SnapshotContents> read_snapshot(const std::filesystem::path& directory, const std::string& tenant,
                                              const DataKey& key);

// Removes the tenant's snapshot; false when there was none. throws Error{io_error} when it exists
// and cannot be removed.
bool remove_snapshot(const std::filesystem::path& directory, const std::string& tenant);

}  // namespace faceproof::gallery
