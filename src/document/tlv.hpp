// faceproof — bounded BER-TLV reader for the files of an ICAO 9303 chip (LDS data groups).
//
// Reads tags of 1–3 bytes (ISO/IEC 7816-4, X.690: low five bits 0x1F, then continuation bytes)
// and definite lengths (short form, or long form with 1–4 length bytes). Indefinite lengths (0x80)
// are refused: the 9303 LDS is DER/definite throughout. Every length is checked against the bytes
// left in the enclosing value before anything is read; nothing is allocated from a claimed length.
// Nesting depth is bounded by kMaxDepth (children() of a value at the limit throws).
//
// Tags are kept as the big-endian value of their bytes: 0x61, 0x5F1F, 0x7F61, 0x1F8101.
// Every failure throws faceproof::Error{document_malformed} with the file name given as context.
//
// Thread safety: a Reader is a small value over borrowed bytes; distinct readers are independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace faceproof::tlv {

inline constexpr int kMaxDepth = 32;

struct Element {
    std::uint32_t tag = 0;                   // big-endian tag bytes, e.g. 0x7F61
    bool constructed = false;                // bit 0x20 of the first tag byte
    std::span<const std::uint8_t> value;     // the value bytes (views into the reader's input)
    std::span<const std::uint8_t> encoded;   // tag + length + value
    int depth = 0;                           // nesting depth of this element (outermost: 0)
};

// "7F61" — the tag as the hex digits used in the specifications and in error messages.
std::string tag_hex(std::uint32_t tag);

class Reader {
public:
    // requires: bytes outlives the reader and every Element it returns; depth <= kMaxDepth.
    // context:  the file name put in error messages ("DG2").
    explicit Reader(std::span<const std::uint8_t> bytes, std::string_view context, int depth = 0);

    bool at_end() const noexcept { return offset_ == bytes_.size(); }
    std::size_t remaining() const noexcept { return bytes_.size() - offset_; }

    // The next element; advances past it.
    // throws: document_malformed when no element is left, the tag or length is truncated, the tag
    //         is longer than 3 bytes, the length is indefinite or longer than 4 bytes, or the
    //         length exceeds the bytes left.
    Element next();

    // next(), requiring its tag. `what` names the structure in the error message.
    // throws: as next(), and document_malformed when the tag differs.
    Element expect(std::uint32_t tag, std::string_view what);

    // Scans the remaining siblings for the first element with this tag and advances past it;
    // nullopt (and the reader at its end) when there is none.
    // throws: as next() for any malformed sibling before it.
    std::optional<Element> find(std::uint32_t tag);

    // A reader over the value of a constructed element, one level deeper.
    // throws: document_malformed when the element is primitive or the depth would exceed kMaxDepth.
    Reader children(const Element& element) const;

    // Throws document_malformed "<context>: <what>: N unexpected bytes after ..." unless at_end().
    void expect_end(std::string_view what) const;

    const std::string& context() const noexcept { return context_; }
    int depth() const noexcept { return depth_; }

private:
    std::span<const std::uint8_t> bytes_;
    std::size_t offset_ = 0;
    std::string context_;
    int depth_ = 0;
};

// Walks the whole tree below `bytes` (every constructed value parsed as a sequence of TLVs down to
// kMaxDepth; the recursion is bounded by it) and throws document_malformed on the first malformed element.
void validate(std::span<const std::uint8_t> bytes, std::string_view context, int depth = 0);

// Non-negative INTEGER content (big-endian, leading zero allowed) that fits in 64 bits.
// throws: document_malformed when empty, negative or wider than 64 bits.
std::uint64_t read_unsigned(const Element& element, std::string_view context, std::string_view what);

// Dotted text of an OBJECT IDENTIFIER's content ("2.23.136.1.1.5").
// throws: document_malformed when empty, a sub-identifier is truncated or wider than 64 bits.
std::string oid_text(std::span<const std::uint8_t> content, std::string_view context);

}  // namespace faceproof::tlv
