// libFuzzer target: the chip's data groups DG1, DG2, DG14, DG15 (src/document/data_groups.hpp) over
// the bounded BER-TLV reader (src/document/tlv.hpp), from the bytes a hostile chip could return.
// The first byte chooses the parser (its value modulo 5, the fifth being a walk of the whole TLV
// tree), the rest is the file. Only faceproof::Error may escape; what parses must hold its
// promises (a portrait's format matches its magic bytes, its image lies within the input, the MRZ
// lines have one of the three document lengths).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <span>

#include "document/data_groups.hpp"
#include "document/tlv.hpp"
#include "faceproof/error.hpp"

namespace {

[[noreturn]] void fail(const char* message) {
    std::fprintf(stderr, "fuzz_data_groups: %s\n", message);
    std::abort();
}

void check_dg1(const faceproof::Dg1Mrz& mrz) {
    const std::size_t lines = mrz.lines.size();
    const std::size_t length = lines == 0 ? 0 : mrz.lines[0].size();
    const bool known = (lines == 3 && length == 30) || (lines == 2 && (length == 36 || length == 44));
    if (!known) fail("parse_dg1 returned lines of no document type");
    for (const auto& line : mrz.lines) {
        if (line.size() != length) fail("parse_dg1 returned lines of different lengths");
    }
}

void check_dg2(const std::vector<faceproof::Portrait>& portraits, std::size_t input_size) {
    if (portraits.empty()) fail("parse_dg2 returned no portrait");
    for (const auto& portrait : portraits) {
        const auto& image = portrait.image;
        if (image.empty() || image.size() > input_size) fail("parse_dg2 returned an image size outside the input");
        const bool jpeg = image.size() >= 2 && image[0] == 0xFF && image[1] == 0xD8;
        const bool jp2 = image.size() >= 4 && ((image[0] == 0x00 && image[1] == 0x00 && image[2] == 0x00 && image[3] == 0x0C) ||
                                               (image[0] == 0xFF && image[1] == 0x4F && image[2] == 0xFF && image[3] == 0x51));
        if (!((portrait.format == "jpeg" && jpeg) || (portrait.format == "jp2" && jp2))) {
            fail("parse_dg2 returned a format its magic bytes contradict");
        }
        if (portrait.encoding != faceproof::kEncodingIso19794_5 && portrait.encoding != faceproof::kEncodingIso39794_5) {
            fail("parse_dg2 returned an unknown encoding");
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::span<const std::uint8_t> file(data + 1, size - 1);
    try {
        switch (data[0] % 5) {
            case 0: check_dg1(faceproof::parse_dg1(file)); break;
            case 1: check_dg2(faceproof::parse_dg2(file), file.size()); break;
            case 2: {
                const auto infos = faceproof::parse_dg14(file);
                if (infos.empty()) fail("parse_dg14 returned no SecurityInfo");
                break;
            }
            case 3: {
                const auto key = faceproof::parse_dg15(file);
                if (key.algorithm != "RSA" && key.algorithm != "EC") fail("parse_dg15 returned another algorithm");
                if (key.subject_public_key_info.size() > file.size()) fail("parse_dg15 returned more bytes than given");
                break;
            }
            default: faceproof::tlv::validate(file, "fuzz"); break;
        }
    } catch (const faceproof::Error& error) {
        if (error.code() != faceproof::ErrorCode::document_malformed) fail("an error other than document_malformed");
    } catch (const std::exception& error) {
        std::fprintf(stderr, "fuzz_data_groups: unexpected exception: %s\n", error.what());
        std::abort();
    }
    return 0;
}
