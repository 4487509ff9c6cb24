// Linearizability checker for register histories (Herlihy & Wing, "Linearizability: a
// correctness condition for concurrent objects", 1990), for the deterministic simulator.
//
// The search is Wing & Gong's, with Lowe's memoization ("Testing for linearizability", Gavin
// Lowe, 2017): the ops become call and return entries in time order; the search repeatedly
// linearizes a pending op whose call precedes the first return still in the list, remembers
// every configuration (set of linearized ops, register value) it has entered so that it never
// explores one twice, and backtracks when it meets the return of an op it has not linearized.
//
// Before the search, reads that a line of reasoning refutes are looked for, in O(n log n): a
// value nobody wrote, or nobody wrote before the read completed; a stale read, overwritten by a
// write that completed before it began; a read going back to a value older than one an earlier
// read saw, or older than one a read that began after that value was written saw. These also
// make the clearest explanations. The search then uses reductions that keep histories of a few
// hundred mostly sequential ops per key cheap (each is sound whatever the values; the proofs
// are in linearizability.cc):
//   - a read returning the current value is linearized at once, without a choice point;
//   - values no pending read returns are one value to the memo;
//   - a branch ends as soon as the register holds a value that a later read still needs, no
//     such read can come next, and no write left can write that value again;
//   - an indeterminate write is tried only while a pending read still returns its value, and,
//     when it is the only writer of that value, only where no complete write must come between
//     it and those reads; indeterminate writes nobody read are dropped up front.
//
// Cost: about linear in the ops for histories whose ops rarely overlap (a few hundred ops take
// well under a millisecond); exponential in the number of mutually concurrent writes in the
// worst case, hence `max_states`: refuting a history with k concurrent writes nobody read may
// visit 2^k configurations. Memory is about 8 * (2 + w) bytes per configuration entered, plus
// 16 to 32 bytes of table, where w is the number of 64-bit words spanning the ops whose
// linearization is still open (1 or 2 for such histories): a search that runs into the default
// bound takes a second or two and holds about 80 MB until it returns. Single-threaded, no
// globals: call it from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chorus::sim {

// One operation of a client on one register, as a client saw it. Times are the simulator's
// (any unit, only their order matters). An op that completed at t and one invoked at t are
// concurrent: neither is known to precede the other.
struct RegisterOp {
    uint64_t client = 0;
    enum class Kind : uint8_t { kWrite, kRead } kind = Kind::kWrite;
    // The value written, or the value the read returned ("" = the initial value).
    std::string value;
    // Time the client sent it.
    int64_t invoked = 0;
    // Time the client got the answer; nullopt = indeterminate: the client never learned the
    // outcome (a write that may or may not have taken effect, at any time after `invoked`).
    // Reads are always complete (check_register ignores a read without an answer).
    std::optional<int64_t> completed;
};

struct LinearizabilityResult {
    enum class Verdict : uint8_t { kLinearizable, kNotLinearizable, kTooBig };
    Verdict verdict = Verdict::kLinearizable;
    // kNotLinearizable: which operation cannot be placed and why (the last write that completed
    // before a stale read began, an earlier read that saw a newer value, ...), then the ops
    // involved, sorted by time, one per line. kTooBig: how far the search went. Empty otherwise.
    std::string explanation;
    // Configurations the search entered (for a history, summed over the keys checked); 0 when
    // a refutation found before the search settled it.
    uint64_t states_explored = 0;
};

// Whether `ops` on one register (initial value "") are linearizable: there is a total order of
// all complete ops and some subset of the indeterminate writes, consistent with real time (an
// op that completed before another was invoked comes first), in which every read returns the
// value of the latest write before it (or "" if none). Values need not be unique (the search is
// faster when each is written once). The search gives up with kTooBig once it has entered
// `max_states` configurations.
// Preconditions (abort otherwise): completed >= invoked for every complete op.
LinearizabilityResult check_register(std::vector<RegisterOp> ops, uint64_t max_states = 2'000'000);

// A history over many registers (keys), recorded as the simulator runs. Linearizability is
// local (Herlihy & Wing, "locality"), so each key is checked on its own. Not thread-safe; the
// simulator records from its single driver thread.
class RegisterHistory {
 public:
    // Records that `client` sent an op on `key` at `now`; for a write `value` is the value
    // written (a read's value is given to complete()). Returns a handle for complete() or
    // forget(), valid for the life of the history.
    size_t invoke(const std::string& key, uint64_t client, RegisterOp::Kind kind, std::string value,
                  int64_t now);
    // The op of `handle` got its answer at `now`. For a read, `value` is what it returned
    // (ignored for writes). Preconditions (abort otherwise): the handle came from invoke(), was
    // neither completed nor forgotten, and `now` is not before its invocation.
    void complete(size_t handle, int64_t now, std::string value = {});
    // The op of `handle` failed in a way that proves it had no effect (refused before it was
    // sent): it leaves the history. Preconditions as for complete().
    void forget(size_t handle);
    // Checks every key, in key order, with `max_states_per_key` each. Writes never completed nor
    // forgotten are indeterminate; reads without an answer are left out. The verdict is that of
    // the first non-linearizable key (its explanation prefixed with "key '<name>': "), else
    // kTooBig if some key was too big (prefixed likewise), else kLinearizable. Stops at the
    // first non-linearizable key.
    LinearizabilityResult check(uint64_t max_states_per_key = 2'000'000) const;
    // Ops recorded and not forgotten.
    size_t size() const { return live_; }

 private:
    enum class Status : uint8_t { kPending, kComplete, kForgotten };
    struct Recorded {
        std::string key;
        RegisterOp op;
        Status status = Status::kPending;
    };
    Recorded& pending(size_t handle, const char* caller);

    std::vector<Recorded> ops_;  // indexed by handle
    size_t live_ = 0;
};

}  // namespace chorus::sim
