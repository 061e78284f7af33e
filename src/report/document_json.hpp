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
// Dates are ISO 8601 ("1974-08-12") when they are calendar dates, else null.
#pragma once

#include <nlohmann/json.hpp>

#include "document/id_number.hpp"
#include "document/mrz.hpp"

namespace faceproof {

nlohmann::json mrz_json(const Mrz& mrz, const MrzDateChecks& dates);
nlohmann::json id_number_json(const CitizenIdNumber& number);

}  // namespace faceproof
