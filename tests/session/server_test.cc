// session::Server (session/server/server.h) in process: one server on
// 127.0.0.1, front ends that record what the Server does to them, and the
// service's own answers. The order matters to clients: a waiting watch is
// answered before the front end that carries the answer stops, and the
// node stops last.
#include "session/server/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "session/client.pb.h"
#include "tests/support/eventually.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace chorus::session {
namespace {

namespace cpb = chorus::client::pb;
using chorus::testing::eventually;

// Everything the Server did to the recording front ends, in order.
struct Journal {
    std::mutex mutex;
    std::vector<std::string> events;
    void add(std::string e) {
        std::lock_guard lock(mutex);
        events.push_back(std::move(e));
    }
    std::vector<std::string> get() {
        std::lock_guard lock(mutex);
        return events;
    }
};

class RecordingFrontEnd final : public FrontEnd {
 public:
    RecordingFrontEnd(std::string name, Journal& journal, Server& server,
                      Status start_result = Status::ok())
        : name_(std::move(name)), journal_(journal), server_(server), result_(start_result) {}
    std::string describe() const override { return "the " + name_ + " front end"; }
    Status start() override {
        // The node runs before any front end starts.
        journal_.add("start " + name_ + (server_.node().running() ? "" : " (node down)"));
        return result_;
    }
    void stop() override {
        journal_.add("stop " + name_ + (server_.node().running() ? "" : " (node down)"));
    }
    void tick(uint64_t) override {
        ++ticks;
        on_core_thread = on_core_thread && std::this_thread::get_id() != test_thread;
    }
    std::atomic<int> ticks{0};
    std::atomic<bool> on_core_thread{true};
    std::thread::id test_thread = std::this_thread::get_id();

