// Heartbeats: a client's heartbeat is checked here (known? owned by this
// server?) and gathered; once per tick the gathered ones go to the leader
// as one request it absorbs without logging (docs/sessions.md).
#include "session/server/service_impl.h"

namespace chorus::session {

void SessionService::Impl::heartbeat(const cpb::Request& request, Reply reply) {
    auto r = std::make_shared<cpb::Response>();
    r->set_id(request.id());
    r->mutable_heartbeat();
    auto ids = std::make_shared<std::vector<uint64_t>>(request.heartbeat().session_ids().begin(),
                                                       request.heartbeat().session_ids().end());
    check_heartbeats(std::move(ids), 0, std::move(r), std::move(reply));
}

void SessionService::Impl::check_heartbeats(std::shared_ptr<std::vector<uint64_t>> ids, size_t from,
                                            std::shared_ptr<cpb::Response> r, Reply reply) {
    // A slice at a time, going to the back of the core thread's queue in
    // between: a frame with a million sessions must not hold the core
    // thread past an election timeout.
    const size_t end = std::min(ids->size(), from + kHeartbeatsPerRequest);
    auto* out = r->mutable_heartbeat();
    for (size_t i = from; i < end; ++i) {
        const uint64_t session = (*ids)[i];
        auto s = tracker.sessions().find(session);
        if (s == tracker.sessions().end()) {
            out->add_unknown(session);
        } else if (s->second.owner != options.id) {
            out->add_not_owned(session);
        } else {
            pending_heartbeats.push_back(session);
            ++heartbeats_received;
        }
    }
    if (end == ids->size()) return reply(std::move(*r));
    node->post(
        [this, ids = std::move(ids), end, r = std::move(r), reply = std::move(reply)]() mutable {
            check_heartbeats(std::move(ids), end, std::move(r), std::move(reply));
        });
}

void SessionService::Impl::flush_heartbeats() {
    // In requests of a bounded size: the leader absorbs each in a few
    // milliseconds, so its pings never wait behind a million heartbeats.
    for (size_t start = 0; start < pending_heartbeats.size(); start += kHeartbeatsPerRequest) {
        const size_t end = std::min(pending_heartbeats.size(), start + kHeartbeatsPerRequest);
        pb::TrackerRequest r;
        r.mutable_heartbeats()->mutable_session_ids()->Add(pending_heartbeats.begin() + start,
                                                           pending_heartbeats.begin() + end);
        // A lost batch is not an error: the clients heartbeat again within
        // a third of their timeout.
        node->submit(tracker_request(r), [](Status, Completion) {});
    }
    pending_heartbeats.clear();
    if (confirmed_heartbeats.empty()) return;
    pb::TrackerRequest r;
    r.mutable_heartbeats()->mutable_session_ids()->Add(confirmed_heartbeats.begin(),
                                                       confirmed_heartbeats.end());
    auto confirmations = std::make_shared<std::vector<std::function<void(bool)>>>(
        std::move(heartbeat_confirmations));
    confirmed_heartbeats.clear();
    heartbeat_confirmations.clear();
    node->submit(tracker_request(r), [confirmations](Status s, Completion) {
        for (auto& done : *confirmations) done(s.is_ok());
    });
}

void SessionService::heartbeat_confirmed(uint64_t session_id, std::function<void(bool)> done) {
    Impl& m = *impl_;
    CHORUS_ASSERT(m.node != nullptr, "SessionService::heartbeat_confirmed before attach()");
    m.node->post([&m, session_id, done = std::move(done)]() mutable {
        if (m.stopped) return done(false);
        m.confirmed_heartbeats.push_back(session_id);
        m.heartbeat_confirmations.push_back(std::move(done));
    });
}

}  // namespace chorus::session
