#include "server/liveness_session_service.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <sodium.h>

#include "faceproof/crypto.hpp"
#include "faceproof/liveness_session.hpp"
#include "faceproof/proofing.hpp"
#include "report/json_report.hpp"
#include "server/request_images.hpp"
#include "server/retry_later.hpp"
#include "store/rfc3339.hpp"
#include "util/naming.hpp"
#include "util/number_list.hpp"

namespace faceproof::server {
namespace {

// Sessions are purged this long after they expire (a decided session's result stays readable).
constexpr std::int64_t kKeepAfterExpiryMs = 3'600'000;
constexpr std::int64_t kPurgeEveryMs = 60'000;

std::string random_hex(std::size_t bytes) {
    ensure_sodium();
    std::vector<std::uint8_t> buffer(bytes);
    randombytes_buf(buffer.data(), buffer.size());
    return to_hex(buffer);
}

std::string token_hash(const std::string& token) {
    return sha256_hex(std::span(reinterpret_cast<const std::uint8_t*>(token.data()), token.size()));
}

std::string probe_ad(const LivenessSessionRecord& s) { return "faceproof/session-probe|" + s.tenant + "|" + s.id; }

std::string rfc3339_of(std::int64_t unix_ms) {
    const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(unix_ms));
    const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                  utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(unix_ms % 1000));
    return text;
}

// A list field: a JSON array (JSON body, or a multipart part holding one) or "1,2,3" text.
std::vector<double> number_list(const RequestBody& body, const std::string& name, std::size_t max_count) {
    if (const auto text = body.is_json() ? std::nullopt : body.text(name); text && text->find('[') == std::string::npos)
        return parse_number_list(*text, "\"" + name + "\"", max_count);
    const auto value = body.json(name);
    if (!value) return {};
    if (!value->is_array()) throw Error(ErrorCode::invalid_argument, "\"" + name + "\" must be an array of numbers");
    if (value->size() > max_count)
        throw Error(ErrorCode::invalid_argument, "\"" + name + "\": more than " + std::to_string(max_count) + " values");
    std::vector<double> out;
    for (const auto& v : *value) {
        if (!v.is_number() || !std::isfinite(v.get<double>()))
            throw Error(ErrorCode::invalid_argument, "\"" + name + "\" must be an array of numbers");
        out.push_back(v.get<double>());
    }
    return out;
}

LivenessReport report_of(const LivenessSessionRecord& s) {
    const auto result = nlohmann::json::parse(s.result);
    LivenessReport r;
    r.session_id = s.id;
    r.session_decision = result.value("decision", "not_live");
    r.live = r.session_decision == "live";
    for (const auto& reason : result.value("reasons", nlohmann::json::array())) r.reasons.push_back(reason.get<std::string>());
    if (!r.live && r.reasons.empty()) r.reasons.push_back("NOT_LIVE");
    const auto scores = result.value("scores", nlohmann::json::object());
    r.score = scores.value("passive_median", 0.0);
    r.threshold = result.value("thresholds", nlohmann::json::object()).value("passive_threshold", 0.0);
    r.passive_live = r.score >= r.threshold;
    r.burst = true;
    r.challenge.assessed = true;
    r.challenge.min_same_face_similarity = scores.value("min_same_face_similarity", 1.0);
    return r;
}

}  // namespace

LivenessSessionService::LivenessSessionService(const ServerConfig& config, std::unique_ptr<Store> store, DataKey key,
                                               Workers& workers, Registry& registry, LivenessLockout& lockout)
    : config_(config),
      store_(std::move(store)),
      key_(std::move(key)),
      workers_(workers),
      registry_(registry),
      lockout_(lockout) {}

std::int64_t LivenessSessionService::now_ms() const { return store_detail::now_unix_ms(); }

// requires: store_mutex_ held.
void LivenessSessionService::purge_expired() {
    const std::int64_t now = now_ms();
    if (now - last_purge_ms_ < kPurgeEveryMs) return;
    last_purge_ms_ = now;
    store_->purge_sessions(now - kKeepAfterExpiryMs);
}

