// Recorded attack captures for `faceproof eval liveness-sessions --captures DIR` (README, challenge
// liveness): what a replay or injection attacker can make from photos of the victim, each for a
// challenge it was "made for" (drawn fresh, as the server would have issued it).
//
//   faceproof_session_captures OUT_DIR [--photo PHOTO]... [--people N] [--seconds S] [--models DIR]
//
// People: the usable faces of the photos (each framed alone, detected again as the only face), in
// photo order, at most N (default 4). Default photos: test-data/face-api/sample1..6.jpg of the source
// tree (installed by scripts/setup.sh; no photo is part of the repository). For each person:
//   still-P   the photo replayed: S seconds (default 3) at 10 fps, identical frames but for sensor
//             noise (sigma 3) and JPEG (quality 90); a motion challenge.
//   looped-P  a 1 s clip of the photo with a small hand tremor, looped to S seconds (the loop's
//             frames are byte-identical, as a decoded video loop is); a motion challenge.
//   closer-P  the photo moved closer to the camera (tighter crops at the same frame size) whenever
//             the challenge asks move_closer, still otherwise, timed like the web page's plan, with
//             the colour indices of the screen but no light response on the face; a motion_light
//             challenge containing move_closer (the attacker asks for sessions until one does).
//   spliced-P two people: S/2 seconds of person P, then S/2 of the next person; a motion challenge.
// Each OUT_DIR/<name>/ holds capture.json ({"attack", "challenge", "frames": [{"file", "time_ms",
// "color_index"}]}) and the frames f000.jpg, f001.jpg, ...
//
// Exit status: 0 done, 2 failure (message on stderr), 64 usage.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "tool_args.hpp"
#include "eval/session_simulation.hpp"
#include "faceproof/engine.hpp"
#include "faceproof/error.hpp"
#include "faceproof/image.hpp"
#include "faceproof/liveness_session.hpp"
#include "faceproof/models.hpp"

using namespace faceproof;
namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage =
    "usage: faceproof_session_captures OUT_DIR [--photo PHOTO]... [--people N] [--seconds S] [--models DIR]\n";

using faceproof::tools::UsageError;
using faceproof::tools::parse_double;
using faceproof::tools::parse_int;

constexpr double kFrameMs = 100;      // 10 fps, as the web page
constexpr int kFrameWidth = 400;      // px
constexpr double kMargin = 0.9;       // face size on each side of the face: a webcam framing
constexpr double kCloserMargin = 0.45;  // the photo brought closer: the face ~1.5x larger
// The web page's plan (web/app.js buildPlan): baseline, then per step move / hold / back.
constexpr double kBaselineMs = 1000, kMoveMs = 1400, kBackMs = 1100, kMinHoldMs = 300;

struct Person {
    cv::Mat photo;
    cv::Rect2f box;
    std::string from;  // photo file name and face number
};

cv::Rect grown(const cv::Rect2f& box, double margin, cv::Size size) {
    const cv::Rect2f r(box.x - float(margin) * box.width, box.y - float(margin) * box.height,
                       box.width * float(1 + 2 * margin), box.height * float(1 + 2 * margin));
    return cv::Rect(cv::Point(int(std::floor(r.x)), int(std::floor(r.y))), cv::Point(int(std::ceil(r.br().x)), int(std::ceil(r.br().y)))) &
           cv::Rect(0, 0, size.width, size.height);
}

// The face with `margin` x its size on each side, shifted by (dx, dy) face widths, kFrameWidth wide.
cv::Mat framed(const Person& p, double margin, double dx = 0, double dy = 0) {
    cv::Rect2f box = p.box;
    box.x += float(dx) * box.width;
    box.y += float(dy) * box.height;
    cv::Mat frame = p.photo(grown(box, margin, p.photo.size())).clone();
    cv::resize(frame, frame, cv::Size(kFrameWidth, int(std::lround(double(kFrameWidth) * frame.rows / frame.cols))), 0, 0,
               cv::INTER_AREA);
    return frame;
}

// A camera's frame of the scene: sensor noise (sigma 3 grey levels), different for every seed.
cv::Mat camera(const cv::Mat& scene, std::uint64_t seed) {
    cv::Mat noise(scene.size(), CV_32FC3), noisy;
    cv::RNG rng(seed * 7919 + 17);
    rng.fill(noise, cv::RNG::NORMAL, 0, 3);
    scene.convertTo(noisy, CV_32FC3);
    noisy += noise;
    noisy.convertTo(noisy, CV_8UC3);
    return noisy;
}

