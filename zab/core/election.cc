// Leader election: votes on (currentEpoch, lastZxid, serverId), highest wins.
//
// A LOOKING server proposes itself, adopts any better vote it hears in its
// round, and tells everyone whenever its vote changes. Once a quorum
// (itself included) votes for the same server, it leads or follows. A vote
// only ever moves to a server whose history is at least as recent as the
// voter's own, so the winner's history is at least as recent as every
// member of that quorum — and discovery re-checks this (leader.cc).
//
// A server that joins while a leader is already serving learns of it from
// the FOLLOWING/LEADING peers that answer its vote: once a quorum of them,
// the leader itself included, name the same leader, it follows that leader
// instead of starting a new election.
//
// A non-voting server (empty disk, not bootstrapping) proposes nobody and is
// counted by nobody; it can only learn of an existing leader that way. An
// empty server started with bootstrap votes only once every other member
// has answered it with no history (on_vote_while_bootstrapping); told of a
// durable currentEpoch or transactions instead, it stops bootstrapping and
// marks its disk so: the ensemble exists, the flag was left on by accident
// (its disk may have been wiped). Following a leader before it is sure, it
// marks its disk as well: it joins, and votes once synced.
//
// A server whose own disk is stuck (own_disk_overdue) proposes nobody while
// it is: as leader it could not make an epoch durable, and elected again
// and again it would keep the ensemble from electing anyone else.
#include <algorithm>

#include "zab/core/core.h"
#include "zab/core/mutation.h"
#include "zab/core/wire.h"

