// libFuzzer target: the gallery index image (GalleryIndex::restore), what a snapshot holds once it
// is opened. Snapshots are sealed, so only a holder of the data key can write one, but a damaged
// or foreign image must still be refused cleanly, never read out of bounds. The first byte picks
// the options (compact or not, floats kept or not); an image that restores must search and save.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "faceproof/error.hpp"
#include "faceproof/gallery_index.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    faceproof::GalleryIndexOptions options;
    options.dimension = 8;  // small vectors: the structure is what is fuzzed
    options.compact = (data[0] & 1) != 0;
    options.keep_full_precision = !options.compact || (data[0] & 2) != 0;
    options.approximate_from = (data[0] & 4) ? 4 : 0;
    options.threads = 1;
    try {
        const auto index = faceproof::GalleryIndex::restore(options, std::span(data + 1, size - 1));
        std::vector<float> probe(options.dimension, 0.0f);
        probe[0] = 1.0f;
        if (options.keep_full_precision) (void)index->search(probe, 3);
        (void)index->save();
    } catch (const faceproof::Error&) {
    }
    return 0;
}