// A single usable face in the frame: exactly one detected face of significant size (a quarter of
// the primary's area or more, as measure_session_frame counts them).
bool single_face(Engine& engine, const cv::Mat& frame) {
    const std::vector<Face> faces = engine.detect(frame);
    if (faces.empty()) return false;
    const double primary = faces.front().box.area();
    return std::count_if(faces.begin(), faces.end(), [primary](const Face& f) { return f.box.area() >= 0.25 * primary; }) == 1;
}

std::vector<Person> find_people(Engine& engine, const std::vector<fs::path>& photos, int wanted) {
    std::vector<Person> people;
    for (const auto& path : photos) {
        const cv::Mat photo = load_image(path);
        const std::vector<Face> faces = engine.detect(photo);
        for (std::size_t i = 0; i < faces.size() && int(people.size()) < wanted; ++i) {
            const Person candidate{photo, faces[i].box, path.filename().string() + " face " + std::to_string(i)};
            if (single_face(engine, framed(candidate, kMargin)) && single_face(engine, framed(candidate, kCloserMargin)))
                people.push_back(candidate);
        }
    }
    return people;
}

struct Recorder {
    fs::path dir;
    nlohmann::json frames = nlohmann::json::array();
    void add(const cv::Mat& image, double time_ms, int color_index = -1) {
        char name[32];
        std::snprintf(name, sizeof name, "f%03zu.jpg", frames.size());
        if (!cv::imwrite((dir / name).string(), image, {cv::IMWRITE_JPEG_QUALITY, 90}))
            throw Error(ErrorCode::io_error, "cannot write " + (dir / name).string());
        frames.push_back({{"file", name}, {"time_ms", time_ms}, {"color_index", color_index}});
    }
    void finish(const std::string& attack, const LivenessChallenge& challenge) const {
        const nlohmann::json capture = {{"attack", attack}, {"challenge", challenge.to_json()}, {"frames", frames}};
        std::ofstream out(dir / "capture.json");
        out << capture.dump(1) << "\n";
        if (!out) throw Error(ErrorCode::io_error, "cannot write " + (dir / "capture.json").string());
    }
};

Recorder start(const fs::path& out, const std::string& name) {
    Recorder r{out / name};
    fs::create_directories(r.dir);
    return r;
}


void write_still(const fs::path& out, const Person& p, int index, int frames) {
    Recorder r = start(out, "still-" + std::to_string(index));
    const cv::Mat scene = framed(p, kMargin);
    for (int i = 0; i < frames; ++i) r.add(camera(scene, std::uint64_t(index) * 100000 + std::uint64_t(i)), kFrameMs * i);
    r.finish("a still photo replayed (" + p.from + ")", LivenessChallenge::draw(ChallengeMode::motion));
}

void write_looped(const fs::path& out, const Person& p, int index, int frames) {
    Recorder r = start(out, "looped-" + std::to_string(index));
    std::vector<cv::Mat> clip;  // 1 s: a hand holding the photo trembles a little
    for (int k = 0; k < 10; ++k) {
        const double a = 2 * CV_PI * k / 10;
        clip.push_back(camera(framed(p, kMargin, 0.02 * std::sin(a), 0.015 * std::cos(a)),
                              std::uint64_t(index) * 100000 + 50000 + std::uint64_t(k)));
    }
    for (int i = 0; i < frames; ++i) r.add(clip[std::size_t(i) % clip.size()], kFrameMs * i);
    r.finish("a 1 s clip looped (" + p.from + ")", LivenessChallenge::draw(ChallengeMode::motion));
}

void write_spliced(const fs::path& out, const Person& a, const Person& b, int index, int frames) {
    Recorder r = start(out, "spliced-" + std::to_string(index));
    const cv::Mat first = framed(a, kMargin), second = framed(b, kMargin);
    for (int i = 0; i < frames; ++i)
        r.add(camera(i < frames / 2 ? first : second, std::uint64_t(index) * 100000 + 70000 + std::uint64_t(i)), kFrameMs * i);
    r.finish("two people spliced (" + a.from + ", then " + b.from + ")", LivenessChallenge::draw(ChallengeMode::motion));
}

