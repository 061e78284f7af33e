// JSON shapes of document checks, shared by `faceproof document ...`, `faceproof verify --document`
// and the HTTP service:
//   mrz_json:       {"format", "lines", "document_code", "issuing_state", "document_number",
//                    "optional_data_1", "optional_data_2", "birth_date", "sex", "expiry_date",
//                    "nationality", "primary_identifier", "secondary_identifier",
//                    "name_possibly_truncated", "check_digits": [{"name", "expected", "computed",
//                    "ok"}], "check_digits_ok", "dates": {"birth_date": {"raw", "date", "state",
//                    "ok"}, "expiry_date": {...}}, "valid", "reasons": [...]}
//   id_number_json: {"number", "region_code", "birth_date", "sequence_code", "check_character",
//                    "computed_check_character", "check_character_ok", "birth_date_ok", "valid",
//                    "reasons": [...]}
//   document_check_json: {"status": "valid" | "invalid" | "untrusted", "checks": {"sod_signature",
//                    "sod_signature_detail", "dg_hashes": {"DG1": "match" | "mismatch" | "absent", ...},
//                    "hash_algorithm", "signature_algorithm", "chain", "chain_detail",
//                    "document_signer", "csca", "chain_checked_at": "signing_time" | "now",
//                    "mrz_check_digits": "valid" | "invalid", "document_expired"}, "reasons",
//                    "mrz": mrz_json, "portrait": {"format", "encoding", "width", "height", "bytes"},
//                    "portraits", "chip": {"security_infos": [...], "active_authentication_key",
//                    "authenticity": "not checked: ..."}}
//                    The portrait's pixels are never in it, only its size and format.
// Dates are ISO 8601 ("1974-08-12") when they are calendar dates, else null.
#pragma once

#include <nlohmann/json.hpp>

#include "document/id_number.hpp"
#include "faceproof/document.hpp"
#include "faceproof/mrz.hpp"

namespace faceproof {

nlohmann::json mrz_json(const Mrz& mrz, const MrzDateChecks& dates);
nlohmann::json id_number_json(const CitizenIdNumber& number);
nlohmann::json document_check_json(const DocumentCheck& check);
// What the audit trail keeps of a document decision: {"status", "reasons", "document_code",
// "issuing_state"} — no document number, name or portrait (the caller adds a keyed pseudonym).
nlohmann::json document_audit_details(const DocumentCheck& check);

// What passive authentication cannot tell, said wherever a document decision is shown.
inline constexpr const char* kCloneNote =
    "not checked: passive authentication proves the files are the ones the issuing State signed, not that "
    "this is the original chip (a clone passes); chip or active authentication needs the reader";

}  // namespace faceproof
