// PostgreSQL backend of faceproof::Store (see include/faceproof/store.hpp for the contract), on libpq.
//
// One PGconn per Store (a Store is per-thread). Every value is a bound parameter (PQexecParams, bytea
// and numbers in binary); migrations (src/store/postgres/migrations/*.sql) run one transaction each
// under pg_advisory_xact_lock, so several nodes can start together. Tenant and reference columns use
// COLLATE "C" so list() orders by bytes whatever the database locale, as SQLite does.
//
// Deletion and vacuum(). remove()/purge_expired() delete the rows; vacuum() then makes the deleted
// bytes leave the server's files:
//   1. VACUUM FULL subjects, consents, templates, subject_changes — rewrites heap and TOAST into new
//      files and truncates the old ones. A plain VACUUM is not enough: it compacts pages but leaves
//      the dead row's bytes in the free gap of a page that still holds live rows.
//   2. pg_switch_wal() — the insert's records and the delete's full-page images are in the current
//      WAL segment; closing it lets the checkpoint retire it.
//   3. CHECKPOINT — moves the redo point past them; segments before it are removed. One suffices.
// That only removes the bytes if the SERVER is configured for it. Established by scanning every
// file of a data directory for every 32-byte slice of a deleted template after each step
// (tests/test_store.cpp DeletionReallyDeletesBytes, run by scripts/with_postgres.sh):
//   wal_recycle = off     REQUIRED (default on). With recycling the checkpoint renames old segments
//                         into future ones, and the deleted template stays in pg_wal until overwritten.
//   wal_keep_size = 0     (the default) — otherwise that much old WAL is kept on purpose.
//   no replication slot   holding WAL back, archive_mode = off (archived segments are copies).
//   min_wal_size          does not matter once wal_recycle is off (32MB and 80MB both pass).
//   log_statement         not 'all'/'mod' (logged statements carry their parameters, i.e. ciphertext).
// Backups (base backups, PITR archives) and streaming replicas keep their own copies: deletion on the
// primary never reaches them — operators must expire those too. Steps 2–3 need superuser, or
// pg_checkpoint plus EXECUTE on pg_switch_wal; without them vacuum() still does step 1 and the WAL
// ages out on the server's own schedule. Step 1 needs the tables' owner and locks them meanwhile.
// Bytes may still sit in unallocated blocks of the filesystem or disk: that is below the database.
#pragma once

#include <memory>
#include <string>

#include "faceproof/store.hpp"

namespace faceproof::store_detail {

// Connects with a libpq URI ("postgresql://…"; connect_timeout defaults to 10 s, client_encoding
// to UTF8, both overridable in the URI) and applies pending migrations. Throws Error{store_error}
// with libpq's or the server's message (any password from the URI scrubbed).
std::unique_ptr<Store> open_postgres(const std::string& url);

}  // namespace faceproof::store_detail
