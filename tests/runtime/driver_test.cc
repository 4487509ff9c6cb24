// The one Ready driver (zab/runtime/driver.h) and the snapshot transfers,
// over a fake DriverEnv that the test steps by hand: frames sent, writes
// completed, posted work run, timers fired, off-thread work run — each
// exactly when the test says.
#include "zab/runtime/driver.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <optional>

#include "zab/core/wire.h"
#include "zab/runtime/snapshot_transfer.h"

namespace chorus::runtime {
namespace {

class FakeEnv final : public DriverEnv {
 public:
    void send(zab::ServerId to, const zab::pb::PeerMessage& message) override {
        sent.emplace_back(to, message);
    }
    void reset_link(zab::ServerId peer) override { resets.push_back(peer); }
    void write(StorageJob job) override { jobs.push_back(std::move(job)); }
    void post(std::function<void()> fn) override { posted.push_back(std::move(fn)); }
    void run_after(uint64_t delay_us, std::function<void()> fn) override {
        timers.emplace(now + delay_us, std::move(fn));
    }
    void run_off_thread(std::function<void()> work) override {
        off_thread.push_back(std::move(work));
    }
    uint64_t now_us() override { return now; }
    void log(LogLevel level, const std::string& line) override {
        logs.push_back(line);
        if (level == LogLevel::kCritical) ++criticals;
    }

    // Runs what was posted (and what that posts), completes every write and
    // runs off-thread work, until nothing is left.
    void settle() {
        for (int i = 0; i < 1000; ++i) {
            if (!off_thread.empty()) {
                auto work = std::move(off_thread.front());
                off_thread.pop_front();
                work();
            } else if (!jobs.empty()) {
                StorageJob job = std::move(jobs.front());
                jobs.pop_front();
                if (job.done) job.done();
            } else if (!posted.empty()) {
                auto fn = std::move(posted.front());
                posted.pop_front();
                fn();
            } else {
                return;
            }
        }
    }
    // Runs only what was posted (and what that posts): writes stay pending.
    void run_posted() {
        for (int i = 0; i < 1000 && !posted.empty(); ++i) {
            auto fn = std::move(posted.front());
            posted.pop_front();
            fn();
        }
    }
    void advance(uint64_t us) {
        now += us;
        while (!timers.empty() && timers.begin()->first <= now) {
            auto fn = std::move(timers.begin()->second);
            timers.erase(timers.begin());
            fn();
        }
    }