Reply LivenessSessionService::create(const ApiPrincipal& p, const RequestBody& body) {
    const ChallengeMode mode = parse_challenge_mode(body.text("mode").value_or("motion"));
    const std::string subject = body.text("subject").value_or("");
    if (!subject.empty()) check_reference(subject);
    if (const int wait = lockout_.locked_for(p.key_id, p.tenant, subject))
        throw RetryLater(ErrorCode::rate_limited, "too many failed liveness checks for this subject or API key; locked out",
                         wait);
    const LivenessChallenge challenge = LivenessChallenge::draw(mode);
    const std::string token = kSessionTokenPrefix + random_hex(32);
    LivenessSessionRecord s;
    s.id = random_hex(16);
    s.tenant = p.tenant;
    s.subject = subject;
    s.key_id = p.key_id;
    s.mode = to_string(mode);
    s.challenge = challenge.to_json().dump();
    s.token_hash = token_hash(token);
    s.created_unix_ms = now_ms();
    s.expires_unix_ms = s.created_unix_ms + std::int64_t{config_.liveness_session_ttl_s} * 1000;
    {
        std::lock_guard lock(store_mutex_);
        purge_expired();
        store_->create_session(s);
    }
    registry_.record(p.actor(), p.tenant, "liveness_session", subject, "created", {{"session", s.id}, {"mode", s.mode}});
    return {201,
            {{"session_id", s.id},
             {"client_token", token},
             {"expires_at", rfc3339_of(s.expires_unix_ms)},
             {"challenge", challenge.to_json()}}};
}

LivenessSessionRecord LivenessSessionService::authorised(const SessionCaller& caller, const std::string& id) {
    const auto not_found = [&] { return Error(ErrorCode::not_found, "no liveness session " + id.substr(0, 64) + " for this caller"); };
    if (id.size() != 32 || id.find_first_not_of("0123456789abcdef") != std::string::npos) throw not_found();
    std::optional<LivenessSessionRecord> s;
    {
        std::lock_guard lock(store_mutex_);
        s = store_->find_session(id);
    }
    if (!s) throw not_found();
    if (caller.principal) {
        if (caller.principal->tenant != s->tenant) throw not_found();
    } else {
        const std::string presented = token_hash(caller.client_token);
        if (presented.size() != s->token_hash.size() ||
            sodium_memcmp(presented.data(), s->token_hash.data(), presented.size()) != 0)
            throw not_found();
    }
    return *s;
}

Reply LivenessSessionService::status(const SessionCaller& caller, const std::string& id) {
    const LivenessSessionRecord s = authorised(caller, id);
    std::string state = s.state;
    if (state == "open" && s.expires_unix_ms <= now_ms()) state = "expired";
    nlohmann::json out = {{"session_id", s.id},
                          {"state", state},
                          {"mode", s.mode},
                          {"created_at", rfc3339_of(s.created_unix_ms)},
                          {"expires_at", rfc3339_of(s.expires_unix_ms)},
                          {"challenge", nlohmann::json::parse(s.challenge)}};
    if (!s.subject.empty()) out["subject"] = s.subject;
    if (!s.result.empty()) out["result"] = nlohmann::json::parse(s.result);
    return {200, out};
}