 private:
    std::string name_;
    Journal& journal_;
    Server& server_;
    Status result_;
};

ServerOptions one_server(const chorus::testing::TempDir& dir) {
    ServerOptions options;
    options.node.id = 1;
    options.node.peers[1] = net::Endpoint{"127.0.0.1", chorus::testing::free_port()};
    options.node.data_dir = dir.path();
    options.node.bootstrap = true;
    options.service.min_session_timeout_ms = 1000;  // 5× the 200 ms election timeout
    return options;
}

TEST(SessionServerOptions, TheMinimumTimeoutMustCoverTwoElections) {
    chorus::testing::TempDir dir;
    ServerOptions options = one_server(dir);
    EXPECT_TRUE(check_server_options(options).is_ok());
    options.service.min_session_timeout_ms = 399;  // election timeout: 20 ticks of 10 ms
    const Status s = check_server_options(options);
    EXPECT_EQ(s.code(), Code::kInvalidArgument);
    EXPECT_NE(s.message().find("twice the election timeout (200 ms)"), std::string::npos)
        << s.message();
    options.service.min_session_timeout_ms = 400;
    EXPECT_TRUE(check_server_options(options).is_ok());
}

TEST(SessionServerOptions, TheMinimumTimeoutMustBeAboveZeroAndNotAboveTheMaximum) {
    chorus::testing::TempDir dir;
    ServerOptions options = one_server(dir);
    options.service.max_session_timeout_ms = 900;
    EXPECT_EQ(check_server_options(options).code(), Code::kInvalidArgument);
    options.node.election_timeout_ticks = 1;
    options.service.min_session_timeout_ms = 0;
    EXPECT_EQ(check_server_options(options).code(), Code::kInvalidArgument);
}

TEST(SessionServer, BadOptionsStartNothing) {
    chorus::testing::TempDir dir;
    ServerOptions options = one_server(dir);
    options.service.min_session_timeout_ms = 10;
    Journal journal;
    Server server(options);
    server.add_front_end(std::make_unique<RecordingFrontEnd>("a", journal, server));
    EXPECT_EQ(server.start().code(), Code::kInvalidArgument);
    EXPECT_FALSE(server.node().running());
    EXPECT_TRUE(journal.get().empty());
}

TEST(SessionServer, FrontEndsStartAfterTheNodeTickOnTheCoreThreadAndStopBeforeIt) {
    chorus::testing::TempDir dir;
    Journal journal;
    Server server(one_server(dir));
    auto a = std::make_unique<RecordingFrontEnd>("a", journal, server);
    auto b = std::make_unique<RecordingFrontEnd>("b", journal, server);
    RecordingFrontEnd& ra = *a;
    RecordingFrontEnd& rb = *b;
    server.add_front_end(std::move(a));
    server.add_front_end(std::move(b));
    ASSERT_TRUE(server.start().is_ok());
    EXPECT_EQ(server.options().service.id, 1u);
    EXPECT_EQ(server.options().service.tick_ms, server.options().node.tick_ms);
    ASSERT_TRUE(eventually([&] { return ra.ticks >= 3 && rb.ticks >= 3; }, 10000));
    EXPECT_TRUE(ra.on_core_thread);
    EXPECT_TRUE(rb.on_core_thread);
    server.stop();
    EXPECT_FALSE(server.node().running());
    const int ticks_at_stop = ra.ticks;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(ra.ticks, ticks_at_stop) << "a front end ticked after the server stopped";
    EXPECT_EQ(journal.get(), (std::vector<std::string>{"start a", "start b", "stop b", "stop a"}));
    server.stop();  // again: nothing more
    EXPECT_EQ(journal.get().size(), 4u);
}

TEST(SessionServer, AFrontEndThatCannotStartUndoesTheStart) {
    chorus::testing::TempDir dir;
    Journal journal;
    Server server(one_server(dir));
    server.add_front_end(std::make_unique<RecordingFrontEnd>("a", journal, server));
    server.add_front_end(std::make_unique<RecordingFrontEnd>(
        "b", journal, server, Status(Code::kIoError, "address in use")));
    server.add_front_end(std::make_unique<RecordingFrontEnd>("c", journal, server));
    const Status s = server.start();
    EXPECT_EQ(s.code(), Code::kIoError);
    EXPECT_EQ(s.message(), "the b front end: address in use");
    EXPECT_FALSE(server.node().running());
    // b never started, so it is not stopped; c never started at all.
    EXPECT_EQ(journal.get(), (std::vector<std::string>{"start a", "start b", "stop a"}));
}

TEST(SessionServer, AWaitingWatchIsAnsweredBeforeTheFrontEndsStop) {
    chorus::testing::TempDir dir;
    Journal journal;
    Server server(one_server(dir));
    server.add_front_end(std::make_unique<RecordingFrontEnd>("a", journal, server));
    ASSERT_TRUE(server.start().is_ok());
    ASSERT_TRUE(eventually([&] { return server.node().status().serving; }, 10000));
    cpb::Request watch;
    watch.set_id(7);
    watch.mutable_watch()->set_path("/never-written");
    watch.mutable_watch()->set_version(-1);
    watch.mutable_watch()->set_timeout_ms(60000);
    std::promise<cpb::Response> answered;
    server.service().handle(watch, [&](cpb::Response r) {
        journal.add("watch answered");
        answered.set_value(std::move(r));
    });
    // handle() queues the watch on the core thread: once a later post has
    // run there, the watch waits.
    std::promise<void> taken;
    server.node().post([&] { taken.set_value(); });
    taken.get_future().wait();
    EXPECT_EQ(journal.get(), (std::vector<std::string>{"start a"})) << "answered too early";
    server.stop();
    auto future = answered.get_future();
    ASSERT_EQ(future.wait_for(std::chrono::seconds(1)), std::future_status::ready);
    const cpb::Response r = future.get();
    EXPECT_EQ(r.id(), 7u);
    EXPECT_EQ(r.code(), cpb::NOT_SERVING) << r.message();
    EXPECT_EQ(journal.get(), (std::vector<std::string>{"start a", "watch answered", "stop a"}));
}

// heartbeat_confirmed (the registry's lease): done(true) once the leader has
// taken the heartbeat, which moves the session's deadline; done(false) when
// the service has stopped.
TEST(SessionServer, AConfirmedHeartbeatIsAnsweredOnceTheLeaderTookItAndMovesTheDeadline) {
    chorus::testing::TempDir dir;
    Server server(one_server(dir));
    ASSERT_TRUE(server.start().is_ok());
    ASSERT_TRUE(eventually([&] { return server.node().status().serving; }, 10000));
    cpb::Request open;
    open.mutable_open()->set_timeout_ms(1000);
    std::promise<uint64_t> opened;
    server.service().handle(open,
                            [&](cpb::Response r) { opened.set_value(r.session().session_id()); });
    const uint64_t session = opened.get_future().get();
    ASSERT_NE(session, 0u);
    const auto deadline = [&] {
        std::promise<uint64_t> at;
        server.node().post(
            [&] { at.set_value(server.service().tracker().deadline_ms(session).value_or(0)); });
        return at.get_future().get();
    };
    const uint64_t before = deadline();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::promise<bool> confirmed;
    server.service().heartbeat_confirmed(session, [&](bool taken) { confirmed.set_value(taken); });
    auto taken = confirmed.get_future();
    ASSERT_EQ(taken.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    EXPECT_TRUE(taken.get());
    EXPECT_GE(deadline(), before + 100);  // moved by the heartbeat, not only by time
    server.service().stop();
    std::promise<bool> refused;
    server.service().heartbeat_confirmed(session, [&](bool t) { refused.set_value(t); });
    auto after_stop = refused.get_future();
    ASSERT_EQ(after_stop.wait_for(std::chrono::seconds(5)), std::future_status::ready);
    EXPECT_FALSE(after_stop.get());
    server.stop();
}

TEST(NodeTickHook, RunsOnTheCoreThreadOncePerTickAndNotAfterStop) {
    chorus::testing::TempDir dir;
    ServerOptions options = one_server(dir);
    struct Nothing : StateMachine {
        std::optional<zab::Txn> preprocess(const zab::Request&) override { return std::nullopt; }
        void deliver(const zab::Txn&) override {}
        std::string save() override { return ""; }
        void restore(const std::string&) override {}
    } app;
    Node node(options.node, app);
    std::atomic<int> ticks{0};
    std::atomic<uint64_t> last_now{0};
    std::atomic<bool> clock_went_back{false};
    std::atomic<std::thread::id> tick_thread{};
    node.on_tick([&](uint64_t now) {
        if (now < last_now) clock_went_back = true;
        last_now = now;
        tick_thread = std::this_thread::get_id();
        ++ticks;
    });
    ASSERT_TRUE(node.start().is_ok());
    ASSERT_TRUE(eventually([&] { return ticks >= 5; }, 10000));
    std::promise<std::thread::id> core;
    node.post([&] { core.set_value(std::this_thread::get_id()); });
    EXPECT_EQ(core.get_future().get(), tick_thread.load());
    EXPECT_NE(tick_thread.load(), std::this_thread::get_id());
    EXPECT_FALSE(clock_went_back);
    node.stop();
    const int at_stop = ticks;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(ticks, at_stop);
}

}  // namespace
}  // namespace chorus::session