    uint64_t now = 0;
    std::vector<std::pair<zab::ServerId, zab::pb::PeerMessage>> sent;
    std::vector<zab::ServerId> resets;
    std::deque<StorageJob> jobs;
    std::deque<std::function<void()>> posted;
    std::multimap<uint64_t, std::function<void()>> timers;
    std::deque<std::function<void()>> off_thread;
    std::vector<std::string> logs;
    int criticals = 0;
};

class Counter final : public StateMachine {
 public:
    std::optional<zab::Txn> preprocess(const zab::Request& r) override {
        zab::Txn t;
        t.type = 1;
        t.data = r.data;
        return t;
    }
    void deliver(const zab::Txn& t) override { delivered.push_back(t.data); }
    std::string save() override { return std::to_string(delivered.size()); }
    void restore(const std::string&) override { delivered.clear(); }
    std::vector<std::string> delivered;
};

zab::pb::Snap snap_header(uint64_t epoch, Zxid zxid) {
    zab::pb::Snap s;
    s.set_epoch(epoch);
    zab::to_pb(zxid, s.mutable_zxid());
    return s;
}

zab::pb::PeerMessage ping(uint64_t seq) {
    zab::pb::PeerMessage m;
    m.mutable_ping()->set_epoch(1);
    m.mutable_ping()->set_seq(seq);
    return m;
}

// A SNAP too big for one chunk goes out a chunk at a time at the set rate,
// and what is sent to that peer meanwhile waits behind the last chunk.
TEST(SnapshotSender, ChunksArePacedAndLaterFramesWaitBehindThem) {
    FakeEnv env;
    SnapshotSender sender(env, /*chunk_bytes=*/40, /*bytes_per_s=*/40000);  // 1 ms a chunk
    auto data = std::make_shared<const std::string>(100, 'x');
    sender.send_snapshot(2, snap_header(3, Zxid{3, 7}), data);
    sender.send(2, ping(1));
    sender.send(4, ping(2));  // another peer: not held
    ASSERT_EQ(env.sent.size(), 2u);
    EXPECT_TRUE(env.sent[0].second.has_snap_chunk());
    EXPECT_EQ(env.sent[1].first, 4u);
    EXPECT_TRUE(sender.flowing_to(2));
    env.advance(1000);
    env.advance(1000);
    env.advance(1000);
    ASSERT_EQ(env.sent.size(), 5u);
    uint64_t offset = 0;
    for (size_t i : {0, 2, 3}) {
        const auto& c = env.sent[i].second.snap_chunk();
        EXPECT_EQ(c.offset(), offset);
        EXPECT_EQ(c.total(), 100u);
        offset += c.data().size();
    }
    EXPECT_EQ(offset, 100u);
    EXPECT_TRUE(env.sent[4].second.has_ping()) << "the frame sent meanwhile comes last";
    EXPECT_FALSE(sender.flowing_to(2));
}

TEST(SnapshotSender, ASmallSnapshotGoesWholeAndANewOneReplacesOneFlowing) {
    FakeEnv env;
    SnapshotSender sender(env, 40, 40000);
    sender.send_snapshot(2, snap_header(3, Zxid{3, 1}),
                         std::make_shared<const std::string>(10, 'a'));
    ASSERT_EQ(env.sent.size(), 1u);
    EXPECT_TRUE(env.sent[0].second.has_snap());
    sender.send_snapshot(2, snap_header(3, Zxid{3, 5}),
                         std::make_shared<const std::string>(100, 'b'));
    sender.send(2, ping(1));
    sender.send_snapshot(2, snap_header(4, Zxid{4, 2}),
                         std::make_shared<const std::string>(100, 'c'));
    for (int i = 0; i < 10; ++i) env.advance(1000);
    // The first chunked one stopped where it was, its held ping void; the
    // second went out whole, from offset 0.
    uint64_t c_bytes = 0;
    for (const auto& [to, m] : env.sent) {
        EXPECT_FALSE(m.has_ping());
        if (m.has_snap_chunk() && m.snap_chunk().epoch() == 4)
            c_bytes += m.snap_chunk().data().size();
    }
    EXPECT_EQ(c_bytes, 100u);
}

// The membership in force at the snapshot (issue 17) travels on the first
// chunk and comes out of the assembler with the whole.
TEST(SnapshotSender, TheMembershipTravelsWithAChunkedSnapshot) {
    FakeEnv env;
    SnapshotSender sender(env, 40, 40000);
    zab::pb::Snap header = snap_header(3, Zxid{3, 7});
    header.set_membership("record");
    zab::to_pb(Zxid{2, 4}, header.mutable_membership_version());
    sender.send_snapshot(2, header, std::make_shared<const std::string>(100, 'x'));
    for (int i = 0; i < 4; ++i) env.advance(1000);
    SnapshotAssembler a;
    zab::pb::PeerMessage whole;
    size_t chunks = 0;
    for (const auto& [to, m] : env.sent) {
        ASSERT_TRUE(m.has_snap_chunk());
        EXPECT_EQ(m.snap_chunk().membership().empty(), m.snap_chunk().offset() != 0);
        ++chunks;
        a.add(1, m.snap_chunk(), &whole);
    }
    EXPECT_EQ(chunks, 3u);
    ASSERT_TRUE(whole.has_snap());
    EXPECT_EQ(whole.snap().data(), std::string(100, 'x'));
    EXPECT_EQ(whole.snap().membership(), "record");
    EXPECT_EQ(zab::from_pb(whole.snap().membership_version()), (Zxid{2, 4}));
}

TEST(SnapshotAssembler, PutsChunksTogetherAndRefusesGaps) {
    SnapshotAssembler a;
    auto chunk = [](uint64_t offset, std::string data, uint64_t total) {
        zab::pb::SnapChunk c;
        c.set_epoch(2);
        zab::to_pb(Zxid{2, 9}, c.mutable_zxid());
        c.set_offset(offset);
        c.set_total(total);
        c.set_data(std::move(data));
        return c;
    };
    zab::pb::PeerMessage whole;
    EXPECT_EQ(a.add(1, chunk(0, "abc", 6), &whole), SnapshotAssembler::Outcome::kPartial);
    EXPECT_EQ(a.add(1, chunk(3, "def", 6), &whole), SnapshotAssembler::Outcome::kWhole);
    EXPECT_EQ(whole.snap().data(), "abcdef");
    EXPECT_EQ(zab::from_pb(whole.snap().zxid()), (Zxid{2, 9}));
    EXPECT_EQ(a.add(1, chunk(3, "def", 6), &whole), SnapshotAssembler::Outcome::kBroken)
        << "a chunk without its start";
    EXPECT_EQ(a.add(1, chunk(0, "abc", 6), &whole), SnapshotAssembler::Outcome::kPartial);
    EXPECT_EQ(a.add(1, chunk(4, "ef", 6), &whole), SnapshotAssembler::Outcome::kBroken) << "a gap";
    EXPECT_EQ(a.add(1, chunk(0, "abcdefgh", 6), &whole), SnapshotAssembler::Outcome::kBroken)
        << "more than the total";
}

// One server alone: it elects itself, and every request goes the whole way
// through the driver — write, durable, delivered, answered.
struct Solo {
    FakeEnv env;
    Counter sm;
    std::unique_ptr<Driver> driver;
    explicit Solo(DriverOptions options = {}) {
        zab::Config c;
        c.id = 1;
        c.members = {1};
        c.bootstrap = true;
        c.snapshot_every_txns = 0;
        driver = std::make_unique<Driver>(c, zab::DurableState{}, nullptr, sm, env, options);
        driver->start();
        env.settle();
        EXPECT_TRUE(driver->core().serving());
    }
};

TEST(Driver, ARequestIsWrittenDeliveredAndAnswered) {
    Solo s;
    Status got = Status(Code::kNotFound, "not called");
    zab::Completion completion{};
    uint64_t id = 0;
    ASSERT_TRUE(s.driver
                    ->submit(
                        zab::Request{0, 1, "hello"},
                        [&](Status st, zab::Completion c) {
                            got = st;
                            completion = c;
                        },
                        &id)
                    .is_ok());
    EXPECT_NE(id, 0u);
    EXPECT_EQ(got.code(), Code::kNotFound) << "not before it is durable";
    s.env.settle();
    EXPECT_TRUE(got.is_ok());
    EXPECT_EQ(completion.request_id, id);
    EXPECT_EQ(s.sm.delivered, std::vector<std::string>{"hello"});
}

// Every request gets an answer: one without an outcome in time fails, with
// a code of its own (it may yet be applied: not the same as a refusal).
TEST(Driver, ARequestWithoutAnOutcomeFailsAtItsDeadline) {
    DriverOptions o;
    o.tick_ms = 10;
    o.request_timeout_ms = 100;
    Solo s(o);
    Status got = Status::ok();
    bool called = false;
    ASSERT_TRUE(s.driver
                    ->submit(zab::Request{0, 1, "x"},
                             [&](Status st, zab::Completion) {
                                 got = st;
                                 called = true;
                             })
                    .is_ok());
    s.env.jobs.clear();  // the disk never finishes it
    for (int i = 0; i < 9; ++i) s.driver->tick();
    EXPECT_FALSE(called);
    s.driver->tick();
    EXPECT_TRUE(called);
    EXPECT_EQ(got.code(), Code::kTimeout) << got.str();
}

// A request taken before the shutdown may have been applied (a follower
// forwards it at once): its outcome is unknown. A sync changes nothing, and
// a request refused after the shutdown was never taken: both are plain
// "not the leader", to retry.
TEST(Driver, ShutdownFailsWhatIsPendingAndRefusesMore) {
    Solo s;
    Status got = Status::ok();
    std::optional<Status> synced;
    ASSERT_TRUE(
        s.driver->submit(zab::Request{0, 1, "x"}, [&](Status st, zab::Completion) { got = st; })
            .is_ok());
    s.env.run_posted();
    s.env.jobs.clear();  // the disk never finishes the write
    // The barrier waits behind x, which is never durable.
    ASSERT_TRUE(s.driver->sync([&](Status st, Zxid) { synced = st; }).is_ok());
    s.env.run_posted();
    ASSERT_FALSE(synced) << "the sync completed before x was durable: " << synced->str();
    s.driver->shutdown();
    EXPECT_EQ(got.code(), Code::kUnknownOutcome) << got.str();
    ASSERT_TRUE(synced) << "the pending sync got no answer";
    EXPECT_EQ(synced->code(), Code::kNotLeader) << synced->str();
    EXPECT_EQ(s.driver->submit(zab::Request{0, 1, "y"}, [](Status, zab::Completion) {}).code(),
              Code::kNotLeader);
}

// A snapshot is produced off the driver thread and saved by the storage
// side; the driver goes on meanwhile, and then holds the new bytes.
TEST(Driver, ASnapshotIsProducedOffThreadThenSaved) {
    FakeEnv env;
    Counter sm;
    zab::Config c;
    c.id = 1;
    c.members = {1};
    c.bootstrap = true;
    c.snapshot_every_txns = 2;
    Driver d(c, zab::DurableState{}, nullptr, sm, env, DriverOptions{});
    d.start();
    env.settle();
    for (const char* v : {"a", "b"}) {
        ASSERT_TRUE(d.submit(zab::Request{0, 1, v}, [](Status, zab::Completion) {}).is_ok());
    }
    // Complete the writes but hold the off-thread work.
    for (int i = 0; i < 100 && (!env.jobs.empty() || !env.posted.empty()); ++i) {
        if (!env.jobs.empty()) {
            StorageJob job = std::move(env.jobs.front());
            env.jobs.pop_front();
            if (job.done) job.done();
        } else {
            auto fn = std::move(env.posted.front());
            env.posted.pop_front();
            fn();
        }
    }
    ASSERT_EQ(env.off_thread.size(), 1u) << "the snapshot's bytes are made elsewhere";
    EXPECT_EQ(d.snapshot_zxid(), Zxid{}) << "not saved yet";
    env.settle();
    EXPECT_EQ(d.snapshot_zxid(), d.core().delivered_zxid());
    EXPECT_EQ(env.criticals, 0);
}

// A chunk that does not continue the ones before resets the link.
TEST(Driver, ABrokenSnapshotTransferResetsTheLink) {
    FakeEnv env;
    Counter sm;
    zab::Config c;
    c.id = 1;
    c.members = {1, 2, 3};
    Driver d(c, zab::DurableState{}, nullptr, sm, env, DriverOptions{});
    d.start();
    zab::pb::PeerMessage m;
    m.mutable_snap_chunk()->set_epoch(1);
    m.mutable_snap_chunk()->set_offset(10);
    m.mutable_snap_chunk()->set_total(20);
    d.on_message(2, m);
    EXPECT_EQ(env.resets, std::vector<zab::ServerId>{2});
}

}  // namespace
}  // namespace chorus::runtime
