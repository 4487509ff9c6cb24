// The register linearizability checker (Herlihy & Wing 1990; search after Wing & Gong, memo
// after Lowe 2017): hand-made histories whose verdict can be seen by eye, each with the
// sentence of the explanation a failure must give; then random histories of a real register,
// accepted, and with one read made stale, refused.
#include "tests/sim/linearizability.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace chorus::sim {
namespace {

using Kind = RegisterOp::Kind;
using Verdict = LinearizabilityResult::Verdict;

RegisterOp write(uint64_t client, std::string value, int64_t invoked,
                 std::optional<int64_t> completed) {
    return RegisterOp{client, Kind::kWrite, std::move(value), invoked, completed};
}

RegisterOp read(uint64_t client, std::string value, int64_t invoked, int64_t completed) {
    return RegisterOp{client, Kind::kRead, std::move(value), invoked, completed};
}

constexpr std::nullopt_t kUnknown = std::nullopt;

// Asserts the history is refused and returns the explanation, for the caller to inspect.
std::string refused(const std::vector<RegisterOp>& ops) {
    const LinearizabilityResult result = check_register(ops);
    EXPECT_EQ(result.verdict, Verdict::kNotLinearizable) << result.explanation;
    EXPECT_FALSE(result.explanation.empty());
    return result.explanation;
}

void accepted(const std::vector<RegisterOp>& ops) {
    const LinearizabilityResult result = check_register(ops);
    EXPECT_EQ(result.verdict, Verdict::kLinearizable) << result.explanation;
    EXPECT_TRUE(result.explanation.empty());
}

// --- Sequential histories ---------------------------------------------------------------

TEST(Linearizability, EmptyHistoryIsLinearizable) { accepted({}); }

TEST(Linearizability, SequentialReadsSeeTheLatestWrite) {
    accepted({read(1, "", 0, 5), write(1, "a", 10, 20), read(2, "a", 30, 40), write(2, "b", 50, 60),
              read(1, "b", 70, 80), read(3, "b", 90, 100)});
}

TEST(Linearizability, StaleReadAfterACompletedWriteIsRefused) {
    const std::string why =
        refused({write(1, "a", 0, 10), write(2, "b", 20, 30), read(3, "a", 40, 50)});
    EXPECT_NE(why.find("read of 'a' by client 3 at [40, 50] cannot be linearized: the last write "
                       "that completed before it began wrote 'b' (client 2, [20, 30]), and "
                       "every write of 'a' had completed before that write was invoked"),
              std::string::npos)
        << why;
}

TEST(Linearizability, ExplanationListsTheOpsInvolvedByTime) {
    // Given out of order: the account sorts them.
    const std::string why =
        refused({read(3, "a", 40, 50), write(2, "b", 20, 30), write(1, "a", 0, 10)});
    const size_t list = why.find("ops involved, by time:");
    ASSERT_NE(list, std::string::npos) << why;
    const size_t first = why.find("write of 'a' by client 1 at [0, 10]", list);
    const size_t second = why.find("write of 'b' by client 2 at [20, 30]", list);
    const size_t third = why.find("read of 'a' by client 3 at [40, 50]", list);
    ASSERT_NE(first, std::string::npos) << why;
    ASSERT_NE(second, std::string::npos) << why;
    ASSERT_NE(third, std::string::npos) << why;
    EXPECT_LT(first, second);
    EXPECT_LT(second, third);
}

TEST(Linearizability, ReadOfAValueNeverWrittenIsRefusedBeforeAnySearch) {
    const LinearizabilityResult result =
        check_register({write(1, "a", 0, 10), read(2, "zzz", 20, 30)});
    EXPECT_EQ(result.verdict, Verdict::kNotLinearizable);
    EXPECT_EQ(result.states_explored, 0u);
    EXPECT_NE(result.explanation.find(
                  "read of 'zzz' by client 2 at [20, 30] returned a value that no write wrote"),
              std::string::npos)
        << result.explanation;
}

TEST(Linearizability, ReadsGoingBackInTimeAreRefused) {
    // The write of "new" overlaps both reads, so each read alone is fine; but once A's read of
    // "new" completed, B (starting later) cannot see "old" again.
    const std::string why = refused({write(1, "old", 0, 10), write(2, "new", 20, 100),
                                     read(3, "new", 30, 40), read(4, "old", 50, 60)});
    EXPECT_NE(why.find("read of 'old' by client 4 at [50, 60] cannot be linearized: the read of "
                       "'new' by client 3 at [30, 40] completed before it began, and every write "
                       "of 'old' had completed before 'new' was first written (client 2, "
                       "[20, 100])"),
              std::string::npos)
        << why;
}

TEST(Linearizability, ReadGoingBackInTimeIsFoundPastALaterReadOfTheOldValue) {
    // Client 5's read of "old" overlaps A's and precedes it in the order, and completes after
    // it: the read that proves B wrong is not the last one to complete before B began.
    const std::string why =
        refused({write(1, "old", 0, 10), write(2, "new", 20, 100), read(3, "new", 30, 40),
                 read(5, "old", 25, 45), read(4, "old", 50, 60)});
    EXPECT_NE(why.find("read of 'old' by client 4 at [50, 60] cannot be linearized: the read of "
                       "'new' by client 3 at [30, 40] completed before it began"),
              std::string::npos)
        << why;
}

TEST(Linearizability, OverlappingReadsMaySeeOldAndNewInEitherOrder) {
    // Same as above, but B's read began before A's completed: B goes before the write.
    accepted({write(1, "old", 0, 10), write(2, "new", 20, 100), read(3, "new", 30, 40),
              read(4, "old", 35, 60)});
}

TEST(Linearizability, InitialValueCannotComeBackAfterAReadSawAWrite) {
    const std::string why = refused(
        {write(1, "a", 0, 100), read(2, "", 10, 20), read(3, "a", 30, 40), read(4, "", 50, 60)});
    EXPECT_NE(why.find("read of '' by client 4 at [50, 60] cannot be linearized"),
              std::string::npos)
        << why;
    EXPECT_NE(why.find("the initial value cannot return once 'a' was written"), std::string::npos)
        << why;
}

// --- Concurrency --------------------------------------------------------------------------

TEST(Linearizability, ConcurrentWritesMayTakeEffectInEitherOrder) {
    const std::vector<RegisterOp> writes = {write(1, "a", 0, 50), write(2, "b", 10, 60)};
    for (const char* seen : {"a", "b"}) {
        std::vector<RegisterOp> ops = writes;
        ops.push_back(read(3, seen, 70, 80));
        SCOPED_TRACE(seen);
        accepted(ops);
    }
    std::vector<RegisterOp> ops = writes;
    ops.push_back(read(3, "", 70, 80));
    const std::string why = refused(ops);
    EXPECT_NE(why.find("read of '' by client 3 at [70, 80] cannot be linearized: the last write "
                       "that completed before it began wrote 'b' (client 2, [10, 60]), "
                       "overwriting the initial value"),
              std::string::npos)
        << why;
}

TEST(Linearizability, ReadsDuringAWriteMaySeeEitherValue) {
    // r1 is linearized after the write, r2 (inside r1) before it.
    accepted({write(1, "a", 0, 100), read(2, "a", 10, 90), read(3, "", 20, 80)});
    // Each of two concurrent writes seen by one of two concurrent reads, then the later one
    // by a read after both.
    accepted({write(1, "a", 0, 50), write(2, "b", 5, 55), read(3, "b", 10, 20),
              read(4, "a", 15, 60), read(5, "a", 70, 80)});
}

TEST(Linearizability, TwoClientsCannotSeeTheWritesInOppositeOrders) {
    // Clients 3 and 4 each see both writes, in opposite orders, one client after the other.
    const std::string why =
        refused({write(1, "a", 0, 100), write(2, "b", 0, 100), read(3, "a", 10, 20),
                 read(3, "b", 30, 40), read(4, "b", 50, 60), read(4, "a", 70, 80)});
    EXPECT_NE(why.find("read of 'a' by client 4 at [70, 80] cannot be linearized: 'a', written "
                       "only (client 1, [0, 100]), had been read (client 3, [10, 20]) before the "
                       "read of 'b' by client 4 at [50, 60] began, and that read completed before "
                       "this one began"),
              std::string::npos)
        << why;
}

TEST(Linearizability, AReadOfANewerValueInBetweenMakesALaterReadStale) {
    // The write of 'u' overlaps the write of 'v', so neither "stale" nor "back in time" applies
    // but the read of 'u' began after 'v' was written and ended before 'v' was read.
    const std::string why = refused(
        {write(1, "v", 0, 10), write(2, "u", 5, 100), read(2, "u", 20, 30), read(3, "v", 40, 50)});
    EXPECT_NE(why.find("read of 'v' by client 3 at [40, 50] cannot be linearized: every write of "
                       "'v' had completed before the read of 'u' by client 2 at [20, 30] began, "
                       "and that read completed before this one began"),
              std::string::npos)
        << why;
    // The read that proves it is found among others that completed later: one of 'v' itself,
    // and one of 'u' that began before 'v' was written.
    const std::string among =
        refused({write(1, "v", 0, 10), write(2, "u", 5, 100), read(4, "u", 8, 35),
                 read(5, "v", 15, 36), read(2, "u", 20, 30), read(3, "v", 40, 50)});
    EXPECT_NE(among.find("read of 'v' by client 3 at [40, 50] cannot be linearized: every write "
                         "of 'v' had completed before the read of 'u' by client 2 at [20, 30] "
                         "began"),
              std::string::npos)
        << among;
    // With the read of 'u' begun before 'v' was written, 'u' may come first.
    accepted(
        {write(1, "v", 0, 10), write(2, "u", 5, 100), read(2, "u", 8, 30), read(3, "v", 40, 50)});
}

TEST(Linearizability, ARefutationOnlyTheSearchFinds) {
    // 'a' completes the instant 'b' begins, so they overlap and no one-line reason applies.
    // But either order of the two writes leaves a read that needs the other order: 'b' first
    // means the read of 'a' (after 'b' completed) sits after both, so the read of 'b' precedes
    // 'a', although 'a' completed before it began; 'a' first means the read of 'a' sits before
    // 'b', although 'b' completed before it began.
    const LinearizabilityResult result =
        check_register({write(1, "a", 0, 10), write(2, "b", 10, 60), read(3, "b", 50, 110),
                        read(4, "a", 80, 100)});
    EXPECT_EQ(result.verdict, Verdict::kNotLinearizable);
    EXPECT_GT(result.states_explored, 0u);
    EXPECT_NE(result.explanation.find("cannot be linearized: no order of it and the operations "
                                      "around it agrees with what the reads returned"),
              std::string::npos)
        << result.explanation;
    for (const char* op :
         {"write of 'a' by client 1 at [0, 10]", "write of 'b' by client 2 at [10, 60]",
          "read of 'b' by client 3 at [50, 110]", "read of 'a' by client 4 at [80, 100]"})
        EXPECT_NE(result.explanation.find(op), std::string::npos) << op << "\n"
                                                                  << result.explanation;
}

TEST(Linearizability, OpsTouchingInTimeAreConcurrent) {
    // The read was invoked at the instant the write completed: it may precede it.
    accepted({write(1, "a", 0, 10), read(2, "", 10, 20)});
    const std::string why = refused({write(1, "a", 0, 10), read(2, "", 11, 20)});
    EXPECT_NE(why.find("read of '' by client 2 at [11, 20]"), std::string::npos) << why;
}

// --- Indeterminate writes -----------------------------------------------------------------

TEST(Linearizability, AnIndeterminateWriteMayBeSeenOrNot) {
    const std::vector<RegisterOp> base = {write(1, "a", 0, 10), write(2, "b", 20, kUnknown)};
    for (const char* seen : {"a", "b"}) {
        std::vector<RegisterOp> ops = base;
        ops.push_back(read(3, seen, 30, 40));
        ops.push_back(read(3, seen, 50, 60));
        SCOPED_TRACE(seen);
        accepted(ops);
    }
    // It may take effect long after its client gave up, after reads that did not see it.
    accepted({write(1, "a", 0, 10), write(2, "b", 20, kUnknown), read(3, "a", 30, 40),
              read(4, "a", 500, 510), read(3, "b", 900, 910)});
}

TEST(Linearizability, OnceAnIndeterminateWriteIsSeenTheOlderValueIsGone) {
    const std::string why = refused({write(1, "a", 0, 10), write(2, "b", 20, kUnknown),
                                     read(3, "b", 30, 40), read(4, "a", 50, 60)});
    EXPECT_NE(why.find("read of 'a' by client 4 at [50, 60] cannot be linearized: the read of "
                       "'b' by client 3 at [30, 40] completed before it began, and every write "
                       "of 'a' had completed before 'b' was first written (client 2, [20, ?])"),
              std::string::npos)
        << why;
}

TEST(Linearizability, AnIndeterminateWriteOnceReadIsPlacedBeforeLaterWrites) {
    // Its outcome is unknown, but its read shows it took effect by then: it cannot take
    // effect again after a later write.
    const std::string stale = refused({write(1, "a", 0, kUnknown), read(2, "a", 10, 20),
                                       write(3, "b", 30, 40), read(4, "a", 50, 60)});
    EXPECT_NE(stale.find("read of 'a' by client 4 at [50, 60] cannot be linearized: the last "
                         "write that completed before it began wrote 'b' (client 3, [30, 40]), "
                         "and 'a', written only (client 1, [0, ?]), had been read (client 2, "
                         "[10, 20]) before that write was invoked"),
              std::string::npos)
        << stale;
    const std::string back =
        refused({write(1, "a", 0, kUnknown), read(2, "a", 10, 20), write(3, "b", 30, kUnknown),
                 read(5, "b", 40, 50), read(4, "a", 60, 70)});
    EXPECT_NE(back.find("read of 'a' by client 4 at [60, 70] cannot be linearized: the read of "
                        "'b' by client 5 at [40, 50] completed before it began, and 'a', written "
                        "only (client 1, [0, ?]), had been read (client 2, [10, 20]) before 'b' "
                        "was first written (client 3, [30, ?])"),
              std::string::npos)
        << back;
    // Without the first read, the write of 'a' may land after 'b'.
    accepted({write(1, "a", 0, kUnknown), write(3, "b", 30, 40), read(4, "a", 50, 60)});
}

TEST(Linearizability, AnIndeterminateWriteSeenBeforeItWasInvokedIsRefused) {
    const std::string why = refused({read(1, "x", 0, 10), write(2, "x", 20, kUnknown)});
    EXPECT_NE(why.find("read of 'x' by client 1 at [0, 10] returned a value before anyone wrote "
                       "it: every write of 'x' was invoked after the read completed"),
              std::string::npos)
        << why;
    EXPECT_NE(why.find("write of 'x' by client 2 at [20, ?] (outcome unknown)"), std::string::npos)
        << why;
    // Invoked at the instant the read completed: concurrent, so it may have been seen.
    accepted({read(1, "x", 0, 20), write(2, "x", 20, kUnknown)});
}

TEST(Linearizability, ACompletedWriteNeverSeenByALaterReadIsRefused) {
    // An indeterminate write may be left out; a completed one may not.
    accepted({write(1, "a", 0, kUnknown), read(2, "", 20, 30)});
    const std::string why = refused({write(1, "a", 0, 10), read(2, "", 20, 30)});
    EXPECT_NE(why.find("read of '' by client 2 at [20, 30] cannot be linearized: the last write "
                       "that completed before it began wrote 'a' (client 1, [0, 10]), "
                       "overwriting the initial value"),
              std::string::npos)
        << why;
    // Likewise with an indeterminate write around that could have been seen but was not.
    const std::string why2 =
        refused({write(1, "a", 0, 10), write(3, "b", 5, kUnknown), read(2, "", 20, 30)});
    EXPECT_NE(why2.find("read of '' by client 2 at [20, 30] cannot be linearized"),
              std::string::npos)
        << why2;
}

// --- Values written more than once --------------------------------------------------------

TEST(Linearizability, RepeatedValuesAreHandledWithoutAssumingUniqueness) {
    // "a" is written twice; the read may see the second write.
    accepted(
        {write(1, "a", 0, 10), write(2, "b", 20, 30), write(3, "a", 40, 50), read(4, "a", 60, 70)});
    // Here the second write of "a" begins after the read ended: only the stale one fits.
    const std::string why = refused(
        {write(1, "a", 0, 10), write(2, "b", 20, 30), write(3, "a", 40, 50), read(4, "a", 32, 38)});
    // Not "stale": the write of 'b' was invoked before the second write of 'a' completed.
    EXPECT_NE(why.find("read of 'a' by client 4 at [32, 38] cannot be linearized: no order"),
              std::string::npos)
        << why;
    // An indeterminate second write of "a" may land after "b".
    accepted({write(1, "a", 0, 10), write(2, "b", 20, 30), write(3, "a", 25, kUnknown),
              read(4, "a", 40, 50)});
    // Writing the initial value back.
    accepted({write(1, "a", 0, 10), write(2, "", 20, 30), read(3, "", 40, 50)});
}

// --- Against a brute-force oracle ---------------------------------------------------------

// Herlihy & Wing's definition taken literally: try every order of the ops that respects real
// time, with each indeterminate write placed somewhere or nowhere. Only for a handful of ops.
bool linearizable_by_brute_force(const std::vector<RegisterOp>& ops) {
    const size_t n = ops.size();
    uint32_t complete = 0;
    for (size_t i = 0; i < n; ++i)
        if (ops[i].completed) complete |= 1u << i;
    std::set<std::pair<uint32_t, std::string>> failed;
    auto place = [&](auto& self, uint32_t placed, const std::string& value) -> bool {
        if ((placed & complete) == complete) return true;
        if (failed.contains({placed, value})) return false;
        for (size_t o = 0; o < n; ++o) {
            if (placed & (1u << o)) continue;
            bool ready = true;  // everything that completed before o was invoked is placed
            for (size_t p = 0; p < n; ++p) {
                if (!(placed & (1u << p)) && ops[p].completed && *ops[p].completed < ops[o].invoked)
                    ready = false;
            }
            if (!ready) continue;
            if (ops[o].kind == Kind::kRead) {
                if (ops[o].value == value && self(self, placed | (1u << o), value)) return true;
            } else if (self(self, placed | (1u << o), ops[o].value)) {
                return true;
            }
        }
        failed.emplace(placed, value);
        return false;
    };
    return place(place, 0, "");
}

TEST(Linearizability, AgreesWithBruteForceOnSmallRandomHistories) {
    // Few values, often written twice, some indeterminate writes, many overlaps and ties:
    // the cases where the search's shortcuts could go wrong. Most refusals come from the
    // one-line reasons checked before the search; it runs until the search itself has refused
    // enough histories too.
    std::mt19937_64 rng(7);
    auto uniform = [&rng](int64_t lo, int64_t hi) {
        return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
    };
    int linearizable = 0;
    int not_linearizable = 0;
    int refused_by_search = 0;
    for (int trial = 0; trial < 200000 && (trial < 20000 || refused_by_search < 500); ++trial) {
        const int64_t values = uniform(1, 4);
        std::vector<RegisterOp> ops(static_cast<size_t>(uniform(1, 10)));
        for (RegisterOp& op : ops) {
            op.client = static_cast<uint64_t>(uniform(1, 3));
            op.kind = uniform(0, 1) == 0 ? Kind::kWrite : Kind::kRead;
            // Reads of "" and, rarely, of a value nobody writes.
            const int64_t v =
                uniform(op.kind == Kind::kRead ? -1 : 0, values + (op.kind == Kind::kRead ? 1 : 0));
            op.value = v <= 0 ? "" : std::string(1, static_cast<char>('a' + v - 1));
            op.invoked = uniform(0, 20);
            if (op.kind == Kind::kRead || uniform(0, 4) != 0)
                op.completed = op.invoked + uniform(0, 8);
        }
        const bool expected = linearizable_by_brute_force(ops);
        const LinearizabilityResult result = check_register(ops);
        ASSERT_EQ(result.verdict, expected ? Verdict::kLinearizable : Verdict::kNotLinearizable)
            << "trial " << trial << ": " << result.explanation;
        ++(expected ? linearizable : not_linearizable);
        if (!expected && result.states_explored > 0) ++refused_by_search;
    }
    // Both verdicts, and both ways of refusing, well represented, or the comparison says
    // little.
    EXPECT_GT(linearizable, 4000);
    EXPECT_GT(not_linearizable, 4000);
    EXPECT_GE(refused_by_search, 500);
}

// --- RegisterHistory ----------------------------------------------------------------------

TEST(RegisterHistory, NamesTheOneBadKey) {
    RegisterHistory history;
    // Key "x" is fine, interleaved in time with key "y", which has a stale read.
    history.complete(history.invoke("x", 1, Kind::kWrite, "x1", 0), 10);
    history.complete(history.invoke("y", 2, Kind::kWrite, "y1", 5), 15);
    const size_t x_read = history.invoke("x", 3, Kind::kRead, "", 20);
    history.complete(history.invoke("y", 2, Kind::kWrite, "y2", 20), 30);
    history.complete(x_read, 35, "x1");
    history.complete(history.invoke("y", 4, Kind::kRead, "", 40), 50, "y1");
    // A read that never got its answer is left out.
    history.invoke("x", 5, Kind::kRead, "", 60);
    EXPECT_EQ(history.size(), 6u);

    const LinearizabilityResult result = history.check();
    EXPECT_EQ(result.verdict, Verdict::kNotLinearizable);
    EXPECT_EQ(result.explanation.rfind("key 'y': read of 'y1' by client 4 at [40, 50]", 0), 0u)
        << result.explanation;
    EXPECT_EQ(result.explanation.find("'x1'"), std::string::npos) << result.explanation;
    EXPECT_GT(result.states_explored, 0u);
}

TEST(RegisterHistory, ForgetDropsTheOp) {
    // A write refused before it was sent: a read of its value then has no writer at all.
    RegisterHistory history;
    history.complete(history.invoke("k", 1, Kind::kWrite, "a", 0), 10);
    const size_t refused_write = history.invoke("k", 1, Kind::kWrite, "b", 20);
    history.complete(history.invoke("k", 2, Kind::kRead, "", 30), 40, "b");
    EXPECT_EQ(history.size(), 3u);

    // Left indeterminate, it may have taken effect.
    EXPECT_EQ(history.check().verdict, Verdict::kLinearizable);

    history.forget(refused_write);
    EXPECT_EQ(history.size(), 2u);
    const LinearizabilityResult result = history.check();
    EXPECT_EQ(result.verdict, Verdict::kNotLinearizable);
    EXPECT_NE(result.explanation.find(
                  "key 'k': read of 'b' by client 2 at [30, 40] returned a value that no write "
                  "wrote"),
              std::string::npos)
        << result.explanation;
}

TEST(RegisterHistory, WriteCompletionIgnoresTheValue) {
    RegisterHistory history;
    history.complete(history.invoke("k", 1, Kind::kWrite, "a", 0), 10, "ignored");
    history.complete(history.invoke("k", 2, Kind::kRead, "", 20), 30, "a");
    EXPECT_EQ(history.check().verdict, Verdict::kLinearizable);
}

// --- Random histories of a real register --------------------------------------------------

struct RandomHistory {
    std::vector<RegisterOp> ops;
};

// Clients run ops one at a time on a simulated atomic register: each op takes effect at a
// point drawn inside [invoked, completed], so the history is linearizable by construction.
// A few writes time out: they take effect at some later point, or never, and their client
// moves on. Values are unique ("v<n>").
RandomHistory random_register_history(uint64_t seed, int clients, int ops_per_client) {
    std::mt19937_64 rng(seed);
    auto uniform = [&rng](int64_t lo, int64_t hi) {
        return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
    };
    struct Effect {
        int64_t at;
        size_t op;
    };
    RandomHistory h;
    std::vector<Effect> effects;
    int next_value = 0;
    for (int c = 0; c < clients; ++c) {
        int64_t now = uniform(0, 20);
        for (int i = 0; i < ops_per_client; ++i) {
            RegisterOp op;
            op.client = static_cast<uint64_t>(c + 1);
            op.kind = uniform(0, 1) == 0 ? Kind::kWrite : Kind::kRead;
            op.invoked = now + uniform(0, 15);
            // Mostly short ops, a few slow ones.
            const int64_t duration = uniform(0, 19) == 0 ? uniform(50, 200) : uniform(1, 20);
            const bool timed_out = op.kind == Kind::kWrite && uniform(0, 19) == 0;
            if (op.kind == Kind::kWrite) op.value = "v" + std::to_string(next_value++);
            if (timed_out) {
                if (uniform(0, 1) == 0)
                    effects.push_back({op.invoked + uniform(0, 400), h.ops.size()});
                now = op.invoked + 60;  // the client's timeout
            } else {
                op.completed = op.invoked + duration;
                effects.push_back({uniform(op.invoked, *op.completed), h.ops.size()});
                now = *op.completed;
            }
            h.ops.push_back(op);
        }
    }
    std::sort(effects.begin(), effects.end(), [](const Effect& a, const Effect& b) {
        return a.at != b.at ? a.at < b.at : a.op < b.op;
    });
    std::string value;
    for (const Effect& e : effects) {
        RegisterOp& op = h.ops[e.op];
        if (op.kind == Kind::kWrite) {
            value = op.value;
        } else {
            op.value = value;
        }
    }
    return h;
}

// Makes one read stale in a way no order can excuse: it returns the value of a complete
// write W, although a write X of another value was invoked after W completed and completed
// before the read was invoked (W is the only writer of its value). Returns the read's index.
std::optional<size_t> make_one_read_stale(std::vector<RegisterOp>& ops, uint64_t seed) {
    std::mt19937_64 rng(seed);
    struct Choice {
        size_t read;
        size_t stale_write;
    };
    std::vector<Choice> choices;
    for (size_t r = 0; r < ops.size(); ++r) {
        if (ops[r].kind != Kind::kRead) continue;
        // Of the writes X that completed before the read, the one invoked last admits the
        // most W.
        std::optional<int64_t> x_invoked;
        for (const RegisterOp& x : ops) {
            if (x.kind == Kind::kWrite && x.completed && *x.completed < ops[r].invoked)
                x_invoked = std::max(x_invoked.value_or(x.invoked), x.invoked);
        }
        if (!x_invoked) continue;
        for (size_t w = 0; w < ops.size(); ++w) {
            if (ops[w].kind != Kind::kWrite || !ops[w].completed) continue;
            if (*ops[w].completed >= *x_invoked || ops[w].value == ops[r].value) continue;
            choices.push_back({r, w});
        }
    }
    if (choices.empty()) return std::nullopt;
    const Choice c = choices[std::uniform_int_distribution<size_t>(0, choices.size() - 1)(rng)];
    ops[c.read].value = ops[c.stale_write].value;
    return c.read;
}

TEST(Linearizability, RandomRegisterHistoriesAreAcceptedAndAStaleReadIsRefused) {
    for (uint64_t seed = 1; seed <= 30; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        RandomHistory h = random_register_history(seed, /*clients=*/5, /*ops_per_client=*/60);
        const LinearizabilityResult good = check_register(h.ops);
        ASSERT_EQ(good.verdict, Verdict::kLinearizable) << good.explanation;

        std::optional<size_t> stale = make_one_read_stale(h.ops, seed);
        ASSERT_TRUE(stale.has_value());
        const LinearizabilityResult bad = check_register(h.ops);
        ASSERT_EQ(bad.verdict, Verdict::kNotLinearizable);
        const RegisterOp& r = h.ops[*stale];
        const std::string who = "read of '" + r.value + "' by client " + std::to_string(r.client) +
                                " at [" + std::to_string(r.invoked) + ", " +
                                std::to_string(*r.completed) + "] cannot be linearized: ";
        EXPECT_NE(bad.explanation.find(who), std::string::npos) << bad.explanation;
        EXPECT_NE(bad.explanation.find("write that completed before it began wrote"),
                  std::string::npos)
            << bad.explanation;
    }
}

TEST(Linearizability, RandomHistoriesWithMoreConcurrencyAreAccepted) {
    // Ten clients on one register: up to ten ops open at once, and more timed-out writes.
    for (uint64_t seed = 100; seed < 110; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        const RandomHistory h =
            random_register_history(seed, /*clients=*/10, /*ops_per_client=*/40);
        const LinearizabilityResult result = check_register(h.ops);
        EXPECT_EQ(result.verdict, Verdict::kLinearizable) << result.explanation;
    }
}

TEST(RegisterHistory, RandomHistoriesOverManyKeysAreAccepted) {
    RegisterHistory history;
    for (int key = 0; key < 4; ++key) {
        const RandomHistory h = random_register_history(1000 + key, 4, 50);
        for (const RegisterOp& op : h.ops) {
            const size_t handle =
                history.invoke("key" + std::to_string(key), op.client, op.kind,
                               op.kind == Kind::kWrite ? op.value : "", op.invoked);
            if (op.completed) history.complete(handle, *op.completed, op.value);
        }
    }
    const LinearizabilityResult result = history.check();
    EXPECT_EQ(result.verdict, Verdict::kLinearizable) << result.explanation;
    EXPECT_GE(result.states_explored, history.size() / 2);
}

// --- The bound ----------------------------------------------------------------------------

// The history of ARefutationOnlyTheSearchFinds, with twelve more writes, concurrent with it
// all, that nobody read: refuting it takes the search through the subsets of those writes
// (thousands of configurations).
std::vector<RegisterOp> many_concurrent_writes() {
    std::vector<RegisterOp> ops = {write(1, "a", 0, 10), write(2, "b", 10, 60),
                                   read(3, "b", 50, 110), read(4, "a", 80, 100)};
    for (int i = 0; i < 12; ++i) ops.push_back(write(10 + i, "w" + std::to_string(i), i, 120 + i));
    return ops;
}

TEST(Linearizability, GivesUpPastMaxStates) {
    const LinearizabilityResult result = check_register(many_concurrent_writes(), 100);
    EXPECT_EQ(result.verdict, Verdict::kTooBig);
    EXPECT_EQ(result.states_explored, 100u);
    EXPECT_NE(result.explanation.find("gave up after entering 100 configurations"),
              std::string::npos)
        << result.explanation;

    // With room, the same history is decided.
    const LinearizabilityResult decided = check_register(many_concurrent_writes());
    EXPECT_EQ(decided.verdict, Verdict::kNotLinearizable) << decided.explanation;
    EXPECT_GT(decided.states_explored, 100u);
}

TEST(RegisterHistory, ReportsTooBigWithTheKey) {
    RegisterHistory history;
    for (const RegisterOp& op : many_concurrent_writes()) {
        const size_t handle = history.invoke("hot", op.client, op.kind, op.value, op.invoked);
        history.complete(handle, *op.completed, op.value);
    }
    const LinearizabilityResult result = history.check(50);
    EXPECT_EQ(result.verdict, Verdict::kTooBig);
    EXPECT_EQ(result.explanation.rfind("key 'hot': gave up", 0), 0u) << result.explanation;
}

}  // namespace
}  // namespace chorus::sim
