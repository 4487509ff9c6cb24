#include "examples/groupd/api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>

#include "examples/groupd/document.h"
#include "examples/groupd/metrics.h"
#include "examples/groupd/routes.h"
#include "session/client.pb.h"
#include "session/groups.h"
#include "session/server/session_service.h"
#include "zab/runtime/node.h"

namespace chorus::groupd {

namespace cpb = chorus::client::pb;
using session::member_path;

namespace {

// Where each server records its HTTP address (persistent nodes, one per id).
constexpr const char* kEndpointsPath = "/groupd/endpoints";

HttpReply error_reply(int status, std::string_view message) {
    return HttpReply{status, error_document(message)};
}

// An answer of the session service that is not OK, as HTTP.
HttpReply from_code(const cpb::Response& r) {
    const std::string& why = r.message();
    switch (r.code()) {
        case cpb::NOT_SERVING:
            return error_reply(503,
                               "this server is not serving (no quorum, or catching up); try "
                               "again or use another server: " +
                                   why);
        case cpb::UNCERTAIN:
            return error_reply(503,
                               "the leader changed before the outcome was known; the change "
                               "may or may not have been made; try again: " +
                                   why);
        case cpb::BUSY:
            return error_reply(503, "the server is busy; try again: " + why);
        case cpb::TOO_LARGE:
            return error_reply(413, why);
        case cpb::BAD_REQUEST:
        case cpb::BAD_PATH:
            return error_reply(400, why);
        case cpb::NO_SESSION:
        case cpb::NO_NODE:
            return error_reply(404, why);
        default:
            return error_reply(500, cpb::Code_Name(r.code()) + ": " + why);
    }
}

// A join that kept losing races for its name (concurrent joins, or a
// session expiring under it).
HttpReply conflict(const Route& route) {
    return error_reply(409, "member '" + route.member +
                                "' kept changing while it was joined (joined concurrently?); "
                                "try again");
}

cpb::Request read_request(const std::string& path, bool sync) {
    cpb::Request r;
    r.mutable_read()->set_path(path);
    r.mutable_read()->set_sync(sync);
    return r;
}

cpb::Request write_request(uint64_t session, cpb::Op::Kind kind, const std::string& path,
                           const std::string& data, bool ephemeral) {
    cpb::Request r;
    r.mutable_write()->set_session_id(session);
    cpb::Op* op = r.mutable_write()->add_ops();
    op->set_kind(kind);
    op->set_path(path);
    op->set_data(data);
    op->set_ephemeral(ephemeral);
    op->set_make_parents(kind == cpb::Op::CREATE || kind == cpb::Op::PUT);
    return r;
}

bool blank(std::string_view body) {
    return body.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

struct GroupApi::Impl : std::enable_shared_from_this<GroupApi::Impl> {
    ApiOptions options;
    session::SessionService& service;
    Node& node;
    std::mutex mutex;
    LatencyHistogram commit_latency;          // under mutex
    std::function<HttpCounts()> http_counts;  // set before serving
    std::atomic<bool> recording{false};

    Impl(ApiOptions o, session::SessionService& s, Node& n)
        : options(std::move(o)), service(s), node(n) {}

    using Then = std::function<void(cpb::Response)>;
    // Answers come on the core thread, which must never die of an
    // exception: one is logged (and that request goes unanswered).
    void call(cpb::Request request, Then then) {
        service.handle(std::move(request), [then = std::move(then)](cpb::Response r) {
            try {
                then(std::move(r));
            } catch (const std::exception& e) {
                spdlog::error("groupd: answering a request failed: {}", e.what());
            }
        });
    }
    // A write, its commit latency observed.
    void write(cpb::Request request, Then then) {
        const auto start = std::chrono::steady_clock::now();
        call(std::move(request),
             [self = shared_from_this(), start, then = std::move(then)](cpb::Response r) {
                 {
                     std::lock_guard lock(self->mutex);
                     self->commit_latency.observe(seconds_since(start));
                 }
                 then(std::move(r));
             });
    }

    // Core thread only (inside a service answer): read the tracker directly.
    std::vector<std::string> endpoints() const;
    // Core thread only. Ready: serving, and this server's own HTTP address
    // is in the endpoints it serves (recorded, and applied here), so a
    // document it hands out right after lists it.
    bool ready() const {
        const session::TreeNode* n = service.tracker().node(std::string(kEndpointsPath) + "/" +
                                                            std::to_string(options.server_id));
        return node.status().serving && n && n->data == options.http_address;
    }
    int64_t group_version(const std::string& group) const {
        return service.tracker().group_version(group);
    }

    void join(Route route, std::string metadata, int attempt, Respond respond);
    void rejoin(Route route, std::string metadata, uint64_t session, int attempt, Respond respond);
    void fresh_join(Route route, std::string metadata, int attempt, Respond respond);
    // The member's session, or a 404 answer.
    void find_member(const Route& route, Respond respond, std::function<void(uint64_t)> then);
    // Heartbeats `session` here, moving it here first if another server
    // owns it. then(true): it lives, owned here; then(false): it is gone.
    void own(uint64_t session, Respond respond, std::function<void(bool)> then);
    void heartbeat(Route route, bool with_document, Respond respond);
    void leave(Route route, Respond respond);
    void put_config(Route route, std::string path, std::string body, Respond respond);
    void group_document(Route route, Respond respond);
    // Answers with the group's document (404 if there is no such group).
    void answer_group(const std::string& group, Respond respond);
    void status(Respond respond);
    void metrics(Respond respond);
};

std::vector<std::string> GroupApi::Impl::endpoints() const {
    const session::Tracker& t = service.tracker();
    std::vector<std::string> ids = t.children(kEndpointsPath);
    std::sort(ids.begin(), ids.end(), [](const std::string& a, const std::string& b) {
        return a.size() != b.size() ? a.size() < b.size() : a < b;  // numerically
    });
    // Only the servers of the membership in force here: a server removed
    // (docs/operations.md) leaves the documents at once, though its
    // recorded address stays in the tree.
    const zab::Membership m = node.membership();
    std::vector<std::string> out;
    for (const std::string& id : ids) {
        // (A name that is no server id is a client's node, not a server's:
        // left out, never parsed into an exception.)
        const bool numeric = !id.empty() && id.size() <= 19 &&
                             id.find_first_not_of("0123456789") == std::string::npos;
        if (!m.voters.empty() && (!numeric || !m.contains(std::stoull(id)))) continue;
        if (const session::TreeNode* n = t.node(std::string(kEndpointsPath) + "/" + id))
            out.push_back(n->data);
    }
    return out;
}

// ---- members ----------------------------------------------------------------

void GroupApi::Impl::join(Route route, std::string metadata, int attempt, Respond respond) {
    // After a read barrier: the member may have joined through another
    // server a moment ago.
    call(read_request(member_path(route.group, route.member), /*sync=*/true),
         [self = shared_from_this(), route, metadata, attempt, respond](cpb::Response r) {
             if (r.code() != cpb::OK) return respond(from_code(r));
             if (r.node().exists() && r.node().ephemeral_owner() != 0) {
                 return self->rejoin(route, metadata, r.node().ephemeral_owner(), attempt, respond);
             }
             self->fresh_join(route, metadata, attempt, respond);
         });
}

void GroupApi::Impl::rejoin(Route route, std::string metadata, uint64_t session, int attempt,
                            Respond respond) {
    // The same name while its session lives: new metadata, same session.
    own(session, respond,
        [self = shared_from_this(), route, metadata, session, attempt, respond](bool live) {
            if (!live) {
                if (attempt >= 2) return respond(conflict(route));
                return self->join(route, metadata, attempt + 1, respond);
            }
            self->write(write_request(session, cpb::Op::SET, member_path(route.group, route.member),
                                      metadata, false),
                        [self, route, metadata, attempt, respond](cpb::Response r) {
                            if (r.code() == cpb::NO_NODE) {  // it expired meanwhile
                                if (attempt >= 2) return respond(conflict(route));
                                return self->join(route, metadata, attempt + 1, respond);
                            }
                            if (r.code() != cpb::OK) return respond(from_code(r));
                            self->answer_group(route.group, respond);
                        });
        });
}

void GroupApi::Impl::fresh_join(Route route, std::string metadata, int attempt, Respond respond) {
    cpb::Request open;
    open.mutable_open()->set_timeout_ms(route.timeout_s.value_or(options.default_timeout_s) * 1000);
    write(std::move(open), [self = shared_from_this(), route, metadata, attempt,
                            respond](cpb::Response r) {
        if (r.code() != cpb::OK) return respond(from_code(r));
        const uint64_t session = r.session().session_id();
        self->write(write_request(session, cpb::Op::CREATE, member_path(route.group, route.member),
                                  metadata, /*ephemeral=*/true),
                    [self, route, metadata, attempt, session, respond](cpb::Response r) {
                        if (r.code() == cpb::OK) return self->answer_group(route.group, respond);
                        // Not a member after all: do not leave the session to expire.
                        cpb::Request close;
                        close.mutable_close()->set_session_id(session);
                        self->call(std::move(close), [](cpb::Response) {});
                        if (r.code() == cpb::NODE_EXISTS) {
                            // Another join of the same name won the race.
                            if (attempt < 2)
                                return self->join(route, metadata, attempt + 1, respond);
                            return respond(conflict(route));
                        }
                        respond(from_code(r));
                    });
    });
}

void GroupApi::Impl::find_member(const Route& route, Respond respond,
                                 std::function<void(uint64_t)> then) {
    const std::string path = member_path(route.group, route.member);
    auto not_live = [route] {
        return error_reply(404, "'" + route.member + "' is not a live member of '" + route.group +
                                    "' (never joined, left or expired): join again with PUT");
    };
    call(read_request(path, false),
         [self = shared_from_this(), path, respond, then, not_live](cpb::Response r) {
             if (r.code() != cpb::OK) return respond(from_code(r));
             if (r.node().exists() && r.node().ephemeral_owner() != 0)
                 return then(r.node().ephemeral_owner());
             // Not here yet? It may have joined through another server a moment
             // ago: look again after a read barrier.
             self->call(read_request(path, true), [respond, then, not_live](cpb::Response r) {
                 if (r.code() != cpb::OK) return respond(from_code(r));
                 if (r.node().exists() && r.node().ephemeral_owner() != 0)
                     return then(r.node().ephemeral_owner());
                 respond(not_live());
             });
         });
}

void GroupApi::Impl::own(uint64_t session, Respond respond, std::function<void(bool)> then) {
    cpb::Request beat;
    beat.mutable_heartbeat()->add_session_ids(session);
    call(std::move(beat), [self = shared_from_this(), session, respond, then](cpb::Response r) {
        if (r.code() != cpb::OK) return respond(from_code(r));
        if (!r.heartbeat().unknown().empty()) return then(false);
        if (r.heartbeat().not_owned().empty()) return then(true);
        // Owned by another server (the member used to talk to it): move it
        // here. The revalidation counts as a heartbeat.
        cpb::Request move;
        move.mutable_revalidate()->set_session_id(session);
        self->write(std::move(move), [respond, then](cpb::Response r) {
            if (r.code() == cpb::NO_SESSION) return then(false);
            if (r.code() != cpb::OK) return respond(from_code(r));
            then(true);
        });
    });
}

void GroupApi::Impl::heartbeat(Route route, bool with_document, Respond respond) {
    find_member(
        route, respond,
        [self = shared_from_this(), route, with_document, respond](uint64_t session) {
            self->own(session, respond, [self, route, with_document, respond](bool live) {
                if (!live) {
                    return respond(error_reply(404, "the session of '" + route.member +
                                                        "' has expired: join again with PUT"));
                }
                if (with_document) return self->answer_group(route.group, respond);
                respond(with_group_version(HttpReply{200}, self->group_version(route.group)));
            });
        });
}

void GroupApi::Impl::leave(Route route, Respond respond) {
    find_member(route, respond, [self = shared_from_this(), route, respond](uint64_t session) {
        // Closing the member's session deletes its entry in the same transaction.
        cpb::Request close;
        close.mutable_close()->set_session_id(session);
        self->write(std::move(close), [self, route, respond](cpb::Response r) {
            if (r.code() != cpb::OK) return respond(from_code(r));
            self->answer_group(route.group, respond);
        });
    });
}

void GroupApi::Impl::put_config(Route route, std::string path, std::string body, Respond respond) {
    write(write_request(0, cpb::Op::PUT, path, body, false),
          [self = shared_from_this(), route, respond](cpb::Response r) {
              if (r.code() != cpb::OK) return respond(from_code(r));
              self->answer_group(route.group, respond);
          });
}

// ---- groups -----------------------------------------------------------------

void GroupApi::Impl::answer_group(const std::string& group, Respond respond) {
    cpb::Request get;
    get.mutable_get_group()->set_group(group);
    call(std::move(get), [self = shared_from_this(), group, respond](cpb::Response r) {
        if (r.code() != cpb::OK) return respond(from_code(r));
        if (!r.group().exists()) return respond(error_reply(404, "no group '" + group + "'"));
        HttpReply reply = with_group_version(HttpReply{200}, r.group().version());
        reply.render = [group = std::move(*r.mutable_group()), endpoints = self->endpoints()] {
            return groupd::group_document(group, endpoints);
        };
        respond(std::move(reply));
    });
}

void GroupApi::Impl::group_document(Route route, Respond respond) {
    if (!route.wait_version) return answer_group(route.group, respond);
    cpb::Request watch;
    watch.mutable_watch()->set_group(route.group);
    watch.mutable_watch()->set_version(*route.wait_version);
    watch.mutable_watch()->set_timeout_ms(options.long_poll_ms);
    call(std::move(watch), [self = shared_from_this(), route, respond](cpb::Response r) {
        // No change within the wait: the document as it is (same version),
        // and the caller asks again.
        if (r.code() != cpb::OK && r.code() != cpb::TIMEOUT) return respond(from_code(r));
        self->answer_group(route.group, respond);
    });
}

// ---- operations -------------------------------------------------------------

void GroupApi::Impl::status(Respond respond) {
    cpb::Request stats;
    stats.mutable_stats();
    call(std::move(stats), [self = shared_from_this(), respond](cpb::Response r) {
        HttpReply reply{200};
        reply.render = [stats = std::move(*r.mutable_stats()), address = self->options.http_address,
                        endpoints = self->endpoints(), ready = self->ready(),
                        groups = self->service.tracker().children("/groups")] {
            return status_document(stats, ready, address, endpoints, groups);
        };
        respond(std::move(reply));
    });
}

void GroupApi::Impl::metrics(Respond respond) {
    cpb::Request stats;
    stats.mutable_stats();
    call(std::move(stats), [self = shared_from_this(), respond](cpb::Response r) {
        const uint64_t groups = self->service.tracker().children("/groups").size();
        LatencyHistogram latency;
        {
            std::lock_guard lock(self->mutex);
            latency = self->commit_latency;
        }
        HttpCounts http = self->http_counts ? self->http_counts() : HttpCounts{};
        respond(HttpReply{200, metrics_text(r.stats(), groups, latency, http),
                          "text/plain; version=0.0.4"});
    });
}

// ---- the API ----------------------------------------------------------------

GroupApi::GroupApi(ApiOptions options, session::SessionService& service, Node& node)
    : impl_(std::make_shared<Impl>(std::move(options), service, node)) {}

GroupApi::~GroupApi() = default;

void GroupApi::set_http_counts(std::function<HttpCounts()> counts) {
    impl_->http_counts = std::move(counts);
}

void GroupApi::handle(HttpRequest request, Respond respond) {
    auto parsed = parse_route(request.method, request.target);
    if (auto* e = std::get_if<RouteError>(&parsed))
        return respond(error_reply(e->status, e->message));
    Route route = std::get<Route>(std::move(parsed));
    Impl& m = *impl_;
    // The JSON a write carries, checked and made compact.
    auto json_body = [&](bool required) -> std::optional<std::string> {
        if (blank(request.body)) {
            if (required) respond(error_reply(400, "a JSON body is required"));
            return required ? std::nullopt : std::optional<std::string>("");
        }
        std::string error;
        auto json = normalise_json(request.body, &error);
        if (!json) respond(error_reply(400, error));
        return json;
    };
    switch (route.kind) {
        case Route::Kind::kJoin: {
            auto metadata = json_body(false);
            if (!metadata) return;
            if (*metadata == "null") metadata->clear();  // no metadata: the config stands in
            return m.join(std::move(route), std::move(*metadata), 0, std::move(respond));
        }
        case Route::Kind::kHeartbeat:
            return m.heartbeat(std::move(route), false, std::move(respond));
        case Route::Kind::kHeartbeatDocument:
            return m.heartbeat(std::move(route), true, std::move(respond));
        case Route::Kind::kLeave:
            return m.leave(std::move(route), std::move(respond));
        case Route::Kind::kMemberConfig: {
            auto config = json_body(true);
            if (!config) return;
            const std::string path = session::member_config_path(route.group, route.member);
            return m.put_config(std::move(route), path, std::move(*config), std::move(respond));
        }
        case Route::Kind::kGroupConfig: {
            auto config = json_body(true);
            if (!config) return;
            const std::string path = session::group_config_path(route.group);
            return m.put_config(std::move(route), path, std::move(*config), std::move(respond));
        }
        case Route::Kind::kGroupDocument:
            return m.group_document(std::move(route), std::move(respond));
        case Route::Kind::kHealth:
            return respond(HttpReply{200, R"({"status":"up"})"});
        case Route::Kind::kReady:
            // On the core thread: readiness reads the replicated endpoints.
            return m.node.post([self = impl_, respond = std::move(respond)] {
                const std::string role = zab::role_name(self->node.status().role);
                if (self->ready())
                    return respond(HttpReply{200, R"({"ready":true,"role":")" + role + "\"}"});
                respond(HttpReply{503, R"({"ready":false,"role":")" + role + "\"}"});
            });
        case Route::Kind::kMetrics:
            return m.metrics(std::move(respond));
        case Route::Kind::kStatus:
            return m.status(std::move(respond));
    }
}

void GroupApi::record_endpoint() {
    Impl& m = *impl_;
    if (m.recording.exchange(true)) return;  // one write at a time
    m.node.post([self = impl_] {
        const std::string path =
            std::string(kEndpointsPath) + "/" + std::to_string(self->options.server_id);
        const session::TreeNode* n = self->service.tracker().node(path);
        if (!self->node.status().serving || (n && n->data == self->options.http_address)) {
            self->recording = false;
            return;
        }
        self->call(write_request(0, cpb::Op::PUT, path, self->options.http_address, false),
                   [self](cpb::Response r) {
                       self->recording = false;
                       if (r.code() == cpb::OK) {
                           spdlog::info(
                               "recorded this server's HTTP address {} for the group "
                               "documents' endpoints",
                               self->options.http_address);
                       }
                   });
    });
}

}  // namespace chorus::groupd
