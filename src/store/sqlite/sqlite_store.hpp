// SQLite backend of faceproof::Store (see include/faceproof/store.hpp for the contract).
#pragma once

#include <memory>
#include <string>

#include "faceproof/store.hpp"

namespace faceproof::store_detail {

// Opens (creating) the database at path, sets WAL, foreign_keys, synchronous=FULL, secure_delete
// and a busy timeout, then applies pending migrations. Throws Error{store_error}.
std::unique_ptr<Store> open_sqlite(const std::string& path);

}  // namespace faceproof::store_detail