Reply LivenessSessionService::capture(const SessionCaller& caller, const std::string& id, const RequestBody& body) {
    LivenessSessionRecord s = authorised(caller, id);
    const LivenessChallenge challenge = LivenessChallenge::from_json(nlohmann::json::parse(s.challenge));
    const auto max_frames = static_cast<std::size_t>(config_.liveness_session_max_frames);
    // Everything that can be refused without touching the session is refused first, so that a
    // malformed request does not use up an honest client's session.
    const auto frames = field_images(body, "frame", 2, max_frames);
    const std::vector<double> times = number_list(body, "timestamps_ms", max_frames);
    if (times.size() != frames.size())
        throw Error(ErrorCode::invalid_argument, "\"timestamps_ms\": " + std::to_string(times.size()) + " values for " +
                                                     std::to_string(frames.size()) + " frames");
    for (std::size_t i = 0; i < times.size(); ++i)
        if (times[i] < 0 || times[i] > 1000.0 * config_.liveness_session_ttl_s || (i > 0 && times[i] < times[i - 1]))
            throw Error(ErrorCode::invalid_argument,
                        "\"timestamps_ms\": must start at 0 or later, never decrease and stay within the session's time");
    std::vector<double> colors = number_list(body, "color_indices", max_frames);
    if (challenge.mode == ChallengeMode::motion_light) {
        if (colors.size() != frames.size())
            throw Error(ErrorCode::invalid_argument, "\"color_indices\": one colour index per frame is needed in motion_light");
        for (double c : colors)
            if (c != std::floor(c) || c < -1 || c >= static_cast<double>(challenge.colors.size()))
                throw Error(ErrorCode::invalid_argument, "\"color_indices\": an index of the challenge's colours (or -1)");
    } else if (!colors.empty()) {
        throw Error(ErrorCode::invalid_argument, "\"color_indices\" are for motion_light sessions");
    }
    if (const int wait = lockout_.locked_for(s.key_id, s.tenant, s.subject))
        throw RetryLater(ErrorCode::rate_limited, "too many failed liveness checks for this subject or API key; locked out",
                         wait);
    check_decoding_budget(frames, config_.image_limits, config_.max_request_decoded_bytes);
    {
        std::lock_guard lock(store_mutex_);
        if (!store_->advance_session(s.id, "open", "capturing", now_ms())) {
            const auto now = store_->find_session(s.id);
            if (now && now->state == "open")
                throw Error(ErrorCode::expired, "liveness session " + s.id + " expired at " + rfc3339_of(now->expires_unix_ms) +
                                                    ": create a new one");
            throw Error(ErrorCode::conflict, "liveness session " + s.id + " was captured already: create a new one");
        }
    }
    SessionDecision decision;
    std::vector<std::uint8_t> sealed_probe;
    try {
        std::vector<SessionFrame> measured;
        {
            auto worker = workers_.lease();
            for (std::size_t i = 0; i < frames.size(); ++i) {
                const std::string role = "frame " + std::to_string(i + 1);
                const cv::Mat image = decode(frames[i], config_.image_limits);
                const FaceContext face = naming(role, [&] { return (*worker)->engine().context(image); });
                measured.push_back(measure_session_frame(face, times[i], colors.empty() ? -1 : static_cast<int>(colors[i]),
                                                         (*worker)->liveness()));
            }
        }
        SessionDecisionOptions options;
        options.passive_threshold = LivenessCalibration::shipped().threshold;
        options.max_frames = config_.liveness_session_max_frames;
        decision = decide_session(challenge, measured, options);
        if (decision.best_frame >= 0) {
            sealed_probe = seal(key_, frames[static_cast<std::size_t>(decision.best_frame)].bytes, probe_ad(s));
        }
    } catch (const Error& e) {
        std::lock_guard lock(store_mutex_);
        store_->finish_session(s.id, "failed", nlohmann::json{{"error", std::string(to_string(e.code()))}}.dump(), "", {});
        throw;
    } catch (...) {
        std::lock_guard lock(store_mutex_);
        store_->finish_session(s.id, "failed", nlohmann::json{{"error", "internal"}}.dump(), "", {});
        throw;
    }
    nlohmann::json result = decision.to_json();
    {
        std::lock_guard lock(store_mutex_);
        store_->finish_session(s.id, "decided", result.dump(), sealed_probe.empty() ? "" : key_.id(), sealed_probe);
    }
    // A refusal counts towards the lockouts; "retry" (too dark, too few frames) does not.
    if (decision.decision != "retry") lockout_.record(s.key_id, s.tenant, s.subject, decision.decision == "live");
    const std::string actor = caller.principal ? caller.principal->actor() : "liveness-session:" + s.id;
    registry_.record(actor, s.tenant, "liveness_session", s.subject, decision.decision,
                     {{"session", s.id},
                      {"mode", s.mode},
                      {"frames", frames.size()},
                      {"reasons", decision.reasons},
                      {"passive_median", round_to(decision.passive_median, 4)}});
    result["session_id"] = s.id;
    result["state"] = "decided";
    return {200, result};
}

SessionProbe LivenessSessionService::take_probe(const SessionCaller& caller, const std::string& id) {
    const LivenessSessionRecord seen = authorised(caller, id);
    if (seen.state != "decided")
        throw Error(ErrorCode::conflict, "liveness session " + seen.id + " is " + seen.state +
                                             (seen.state == "used" ? ": it was used by a verification already"
                                                                   : ": only a decided session can be verified"));
    std::optional<LivenessSessionRecord> taken;
    {
        std::lock_guard lock(store_mutex_);
        taken = store_->take_session_probe(seen.id);
    }
    if (!taken) {
        if (!seen.sealed_probe.empty())  // taken meanwhile by a concurrent verification
            throw Error(ErrorCode::conflict, "liveness session " + seen.id + " was used by a verification already");
        throw Error(ErrorCode::no_face, "liveness session " + seen.id + " kept no usable frame to verify");
    }
    SessionProbe probe;
    probe.session_id = taken->id;
    probe.subject = taken->subject;
    probe.key_id = taken->key_id;
    probe.image = open(key_, taken->sealed_probe, probe_ad(*taken));
    probe.liveness = report_of(*taken);
    return probe;
}

}  // namespace faceproof::server