namespace chorus::zab {
namespace {

// (currentEpoch, lastZxid, take_over, serverId) of the proposed leader, as
// a tuple. The take_over mark (a candidate handed leadership, transfer.cc)
// only breaks ties between equal histories, in place of the id: a vote still
// never moves to a candidate with less history than the voter's own.
auto rank(const pb::Vote& v) {
    return std::tuple(v.leader_current_epoch(), from_pb(v.leader_last_zxid()), v.take_over(),
                      v.leader());
}

bool same_candidate(const pb::Vote& a, const pb::Vote& b) {
    return a.leader() == b.leader() && rank(a) == rank(b);
}

}  // namespace

pb::Vote Core::self_vote() const {
    pb::Vote v;
    if (!voting_) return v;  // leader 0: we propose nobody
    // A TAKE_OVER we took names the candidate, for one election timeout.
    if (handed_vote_valid()) return handed_vote_;
    if (!campaigns()) return v;  // R6, A5
    v.set_leader(config_.id);
    v.set_leader_current_epoch(current_epoch_);
    to_pb(last_zxid(), v.mutable_leader_last_zxid());
    return v;
}

pb::Vote Core::current_vote_message() const {
    pb::Vote v;
    if (role_ == Role::kLooking) {
        v = vote_;
        if (v.leader() == config_.id && own_disk_overdue() &&
            !mutated(config_, Mutation::kLeaderIgnoresStuckDisk)) {
            v = pb::Vote{};  // abstain until the disk catches up
        }
        v.set_state(pb::LOOKING);
    } else {
        v.set_leader(leader_);
        v.set_leader_current_epoch(epoch_);
        to_pb(last_zxid(), v.mutable_leader_last_zxid());
        v.set_state(role_ == Role::kLeading ? pb::LEADING : pb::FOLLOWING);
    }
    if (!membership_.version.is_zero()) {
        to_pb(membership_.version, v.mutable_membership_version());
        for (const auto& [id, address] : membership_.voters) v.add_membership_voters(id);
    }
    v.set_round(round_);
    v.set_voting(voting_);
    // Not a mark this run made on following a leader that showed no history
    // (a first start with one server started without the flag): that is no
    // evidence that an ensemble exists (the fourth review of issue 17: a new
    // ensemble stalled for good after a crash in its first epoch). Every
    // other mark is sent, one from an earlier run too: it may have been made
    // on hearing history, and not sending it lost a committed write (the
    // fifth review: a wiped voter, rejoining a leader outside the bootstrap
    // membership, looked pristine to two wiped bootstrap servers).
    v.set_joined(joined_ && !joined_without_evidence_);
    v.set_accepted_epoch(accepted_epoch_);
    // The durable one: a leader sets currentEpoch when its sync begins, and
    // may crash before it is on disk (then it holds no history after all).
    v.set_current_epoch(durable_current_epoch_);
    to_pb(last_zxid(), v.mutable_sender_last_zxid());
    return v;
}

void Core::broadcast_vote() {
    last_vote_tick_ = now_tick_;
    const pb::Vote v = current_vote_message();
    // Observers too (they learn of the leader from the answers to theirs),
    // and servers of other memberships we know of: a leader may be one.
    for (ServerId peer : known_servers_) {
        if (peer == config_.id) continue;
        pb::PeerMessage m;
        *m.mutable_vote() = v;
        send(peer, std::move(m));
    }
}

void Core::enter_looking(const std::string& reason) {
    // A transfer cut short by a step-down ends with "not leader" (a handover
    // ends it before it comes here).
    if (transfer_) {
        const Transfer transfer = *transfer_;
        transfer_.reset();
        answer_transfer(transfer, Status(Code::kNotLeader,
                                         "this server stopped leading before "
                                         "the handover: " +
                                             reason));
    }
    ++stats_.times_looked;
    holding_until_tick_ = 0;
    take_over_deferred_ = false;
    // Whatever we led or followed is over.
    followers_.clear();
    pending_txns_.clear();
    inflight_batches_.clear();
    barriers_.clear();
    waiting_syncs_.clear();
    self_new_leader_durable_ = false;
    phase_ = Phase::kDiscovery;
    epoch_ = 0;

    ++round_;
    vote_ = self_vote();
    votes_.clear();
    out_of_election_.clear();
    set_role(Role::kLooking, 0, reason);
    broadcast_vote();
    check_vote_quorum();  // a one-server ensemble elects itself at once
}

// An empty disk started with bootstrap cannot tell a new ensemble from one
// whose committed history it lost (a wiped disk, the flag left on). A
// transaction is committed only once a quorum holds a durable currentEpoch,
// and a wipe forgets only its own disk: so as long as one server of every
// commit quorum keeps its disk, a server that hears from every other member
// in this incarnation, and from none of them of a currentEpoch or a
// transaction, knows that nothing it might have held was ever committed.
// Until then it does not vote; told of history, it stops bootstrapping for
// good. (Hearing from some is not enough: the review of issue 13 built a
// write lost by a wiped server and an original member never synced, whose
// votes both look empty, electing a leader without the one that held it.)
void Core::on_vote_while_bootstrapping(ServerId from, const pb::Vote& vote) {
    // A membership changed since the bootstrap is history too, and so is a
    // disk marked joined (A3), and so is any word from a server outside the
    // bootstrap membership: one that names us knows a membership we never
    // held (the third review of issue 17: servers 4 and 5, added later, held
    // the committed write while 1, 2 and 3 were wiped and restarted with the
    // flag, and the bootstrap servers confirmed a new ensemble among
    // themselves).
    const bool history_heard = vote_shows_history(vote) || !bootstrap_universe().count(from);
    if (history_heard) {
        bootstrap_unconfirmed_ = false;
        stats_.bootstrap_ignored = true;
        // Durable: a crash in the middle of the sync that follows must not
        // bring the flag back (the review of issue 13: such a server could
        // then help elect a leader lacking a committed write).
        ready_.writes.push_back(MarkJoinedEnsemble{});
        joined_ = true;
        notice("ignoring --bootstrap: server " + std::to_string(from) +
               " holds history (currentEpoch " + std::to_string(vote.current_epoch()) + ", up to " +
               from_pb(vote.sender_last_zxid()).str() +
               "), so this ensemble exists; this server's disk is empty and it votes only once a "
               "leader has synced it");
        if (voting_) {  // only with the planted bug: it voted before it was sure
            voting_ = false;
            enter_looking("no longer bootstrapping");
        }
        return;
    }
    // Every other server of the bootstrap membership, observers too: after
    // membership changes an observer of the bootstrap may be the voter
    // whose disk holds a committed write (the review of d44d439: a wiped
    // voter confirmed a new ensemble from two wiped observers alone).
    const std::set<ServerId> universe = bootstrap_universe();
    if (universe.count(from)) pristine_peers_.insert(from);
    if (pristine_peers_.size() + (universe.count(config_.id) ? 1 : 0) < universe.size()) return;
    bootstrap_unconfirmed_ = false;
    if (voting_) return;  // the planted bug: it voted all along
    voting_ = true;
    // Epochs promised to a leader and never established are no history, but
    // they must not be chosen again: a leader we help elect picks above the
    // highest we heard of (our votes and FOLLOWERINFO carry it), even if a
    // promise of ours, made before a wipe, is what it was.
    if (max_accepted_seen_ > accepted_epoch_) {
        accepted_epoch_ = max_accepted_seen_;
        ready_.writes.push_back(SetAcceptedEpoch{accepted_epoch_});
    }
    // Durable, so that a crash before it holds any history does not make it
    // a stranger to its own ensemble (the long run of 4d8d26c, seed 132695:
    // an original member never synced restarted, heard history, stopped
    // voting, and with a wiped peer no quorum of voters was left, for good).
    // After the raised acceptedEpoch: a crash between the two writes leaves
    // the epoch without the mark (an original member by the older rule), never
    // the mark without the epoch, which would vote with the promise forgotten.
    if (!mutated(config_, Mutation::kOriginalMemberForgotten))
        ready_.writes.push_back(MarkOriginalMember{});
    notice("bootstrapping a new ensemble: every server answered, none holds history");
    // From now on we propose ourselves, in this round (we counted no votes
    // while we did not vote; peers resend theirs).
    vote_ = self_vote();
    broadcast_vote();
    check_vote_quorum();
}

// A vote from a server no membership we know names. Memberships changed
// while we were away (or lost with our disk) can leave the leader, and the
// servers that hold the committed history, outside every membership we
// know (the third review of issue 17): a wiped server of the bootstrap
// membership dropped every message of a leader added later, and never
// rejoined. An answer naming a leader is heard by anyone; a looking vote
// only by a server that does not vote (an empty disk), for which it can
// only be news that the ensemble exists. None of this lets a stranger be
// counted: every count is of the voters of a membership (R6).
bool Core::stranger_heard(const pb::PeerMessage& message) const {
    if (!message.has_vote()) return false;
    return message.vote().state() != pb::LOOKING || !voting_;
}

// Servers named by an answer that names a leader (the sender, its leader,
// and the voters of its membership) become known: we send them our votes
// and read theirs and the leader's traffic. Knowing decides nothing (counts
// are of membership voters); it lets us find the leader and a quorum of
// its followers under the leader's membership (A4).
void Core::learn_servers(ServerId from, const pb::Vote& vote) {
    if (vote.state() == pb::LOOKING) return;
    known_servers_.insert(from);
    if (vote.leader() != 0 && vote.leader() != config_.id) known_servers_.insert(vote.leader());
    for (uint64_t id : vote.membership_voters())
        if (id != config_.id) known_servers_.insert(id);
}

// The candidate of `vote` becomes ours: all of what rank() compares, the
// take_over mark too (seed 13 of --reconfig --forwarded-changes --transfer:
// copying all but the mark left a stale one on a newer candidate, and two
// servers with the same candidate, one marked, never agreed).
void Core::adopt_candidate(const pb::Vote& vote) {
    vote_.set_leader(vote.leader());
    vote_.set_leader_current_epoch(vote.leader_current_epoch());
    *vote_.mutable_leader_last_zxid() = vote.leader_last_zxid();
    vote_.set_take_over(vote.take_over());
}

void Core::on_vote(ServerId from, const pb::Vote& vote) {
    max_accepted_seen_ = std::max(max_accepted_seen_, vote.accepted_epoch());
    learn_servers(from, vote);
    // A joined mark made on following a leader that showed no history is
    // left out of votes only until any vote shows history: from then on the
    // mark is evidence a wiped bootstrap must hear (the sixth review: kept
    // unsent, it let two wiped servers confirm a new ensemble and lose a
    // committed write).
    if (joined_without_evidence_ && vote_shows_history(vote)) joined_without_evidence_ = false;
    if (bootstrap_unconfirmed_) on_vote_while_bootstrapping(from, vote);
    if (role_ == Role::kFollowing && from == leader_ && vote.state() != pb::LEADING &&
        (vote.state() == pb::FOLLOWING || phase_ != Phase::kDiscovery)) {
        // The server we follow does not lead (any more): it follows another,
        // or it stepped down. Look again, starting from what it told us. (A
        // leader still looking while we wait in discovery may yet decide.)
        // After its TAKE_OVER we look once our deliveries are done.
        if (!take_over_deferred_) enter_looking("the leader no longer leads");
    }
    if (role_ != Role::kLooking) {
        // Answer a looking peer with who leads; a follower of ours that is
        // looking has left us. Not while we defer a TAKE_OVER naming us: a
        // server that already follows us would leave us on hearing we follow
        // the old leader (the ninth review); a looking peer sends its vote
        // again.
        if (vote.state() == pb::LOOKING && !deferring_as_target()) {
            if (role_ == Role::kLeading) followers_.erase(from);
            pb::PeerMessage m;
            *m.mutable_vote() = current_vote_message();
            send(from, std::move(m));
        }
        return;
    }
    if (vote.state() != pb::LOOKING) {
        on_out_of_election(from, vote);
        return;
    }
    // A non-voting side: nothing to count (an empty disk). An observer or
    // a removed server (in our membership) does take part: it proposes
    // nobody of its own (self_vote) but adopts the best candidate, and the
    // counting server's membership decides whether its vote counts (R6:
    // its membership may be newer, and make it a voter).
    if (!vote.voting() || !voting_) return;
    if (vote.round() > round_) {
        round_ = vote.round();
        votes_.clear();
        vote_ = self_vote();
        if (vote.leader() != 0 && rank(vote) > rank(vote_)) {
            adopt_candidate(vote);
        }
        broadcast_vote();
    } else if (vote.round() < round_) {
        pb::PeerMessage m;
        *m.mutable_vote() = current_vote_message();
        send(from, std::move(m));
        return;
    } else if (vote.leader() != 0 && rank(vote) > rank(vote_)) {
        adopt_candidate(vote);
        broadcast_vote();
    }
    votes_[from] = vote;
    check_vote_quorum();
}

void Core::check_vote_quorum() {
    if (!voting_ || vote_.leader() == 0) return;
    size_t agree = self_count();  // our own vote
    for (const auto& [peer, v] : votes_) {
        if (voter(peer) && same_candidate(v, vote_)) ++agree;
    }
    if (agree < membership_.quorum()) {
        // Our candidate already leads, under a membership other than ours (A4).
        if (vote_.leader() == config_.id) return;
        const pb::Vote* answer = leader_answer_of_other_membership(vote_.leader());
        if (answer && quorum_under_leaders_membership(vote_.leader(), *answer))
            become_follower(vote_.leader());
        return;
    }
    if (vote_.leader() == config_.id && own_disk_overdue() &&
        !mutated(config_, Mutation::kLeaderIgnoresStuckDisk)) {
        return;  // not with a stuck disk (it abstains meanwhile)
    }
    if (vote_.leader() == config_.id) {
        become_leader();
    } else {
        become_follower(vote_.leader());
    }
}

// A4: the voters of `answer`'s membership (a LEADING answer carries its
// leader's; none: the bootstrap one), and whether a quorum of them agrees
// on `leader`: its own answer, peers that follow it, peers whose looking
// vote in our round names it, and our own vote if we are one of them.
// Following decides nothing (the leader's quorum does). A leader holds
// every committed CONFIG, so where our membership differs from its, ours is
// older (we would wait for servers that no longer vote) or holds a CONFIG
// the leader will truncate: its membership judges.
bool Core::quorum_under_leaders_membership(ServerId leader, const pb::Vote& answer) const {
    std::set<ServerId> voters;
    if (answer.membership_voters_size() > 0) {
        voters = {answer.membership_voters().begin(), answer.membership_voters().end()};
    } else {
        voters = {config_.members.begin(), config_.members.end()};
    }
    std::set<ServerId> agreeing;
    if (voters.count(config_.id) && vote_.leader() == leader) agreeing.insert(config_.id);
    for (const auto& [peer, v] : out_of_election_)
        if (v.leader() == leader && voters.count(peer)) agreeing.insert(peer);
    for (const auto& [peer, v] : votes_)
        if (v.leader() == leader && voters.count(peer)) agreeing.insert(peer);
    return agreeing.size() >= voters.size() / 2 + 1;
}

// The leader's LEADING answer, when its membership differs from ours (A4).
const pb::Vote* Core::leader_answer_of_other_membership(ServerId leader) const {
    auto said = out_of_election_.find(leader);
    if (said == out_of_election_.end() || said->second.state() != pb::LEADING) return nullptr;
    if (from_pb(said->second.membership_version()) == membership_.version) return nullptr;
    return &said->second;
}

void Core::on_out_of_election(ServerId from, const pb::Vote& vote) {
    out_of_election_[from] = vote;
    const ServerId leader = vote.leader();
    if (leader == 0) return;
    // Peers that still follow us while we look are not a reason to lead
    // again: we may have stepped down because one of them is ahead of us.
    // Except for a target of a TAKE_OVER: the others may have elected it
    // while it still delivered before looking (take_over_deferred_), and
    // follow it already, waiting in discovery. Their answers are its quorum
    // (discovery checks their histories, as after any election).
    if (leader == config_.id) {
        if (!handed_vote_valid() || handed_vote_.leader() != config_.id || own_disk_overdue())
            return;
        size_t naming = self_count();
        for (const auto& [peer, v] : out_of_election_)
            if (v.leader() == config_.id && v.state() == pb::FOLLOWING && voter(peer)) ++naming;
        if (naming >= membership_.quorum()) become_leader();
        return;
    }
    if (const pb::Vote* answer = leader_answer_of_other_membership(leader)) {
        // Seeds 16 and 1461 of --observers 2 --reconfig: with differing
        // memberships, servers took turns leading with our vote, and we
        // followed none of them, waiting for a quorum of ours.
        if (quorum_under_leaders_membership(leader, *answer)) become_follower(leader);
        return;
    }
    size_t naming = 0;
    bool leader_says_so = false;
    for (const auto& [peer, v] : out_of_election_) {
        if (v.leader() != leader) continue;
        // The leader's own word counts even if it is no voter here (A5: a
        // leader taken out by a CONFIG not yet committed; seed 107681).
        if (peer == leader && v.state() == pb::LEADING) leader_says_so = true;
        if (voter(peer)) ++naming;
    }
    if (leader_says_so && naming >= membership_.quorum()) become_follower(leader);
}

}  // namespace chorus::zab
