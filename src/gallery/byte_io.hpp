// Little binary writer and bounds-checked reader for the gallery's serialised forms (index images,
// snapshots): plain values in host byte order (a snapshot stays on the node that wrote it),
// arrays with their count, length-prefixed text.
//
// ByteReader: every read is checked against the input; a short or inconsistent input is
// Error{invalid_argument} "<what>: truncated" (what names the format, e.g. "gallery snapshot").
// Thread safety: one reader or writer per thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "faceproof/error.hpp"

namespace faceproof::gallery {

class ByteWriter {
public:
    explicit ByteWriter(std::size_t reserve = 0) { out_.reserve(reserve); }
    template <class T>
    void pod(const T& value) {
        bytes(&value, sizeof value);
    }
    void bytes(const void* data, std::size_t size) {
        const auto* p = static_cast<const std::uint8_t*>(data);
        out_.insert(out_.end(), p, p + size);
    }
    template <class T>
    void array(const std::vector<T>& values) {
        pod<std::uint64_t>(values.size());
        bytes(values.data(), values.size() * sizeof(T));
    }
    void text(const std::string& s) {
        pod<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
        bytes(s.data(), s.size());
    }
    std::vector<std::uint8_t>& out() { return out_; }

private:
    std::vector<std::uint8_t> out_;
};

class ByteReader {
public:
    ByteReader(std::span<const std::uint8_t> in, std::string what) : in_(in), what_(std::move(what)) {}
    [[noreturn]] void fail(const std::string& why) const { throw Error(ErrorCode::invalid_argument, what_ + ": " + why); }
    template <class T>
    T pod() {
        T value;
        bytes(&value, sizeof value);
        return value;
    }
    void bytes(void* data, std::size_t size) {
        if (size > remaining()) fail("truncated");
        if (size == 0) return;  // an empty array: its data() may be null, which memcpy must not get
        std::memcpy(data, in_.data() + position_, size);
        position_ += size;
    }
    // An array written by ByteWriter::array, of exactly `expected` entries.
    template <class T>
    std::vector<T> array(std::size_t expected) {
        const auto count = pod<std::uint64_t>();
        if (count != expected) fail("an array has " + std::to_string(count) + " entries, expected " + std::to_string(expected));
        if (count > remaining() / std::max<std::size_t>(1, sizeof(T))) fail("truncated");
        std::vector<T> values(count);
        bytes(values.data(), count * sizeof(T));
        return values;
    }
    std::string text() {
        const auto size = pod<std::uint32_t>();
        if (size > remaining()) fail("truncated");
        std::string s(reinterpret_cast<const char*>(in_.data() + position_), size);
        position_ += size;
        return s;
    }
    std::size_t remaining() const noexcept { return in_.size() - position_; }
    bool done() const noexcept { return position_ == in_.size(); }

private:
    std::span<const std::uint8_t> in_;
    std::string what_;
    std::size_t position_ = 0;
};

}  // namespace faceproof::gallery