// The photo brought closer on every move_closer step of the page's plan, no light response.
void write_closer(const fs::path& out, const Person& p, int index) {
    LivenessChallenge challenge = LivenessChallenge::draw(ChallengeMode::motion_light);
    const auto asks_closer = [](const LivenessChallenge& c) {
        return std::any_of(c.steps.begin(), c.steps.end(), [](const ChallengeStep& s) { return s.action == ChallengeAction::move_closer; });
    };
    while (!asks_closer(challenge)) challenge = LivenessChallenge::draw(ChallengeMode::motion_light);
    // Closeness over time: 0 = at kMargin, 1 = at kCloserMargin.
    struct Approach {
        double start, reached, released, rested;
    };
    std::vector<Approach> approaches;
    double at = kBaselineMs;
    for (const ChallengeStep& s : challenge.steps) {
        const double hold = std::max(kMinHoldMs, double(s.hold_ms));
        if (s.action == ChallengeAction::blink) {
            at += std::max(kMoveMs, hold) + kBackMs;
            continue;
        }
        if (s.action == ChallengeAction::move_closer)
            approaches.push_back({at + 400, at + 900, at + kMoveMs + hold + 200, at + kMoveMs + hold + 700});
        at += kMoveMs + hold + kBackMs;
    }
    Recorder r = start(out, "closer-" + std::to_string(index));
    for (int i = 0; kFrameMs * i < at; ++i) {
        const double t = kFrameMs * i;
        double closeness = 0;
        for (const Approach& a : approaches) {
            if (t > a.start && t < a.reached) closeness = (t - a.start) / (a.reached - a.start);
            else if (t >= a.reached && t <= a.released) closeness = 1;
            else if (t > a.released && t < a.rested) closeness = 1 - (t - a.released) / (a.rested - a.released);
        }
        const double margin = kMargin + closeness * (kCloserMargin - kMargin);
        r.add(camera(framed(p, margin), std::uint64_t(index) * 100000 + 90000 + std::uint64_t(i)), t,
              colour_on_screen_at(challenge.colors, t));
    }
    r.finish("a photo moved closer, without the screen's light on it (" + p.from + ")", challenge);
}


}  // namespace

int main(int argc, char** argv) {
    try {
        std::vector<std::string> positional;
        std::vector<fs::path> photos;
        int people_wanted = 4;
        double seconds = 3;
        std::optional<fs::path> models;
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            const auto value = [&]() -> std::string {
                if (i + 1 >= argc) throw UsageError{a + " needs a value"};
                return argv[++i];
            };
            if (a == "--photo") photos.emplace_back(value());
            else if (a == "--people") people_wanted = parse_int(a, value(), 1, 64);
            else if (a == "--seconds") seconds = parse_double(a, value(), 1.5, 10);
            else if (a == "--models") models = value();
            else if (a == "-h" || a == "--help") {
                std::cout << kUsage;
                return 0;
            } else if (!a.empty() && a[0] == '-') throw UsageError{"unknown option " + a};
            else positional.push_back(a);
        }
        if (positional.size() != 1) throw UsageError{"one OUT_DIR expected"};
        if (photos.empty())
            for (int n = 1; n <= 6; ++n) {
                const fs::path p = fs::path(FACEPROOF_SOURCE_DIR) / "test-data/face-api" / ("sample" + std::to_string(n) + ".jpg");
                if (fs::exists(p)) photos.push_back(p);
            }
        if (photos.empty()) throw Error(ErrorCode::io_error, "no photos: give --photo, or run scripts/setup.sh for test-data/face-api");

        const fs::path out = positional[0];
        fs::create_directories(out);
        auto engine = Engine::create(ModelSet::open(resolve_model_dir(models)));
        const std::vector<Person> people = find_people(*engine, photos, people_wanted);
        if (people.empty()) throw Error(ErrorCode::no_face, "no usable single face in the photos");
        const int frames = int(std::lround(seconds * 1000 / kFrameMs));
        for (std::size_t i = 0; i < people.size(); ++i) {
            write_still(out, people[i], int(i), frames);
            write_looped(out, people[i], int(i), frames);
            write_closer(out, people[i], int(i));
            if (i + 1 < people.size()) write_spliced(out, people[i], people[i + 1], int(i), frames);
        }
        std::cout << "wrote " << (4 * people.size() - 1) << " captures of " << people.size() << " people to " << out.string() << "\n";
        return 0;
    } catch (const UsageError& e) {
        std::cerr << "faceproof_session_captures: " << e.message << "\n" << kUsage;
        return 64;
    } catch (const std::exception& e) {
        std::cerr << "faceproof_session_captures: " << e.what() << "\n";
        return 2;
    }
}
