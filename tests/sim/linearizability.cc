#include "tests/sim/linearizability.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <map>
#include <unordered_map>
#include <utility>

// Why the reductions of the search are sound. A configuration C is the set S of ops linearized
// so far (a prefix of some candidate order) and the register's value after them; an op is
// "pending" at C when it is not in S and its call precedes the first return left in the list,
// i.e. every op that completed before it was invoked is in S. C succeeds when some order of
// pending ops extends it to all complete ops. The memo holds configurations that have been
// entered; one entered and left again has failed, so meeting it again ends the branch.
//
// (1) A pending read r returning C's value: if C succeeds, so does C + r. Take a successful
//     extension and move r to its front: the ops that must precede r are in S already (r is
//     pending), r still precedes the ops it preceded, r reads C's value, and reads change
//     nothing for the ops after. So r is linearized at once, and if C + r fails, C fails: no
//     other choice at C needs trying.
// (2) Two configurations with the same S whose values no pending read returns are one: an
//     extension of either starts with a write (a read would have to return the dead value)
//     or linearizes no read, so each works for both.
// (3) An indeterminate write w whose value v no pending read returns: linearizing it at C is
//     never needed. An extension of C + w starts, by (2)'s argument, with a write or holds no
//     read, so it is an extension of C too, with w never linearized (which is allowed, and w
//     has no return in the list to block anything).
// (4) An indeterminate w that is the only writer of v (v not the initial value, so no read of
//     v is linearized yet, and all must follow w with no write in between), and a complete
//     write x, not yet linearized, that completed before every read of v was invoked: x must
//     come after w (it is not in S) and before each read of v, which then cannot return v.
//     So C + w fails. This uses unique values for speed only: it is checked, not assumed.
// (5) An indeterminate write nobody read is dropped before the search: by (3), from the start.
// (6) A configuration with no read of its value u pending, but some read of u not linearized,
//     and no write of u left: the next op is a write of another value (a read would have to
//     return u), after which u never comes back, so that read can never be linearized.

namespace chorus::sim {
namespace {

using Kind = RegisterOp::Kind;
using Verdict = LinearizabilityResult::Verdict;

constexpr int64_t kBeforeAll = std::numeric_limits<int64_t>::min();
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr uint32_t kNoEntry = std::numeric_limits<uint32_t>::max();
// The memo's name for every value no pending read returns (reduction 2).
constexpr uint32_t kDeadValue = std::numeric_limits<uint32_t>::max();
// Ops listed under an explanation: enough to see the conflict, few enough to read.
constexpr size_t kMaxOpsListed = 12;

// Tests compile this file without the rest of the project, so it does not use CHORUS_ASSERT
// (base/assert.h); a broken contract is a bug in the caller all the same, and aborts.
[[noreturn]] void contract_violated(const char* what) {
    std::fprintf(stderr, "linearizability checker: contract violated: %s\n", what);
    std::abort();
}

std::string quote(const std::string& value) {
    // Long values would drown the account; the simulator's are short and unique in a prefix.
    constexpr size_t kMaxQuoted = 40;
    if (value.size() <= kMaxQuoted) return "'" + value + "'";
    return "'" + value.substr(0, kMaxQuoted) + "...'";
}

std::string interval(const RegisterOp& op) {
    return "[" + std::to_string(op.invoked) + ", " +
           (op.completed ? std::to_string(*op.completed) : std::string("?")) + "]";
}

std::string describe(const RegisterOp& op) {
    std::string out = op.kind == Kind::kRead ? "read of " : "write of ";
    out += quote(op.value) + " by client " + std::to_string(op.client) + " at " + interval(op);
    if (!op.completed) out += " (outcome unknown)";
    return out;
}

// "(client 1, [80, 90])": a write named inside a sentence that already gave its value.
std::string reference(const RegisterOp& op) {
    return "(client " + std::to_string(op.client) + ", " + interval(op) + ")";
}

int64_t completed_or_never(const RegisterOp& op) { return op.completed.value_or(kNever); }

// The configurations the search has entered, stored exactly (no hash-only shortcuts: a
// collision would prune a branch that might succeed). A configuration is the bitset of
// linearized ops plus the value; the bitset is stored trimmed, as its leading all-ones words
// and trailing zero words are implied, which leaves a word or two for a mostly sequential
// history. Records live in one arena; an open-addressing table holds their offsets.
class VisitedSet {
 public:
    enum class Outcome : uint8_t { kNew, kSeen, kFull };

    explicit VisitedSet(uint64_t limit) : limit_(limit) {}

    // Adds (value, bits) unless it is there; refuses with kFull when it would be the
    // (limit + 1)th configuration.
    Outcome insert(uint32_t value, const std::vector<uint64_t>& bits) {
        size_t first = 0;
        while (first < bits.size() && bits[first] == ~uint64_t{0}) ++first;
        size_t last = bits.size();
        while (last > first && bits[last - 1] == 0) --last;
        record_.clear();
        record_.push_back((uint64_t{value} << 32) | (last - first));
        record_.push_back(first);
        record_.insert(record_.end(), bits.begin() + first, bits.begin() + last);

        if (slots_.empty()) slots_.assign(1024, 0);
        const uint64_t hash = hash_of(record_.data(), record_.size());
        size_t slot = hash & (slots_.size() - 1);
        for (; slots_[slot] != 0; slot = (slot + 1) & (slots_.size() - 1)) {
            if (matches(slots_[slot] - 1)) return Outcome::kSeen;
        }
        if (count_ >= limit_) return Outcome::kFull;
        const uint64_t offset = arena_.size();
        arena_.insert(arena_.end(), record_.begin(), record_.end());
        slots_[slot] = offset + 1;
        ++count_;
        // Half full at most, so probes stay short.
        if (count_ * 2 > slots_.size()) grow();
        return Outcome::kNew;
    }

    uint64_t size() const { return count_; }

 private:
    static uint64_t hash_of(const uint64_t* words, size_t count) {
        uint64_t h = 0x9e3779b97f4a7c15ull;
        for (size_t i = 0; i < count; ++i) {
            h = (h ^ words[i]) * 0xff51afd7ed558ccdull;
            h ^= h >> 32;
        }
        h *= 0xc4ceb9fe1a85ec53ull;
        return h ^ (h >> 29);
    }
    static size_t record_size(uint64_t header) { return 2 + (header & 0xffffffffull); }

    bool matches(uint64_t offset) const {
        if (arena_[offset] != record_[0] || arena_[offset + 1] != record_[1]) return false;
        return std::equal(record_.begin() + 2, record_.end(), arena_.begin() + offset + 2);
    }

    void grow() {
        std::vector<uint64_t> slots(slots_.size() * 2, 0);
        for (uint64_t offset = 0; offset < arena_.size(); offset += record_size(arena_[offset])) {
            const uint64_t hash = hash_of(&arena_[offset], record_size(arena_[offset]));
            size_t slot = hash & (slots.size() - 1);
            while (slots[slot] != 0) slot = (slot + 1) & (slots.size() - 1);
            slots[slot] = offset + 1;
        }
        slots_ = std::move(slots);
    }

    uint64_t limit_;
    uint64_t count_ = 0;
    std::vector<uint64_t> arena_;   // records: [value << 32 | word count, first word, words...]
    std::vector<uint64_t> slots_;   // arena offset + 1; 0 = empty
    std::vector<uint64_t> record_;  // the record being looked up
};

// Wing & Gong's search with Lowe's memo over one register's ops, sorted by invocation.
class Search {
 public:
    // `value_ids[i]`: op i's value interned, 0 being "" (the initial value).
    Search(const std::vector<RegisterOp>& ops, const std::vector<uint32_t>& value_ids,
           uint32_t value_count, uint64_t max_states)
        : visited_(max_states) {
        ops_.resize(ops.size());
        pending_reads_.assign(value_count, 0);
        writers_.assign(value_count, 0);
        reads_of_.resize(value_count);
        first_read_invoked_.assign(value_count, kNever);
        std::vector<Entry> entries;
        for (uint32_t i = 0; i < ops.size(); ++i) {
            SearchOp& op = ops_[i];
            op.read = ops[i].kind == Kind::kRead;
            op.complete = ops[i].completed.has_value();
            op.value = value_ids[i];
            if (op.read) {
                ++pending_reads_[op.value];
                reads_of_[op.value].push_back(i);
                first_read_invoked_[op.value] =
                    std::min(first_read_invoked_[op.value], ops[i].invoked);
            } else {
                ++writers_[op.value];
            }
            if (op.complete) ++complete_left_;
            entries.push_back(Entry{ops[i].invoked, i, true});
            if (op.complete) entries.push_back(Entry{*ops[i].completed, i, false});
        }
        complete_total_ = complete_left_;
        // Calls before returns at equal times: an op completing at t and one invoked at t
        // overlap, so the second may be linearized before the first.
        std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
            if (a.time != b.time) return a.time < b.time;
            if (a.call != b.call) return a.call;
            return a.op < b.op;
        });
        entries_ = std::move(entries);
        const auto count = static_cast<uint32_t>(entries_.size());
        head_ = count;
        tail_ = count + 1;
        next_.resize(count + 2);
        prev_.resize(count + 2);
        for (uint32_t e = 0; e < count; ++e) {
            next_[e] = e + 1 == count ? tail_ : e + 1;
            prev_[e] = e == 0 ? head_ : e - 1;
            (entries_[e].call ? ops_[entries_[e].op].call : ops_[entries_[e].op].ret) = e;
        }
        next_[head_] = count == 0 ? tail_ : 0;
        prev_[tail_] = count == 0 ? head_ : count - 1;
        bits_.assign((ops_.size() + 63) / 64, 0);
        unplaced_writers_ = writers_;
    }

    Verdict run() {
        uint32_t cursor = next_[head_];
        bool fresh = true;  // the cursor is at the start of a configuration just entered
        for (;;) {
            if (complete_left_ == 0) return Verdict::kLinearizable;
            if (fresh) {
                fresh = false;
                // Reduction (1): a read of the current value goes first, with no choice point.
                // Once a configuration has none, the scan below can skip reads.
                if (const uint32_t read = forced_read(); read != kNoEntry) {
                    switch (enter(entries_[read].op, /*forced=*/true)) {
                        case VisitedSet::Outcome::kNew:
                            cursor = next_[head_];
                            fresh = true;
                            continue;
                        case VisitedSet::Outcome::kFull:
                            return Verdict::kTooBig;
                        case VisitedSet::Outcome::kSeen:
                            if (!backtrack(cursor)) return Verdict::kNotLinearizable;
                            continue;
                    }
                }
                // Reduction (6): the value is owed to a read that cannot come yet, and no write
                // left can bring it back once it is overwritten.
                if (pending_reads_[state_] > 0 && unplaced_writers_[state_] == 0) {
                    note_doomed_read();
                    if (!backtrack(cursor)) return Verdict::kNotLinearizable;
                    continue;
                }
            }
            // Some complete op is left, so its return is ahead of the cursor.
            if (cursor == tail_) contract_violated("internal: search ran past the last return");
            const Entry& entry = entries_[cursor];
            if (entry.call) {
                if (!ops_[entry.op].read && worth_trying(entry.op)) {
                    const VisitedSet::Outcome outcome = enter(entry.op, /*forced=*/false);
                    if (outcome == VisitedSet::Outcome::kFull) return Verdict::kTooBig;
                    if (outcome == VisitedSet::Outcome::kNew) {
                        cursor = next_[head_];
                        fresh = true;
                        continue;
                    }
                }
                cursor = next_[cursor];
                continue;
            }
            // The return of an op not linearized: this branch is dead.
            note_blocked(cursor);
            if (!backtrack(cursor)) return Verdict::kNotLinearizable;
        }
    }

    uint64_t states_explored() const { return visited_.size(); }
    // The op whose return stopped the search furthest along the history, if any did.
    std::optional<uint32_t> culprit() const { return culprit_; }
    uint64_t most_complete_linearized() const { return most_complete_linearized_; }
    uint64_t complete_total() const { return complete_total_; }

 private:
    struct SearchOp {
        bool read = false;
        bool complete = false;
        uint32_t value = 0;
        uint32_t call = kNoEntry;
        uint32_t ret = kNoEntry;  // kNoEntry while indeterminate: a return at +infinity
    };
    struct Entry {
        int64_t time;
        uint32_t op;
        bool call;
    };
    struct Frame {
        uint32_t op;
        uint32_t prior_state;
        bool forced;
    };

    // The call entry of a pending read of the current value, or kNoEntry.
    uint32_t forced_read() const {
        for (uint32_t e = next_[head_]; e != tail_ && entries_[e].call; e = next_[e]) {
            const SearchOp& op = ops_[entries_[e].op];
            if (op.read && op.value == state_) return e;
        }
        return kNoEntry;
    }

    // Whether linearizing the pending write `o` now can lead anywhere: reductions (3), (4).
    bool worth_trying(uint32_t o) {
        const SearchOp& op = ops_[o];
        if (op.complete) return true;
        if (pending_reads_[op.value] == 0) return false;
        const bool sole_writer = op.value != 0 && writers_[op.value] == 1;
        return !(sole_writer && first_write_return() < first_read_invoked_[op.value]);
    }

    // The earliest return among complete writes not yet linearized (kNever if none).
    int64_t first_write_return() {
        if (cached_version_ != version_) {
            cached_write_return_ = kNever;
            for (uint32_t e = next_[head_]; e != tail_; e = next_[e]) {
                if (!entries_[e].call && !ops_[entries_[e].op].read) {
                    cached_write_return_ = entries_[e].time;
                    break;
                }
            }
            cached_version_ = version_;
        }
        return cached_write_return_;
    }

    VisitedSet::Outcome enter(uint32_t o, bool forced) {
        const uint32_t prior_state = state_;
        apply(o);
        const uint32_t memo_value = pending_reads_[state_] > 0 ? state_ : kDeadValue;
        const VisitedSet::Outcome outcome = visited_.insert(memo_value, bits_);
        if (outcome == VisitedSet::Outcome::kNew) {
            stack_.push_back(Frame{o, prior_state, forced});
            most_complete_linearized_ =
                std::max(most_complete_linearized_, complete_total_ - complete_left_);
        } else {
            undo(o, prior_state);
        }
        return outcome;
    }

    // Pops to the last choice point and moves the cursor past the choice made there; false
    // when there is none left.
    bool backtrack(uint32_t& cursor) {
        while (!stack_.empty()) {
            const Frame frame = stack_.back();
            stack_.pop_back();
            undo(frame.op, frame.prior_state);
            // Reduction (1): a forced read's failure is its configuration's.
            if (!frame.forced) {
                cursor = next_[ops_[frame.op].call];
                return true;
            }
        }
        return false;
    }

    void apply(uint32_t o) {
        const SearchOp& op = ops_[o];
        bits_[o / 64] |= uint64_t{1} << (o % 64);
        if (op.read) {
            --pending_reads_[op.value];
        } else {
            --unplaced_writers_[op.value];
            state_ = op.value;
        }
        if (op.complete) --complete_left_;
        unlink(op.call);
        if (op.ret != kNoEntry) unlink(op.ret);
        ++version_;
    }

    // Exactly reverses apply(o); entries are relinked in the reverse order of their unlinking.
    void undo(uint32_t o, uint32_t prior_state) {
        const SearchOp& op = ops_[o];
        if (op.ret != kNoEntry) relink(op.ret);
        relink(op.call);
        if (op.complete) ++complete_left_;
        if (op.read) {
            ++pending_reads_[op.value];
        } else {
            ++unplaced_writers_[op.value];
        }
        state_ = prior_state;
        bits_[o / 64] &= ~(uint64_t{1} << (o % 64));
        ++version_;
    }

    void unlink(uint32_t e) {
        next_[prev_[e]] = next_[e];
        prev_[next_[e]] = prev_[e];
    }
    void relink(uint32_t e) {
        next_[prev_[e]] = e;
        prev_[next_[e]] = e;
    }

    // For the explanation: reduction (6) cut this branch on behalf of the first read of the
    // current value still open, which would have blocked the search at its return.
    void note_doomed_read() {
        for (uint32_t r : reads_of_[state_]) {
            if (!(bits_[r / 64] & (uint64_t{1} << (r % 64)))) {
                note_blocked(ops_[r].ret);
                return;
            }
        }
    }

    void note_blocked(uint32_t entry) {
        if (!culprit_ || entry > blocked_entry_) {
            blocked_entry_ = entry;
            culprit_ = entries_[entry].op;
        }
    }

    std::vector<SearchOp> ops_;
    std::vector<Entry> entries_;  // by time
    std::vector<uint32_t> next_;  // the entries left, as a list from head_ to tail_
    std::vector<uint32_t> prev_;
    uint32_t head_ = 0;
    uint32_t tail_ = 0;
    std::vector<uint64_t> bits_;                   // linearized ops
    uint32_t state_ = 0;                           // the register's value after them
    std::vector<uint32_t> pending_reads_;          // per value: reads of it not yet linearized
    std::vector<uint32_t> writers_;                // per value: writes of it in the history
    std::vector<uint32_t> unplaced_writers_;       // per value: writes of it not yet linearized
    std::vector<std::vector<uint32_t>> reads_of_;  // per value: its reads, by invocation
    std::vector<int64_t> first_read_invoked_;      // per value: when its first read was invoked
    uint64_t complete_left_ = 0;
    uint64_t complete_total_ = 0;
    std::vector<Frame> stack_;
    VisitedSet visited_;
    uint64_t version_ = 0;  // changes whenever the list does
    uint64_t cached_version_ = ~uint64_t{0};
    int64_t cached_write_return_ = kNever;
    std::optional<uint32_t> culprit_;
    uint32_t blocked_entry_ = 0;
    uint64_t most_complete_linearized_ = 0;
};

// One register's ops sorted by time, indexed for the simple refutations and explanations.
struct History {
    struct ValueInfo {
        std::vector<size_t> writes;
        // A time by which every write of the value is placed: each comes, in any
        // linearization, before every op invoked later. The last completion of a write
        // (kBeforeAll if no op wrote it, only the initial value did); or, for a value written
        // once, the first completion of a read of it, if earlier (the write comes before its
        // reads), which also covers a write of unknown outcome; else nullopt: an indeterminate
        // write may take effect at any time.
        std::optional<int64_t> placed_by = kBeforeAll;
        std::optional<size_t> placed_by_read;  // the read that gave placed_by, if one did
        int64_t first_invoked = kNever;        // of its writes
    };
    struct Span {
        int64_t key;    // what the op is looked up by
        int64_t value;  // what it contributes
    };

    std::vector<RegisterOp> ops;
    std::unordered_map<std::string, ValueInfo> values;
    // Complete writes by invocation, with the earliest completion among them and all later.
    std::vector<Span> writes_by_invoked;  // (invoked, min completed over this and later)
    // Reads by completion, with how late the first write was invoked, of the values they and
    // the reads completed before them saw.
    std::vector<Span> reads_by_completed;  // (completed, max first_invoked of values seen)
    // Reads by invocation, with the two earliest completions of distinct values among them
    // and all later ones (so one is left when the caller excludes a value).
    struct Earliest {
        int64_t invoked;
        int64_t completed[2] = {kNever, kNever};
        const std::string* value[2] = {nullptr, nullptr};
    };
    std::vector<Earliest> reads_by_invoked;

    // Not copyable: reads_by_invoked points into ops.
    History(const History&) = delete;
    History& operator=(const History&) = delete;

    explicit History(std::vector<RegisterOp> sorted) : ops(std::move(sorted)) {
        for (size_t i = 0; i < ops.size(); ++i) {
            const RegisterOp& op = ops[i];
            ValueInfo& info = values[op.value];
            if (op.kind != Kind::kWrite) continue;
            info.writes.push_back(i);
            info.first_invoked = std::min(info.first_invoked, op.invoked);
            if (!op.completed) {
                info.placed_by = std::nullopt;
            } else if (info.placed_by) {
                info.placed_by = std::max(*info.placed_by, *op.completed);
            }
            if (op.completed) writes_by_invoked.push_back(Span{op.invoked, *op.completed});
        }
        for (size_t i = 0; i < ops.size(); ++i) {
            const RegisterOp& op = ops[i];
            ValueInfo& info = values[op.value];
            if (op.kind != Kind::kRead || op.value.empty() || info.writes.size() != 1) continue;
            if (*op.completed < info.placed_by.value_or(kNever)) {
                info.placed_by = *op.completed;
                info.placed_by_read = i;
            }
        }
        // Sorted by invocation already (ops are); fold the minimum from the end.
        for (size_t i = writes_by_invoked.size(); i-- > 1;)
            writes_by_invoked[i - 1].value =
                std::min(writes_by_invoked[i - 1].value, writes_by_invoked[i].value);
        for (const RegisterOp& op : ops) {
            if (op.kind != Kind::kRead) continue;
            const ValueInfo& seen = values.at(op.value);
            // The initial value, or one nobody wrote, proves nothing about later reads here.
            const bool written = !op.value.empty() && !seen.writes.empty();
            reads_by_completed.push_back(
                Span{*op.completed, written ? seen.first_invoked : kBeforeAll});
        }
        std::sort(reads_by_completed.begin(), reads_by_completed.end(),
                  [](const Span& x, const Span& y) { return x.key < y.key; });
        for (size_t i = 1; i < reads_by_completed.size(); ++i)
            reads_by_completed[i].value =
                std::max(reads_by_completed[i].value, reads_by_completed[i - 1].value);
        // Sorted by invocation already; fold the two earliest from the end.
        for (const RegisterOp& op : ops) {
            if (op.kind != Kind::kRead) continue;
            Earliest e{op.invoked};
            e.completed[0] = *op.completed;
            e.value[0] = &op.value;
            reads_by_invoked.push_back(e);
        }
        for (size_t i = reads_by_invoked.size(); i-- > 1;) {
            for (int k = 0; k < 2; ++k) {
                const Earliest& later = reads_by_invoked[i];
                if (later.value[k] != nullptr)
                    keep_earliest(reads_by_invoked[i - 1], later.completed[k], later.value[k]);
            }
        }
    }

    // Adds a completion of a read of `value` to `e`. The two earliest of distinct values over
    // a union are among the two earliest of each part, so folding pairs is enough.
    static void keep_earliest(Earliest& e, int64_t completed, const std::string* value) {
        if (e.value[0] != nullptr && *e.value[0] == *value) {
            e.completed[0] = std::min(e.completed[0], completed);
        } else if (e.value[1] != nullptr && *e.value[1] == *value) {
            e.completed[1] = std::min(e.completed[1], completed);
        } else if (completed < e.completed[0]) {
            e.completed[1] = e.completed[0];
            e.value[1] = e.value[0];
            e.completed[0] = completed;
            e.value[0] = value;
        } else if (completed < e.completed[1]) {
            e.completed[1] = completed;
            e.value[1] = value;
        }
        if (e.completed[1] < e.completed[0]) {
            std::swap(e.completed[0], e.completed[1]);
            std::swap(e.value[0], e.value[1]);
        }
    }

    const ValueInfo& info(const std::string& value) const {
        static const ValueInfo kUnwritten;
        auto it = values.find(value);
        return it == values.end() ? kUnwritten : it->second;
    }
    const std::vector<size_t>& writes(const std::string& value) const { return info(value).writes; }

    // Whether a complete write was invoked after `after` and completed before `before`.
    bool write_inside(int64_t after, int64_t before) const {
        auto it = std::upper_bound(writes_by_invoked.begin(), writes_by_invoked.end(), after,
                                   [](int64_t t, const Span& w) { return t < w.key; });
        return it != writes_by_invoked.end() && it->value < before;
    }
    // Whether a read that completed before `before` saw a value first written after `after`.
    bool read_of_later_value(int64_t after, int64_t before) const {
        auto it = std::lower_bound(reads_by_completed.begin(), reads_by_completed.end(), before,
                                   [](const Span& r, int64_t t) { return r.key < t; });
        return it != reads_by_completed.begin() && std::prev(it)->value > after;
    }

    // Whether a read of a value other than `value` was invoked after `after` and completed
    // before `before`.
    bool other_read_inside(const std::string& value, int64_t after, int64_t before) const {
        auto it = std::upper_bound(reads_by_invoked.begin(), reads_by_invoked.end(), after,
                                   [](int64_t t, const Earliest& r) { return t < r.invoked; });
        if (it == reads_by_invoked.end()) return false;
        for (int k = 0; k < 2; ++k) {
            if (it->value[k] != nullptr && *it->value[k] != value) return it->completed[k] < before;
        }
        return false;
    }

    // `claim`, then the ops `involved` (a few) in time order, one per line.
    std::string account(const std::string& claim, std::vector<size_t> involved) const {
        std::sort(involved.begin(), involved.end());
        involved.erase(std::unique(involved.begin(), involved.end()), involved.end());
        std::string out = claim + "\nops involved, by time:";
        for (size_t i : involved) out += "\n  " + describe(ops[i]);
        return out;
    }
};

// The complete write that completed last before `time`, if any.
std::optional<size_t> last_write_completed_before(const History& h, int64_t time) {
    std::optional<size_t> last;
    for (size_t w = 0; w < h.ops.size(); ++w) {
        const RegisterOp& op = h.ops[w];
        if (op.kind != Kind::kWrite || !op.completed || *op.completed >= time) continue;
        if (!last || *op.completed > *h.ops[*last].completed) last = w;
    }
    return last;
}

// Why every write of `value` comes before `what` (which was invoked after placed_by).
std::string placed_before(const History& h, const std::string& value, const std::string& what) {
    const History::ValueInfo& info = h.info(value);
    if (!info.placed_by_read) {
        return "every write of " + quote(value) + " had completed before " + what;
    }
    const RegisterOp& read = h.ops[*info.placed_by_read];
    return quote(value) + ", written only " + reference(h.ops[info.writes.front()]) +
           ", had been read " + reference(read) + " before " + what;
}

// The ops that fix placed_by for `value`: its last write to complete, or its only write and
// the read that saw it.
std::vector<size_t> placing_ops(const History& h, const std::string& value) {
    const History::ValueInfo& info = h.info(value);
    if (info.placed_by_read) return {info.writes.front(), *info.placed_by_read};
    std::vector<size_t> out;
    for (size_t w : info.writes) {
        if (out.empty() || completed_or_never(h.ops[w]) > completed_or_never(h.ops[out[0]]))
            out = {w};
    }
    return out;
}

// A read r of v is stale if a write x of another value completed before r began and was
// invoked after every write of v was placed: x comes after all of them and before r.
std::optional<std::string> stale_read(const History& h, size_t r) {
    const RegisterOp& read = h.ops[r];
    const std::optional<int64_t> placed_by = h.info(read.value).placed_by;
    if (!placed_by || !h.write_inside(*placed_by, read.invoked)) return std::nullopt;
    std::optional<size_t> overwrite;
    for (size_t x = 0; x < h.ops.size(); ++x) {
        const RegisterOp& op = h.ops[x];
        if (op.kind != Kind::kWrite || !op.completed || op.value == read.value) continue;
        if (*op.completed >= read.invoked || op.invoked <= *placed_by) continue;
        if (!overwrite || *op.completed > *h.ops[*overwrite].completed) overwrite = x;
    }
    if (!overwrite) return std::nullopt;
    const RegisterOp& x = h.ops[*overwrite];
    const std::optional<size_t> last = last_write_completed_before(h, read.invoked);
    const bool is_last = last && *h.ops[*last].completed == *x.completed;
    const std::vector<size_t>& writes = h.writes(read.value);
    std::string claim = describe(read) + " cannot be linearized: " +
                        (is_last ? "the last write that completed before it began"
                                 : "a write that completed before it began") +
                        " wrote " + quote(x.value) + " " + reference(x) + ", ";
    claim += writes.empty() ? std::string("overwriting the initial value")
                            : "and " + placed_before(h, read.value, "that write was invoked");
    std::vector<size_t> involved = placing_ops(h, read.value);
    involved.push_back(*overwrite);
    involved.push_back(r);
    return h.account(claim, involved);
}

// A read r of v goes back in time if an earlier read (completed before r began) saw u, and
// every write of v was placed before any write of u was invoked: the write of u that the
// earlier read saw comes after all writes of v and before r.
std::optional<std::string> read_back_in_time(const History& h, size_t r) {
    const RegisterOp& read = h.ops[r];
    const std::optional<int64_t> placed_by = h.info(read.value).placed_by;
    if (!placed_by || !h.read_of_later_value(*placed_by, read.invoked)) return std::nullopt;
    std::optional<size_t> earlier;
    for (size_t e = 0; e < h.ops.size(); ++e) {
        const RegisterOp& op = h.ops[e];
        if (op.kind != Kind::kRead || op.value == read.value || op.value.empty()) continue;
        if (*op.completed >= read.invoked) continue;
        if (h.writes(op.value).empty() || h.info(op.value).first_invoked <= *placed_by) continue;
        if (!earlier || *op.completed > *h.ops[*earlier].completed) earlier = e;
    }
    if (!earlier) return std::nullopt;
    const RegisterOp& seen = h.ops[*earlier];
    const std::vector<size_t>& newer = h.writes(seen.value);
    const size_t first_newer = *std::min_element(newer.begin(), newer.end());
    const std::vector<size_t>& writes = h.writes(read.value);
    std::string claim = describe(read) + " cannot be linearized: the " + describe(seen) +
                        " completed before it began, and ";
    claim += writes.empty() ? "the initial value cannot return once " + quote(seen.value) +
                                  " was written " + reference(h.ops[first_newer])
                            : placed_before(h, read.value,
                                            quote(seen.value) + " was first written " +
                                                reference(h.ops[first_newer]));
    std::vector<size_t> involved = placing_ops(h, read.value);
    involved.push_back(first_newer);
    involved.push_back(*earlier);
    involved.push_back(r);
    return h.account(claim, involved);
}

// A read r of v is overtaken if a read of another value began after every write of v was
// placed and ended before r began: the write that read saw comes after all writes of v, and
// before r.
std::optional<std::string> read_overtaken(const History& h, size_t r) {
    const RegisterOp& read = h.ops[r];
    const std::optional<int64_t> placed_by = h.info(read.value).placed_by;
    if (!placed_by || !h.other_read_inside(read.value, *placed_by, read.invoked))
        return std::nullopt;
    std::optional<size_t> other;
    for (size_t o = 0; o < h.ops.size(); ++o) {
        const RegisterOp& op = h.ops[o];
        if (op.kind != Kind::kRead || op.value == read.value) continue;
        if (op.invoked <= *placed_by || *op.completed >= read.invoked) continue;
        if (!other || *op.completed > *h.ops[*other].completed) other = o;
    }
    if (!other) return std::nullopt;
    std::string claim = describe(read) + " cannot be linearized: " +
                        placed_before(h, read.value, "the " + describe(h.ops[*other]) + " began") +
                        ", and that read completed before this one began";
    std::vector<size_t> involved = placing_ops(h, read.value);
    involved.push_back(*other);
    involved.push_back(r);
    return h.account(claim, involved);
}

// The op the search could not get past, with no simple reason (those were looked for
// first): the ops around it, from the first complete one overlapping it on, and what it
// depends on.
std::string no_order_fits(const History& h, size_t culprit) {
    const RegisterOp& op = h.ops[culprit];
    const int64_t until = completed_or_never(op);
    // Always listed: the op, the last write before it, the latest writes of a read's value.
    std::vector<size_t> key = {culprit};
    if (auto last = last_write_completed_before(h, op.invoked)) key.push_back(*last);
    if (op.kind == Kind::kRead) {
        const std::vector<size_t>& writes = h.writes(op.value);
        const size_t latest = writes.size() > 2 ? writes.size() - 2 : 0;
        key.insert(key.end(), writes.begin() + static_cast<std::ptrdiff_t>(latest), writes.end());
    }
    // An indeterminate op overlaps everything after it, so only complete ones set the window.
    int64_t from = op.invoked;
    for (const RegisterOp& other : h.ops) {
        if (other.completed && other.invoked <= until && *other.completed >= op.invoked)
            from = std::min(from, other.invoked);
    }
    std::vector<size_t> window;
    for (size_t i = 0; i < h.ops.size(); ++i) {
        const RegisterOp& other = h.ops[i];
        const bool inside = other.completed ? other.invoked <= until && *other.completed >= from
                                            : other.invoked >= from && other.invoked <= until;
        if (inside && std::find(key.begin(), key.end(), i) == key.end()) window.push_back(i);
    }
    // The nearest are kept.
    const size_t room = kMaxOpsListed > key.size() ? kMaxOpsListed - key.size() : 0;
    const size_t left_out = window.size() > room ? window.size() - room : 0;
    std::vector<size_t> involved = key;
    involved.insert(involved.end(), window.begin() + static_cast<std::ptrdiff_t>(left_out),
                    window.end());
    std::string claim = describe(op) +
                        " cannot be linearized: no order of it and the operations around it" +
                        " agrees with what the reads returned";
    if (left_out > 0)
        claim += " (" + std::to_string(left_out) + " more ops in that time are not listed)";
    return h.account(claim, involved);
}

// Reads that no order can satisfy, each for a reason that takes a line to state and a scan
// to check: a value nobody wrote, or nobody wrote before the read completed; a stale read; a
// read going back in time. The earliest such read (by invocation), explained. Cheap: the two
// last reasons are found by a binary search each, so it runs before the search does.
std::optional<std::string> simple_refutation(const History& h) {
    for (size_t r = 0; r < h.ops.size(); ++r) {
        const RegisterOp& read = h.ops[r];
        if (read.kind != Kind::kRead) continue;
        if (!read.value.empty()) {
            const History::ValueInfo& info = h.info(read.value);
            if (info.writes.empty())
                return h.account(describe(read) + " returned a value that no write wrote", {r});
            if (info.first_invoked > *read.completed) {
                std::vector<size_t> involved = {r};
                // The first write, by invocation, shows it: ops are sorted so.
                involved.push_back(info.writes.front());
                return h.account(describe(read) +
                                     " returned a value before anyone wrote it: every write of " +
                                     quote(read.value) + " was invoked after the read completed",
                                 involved);
            }
        }
        if (auto why = stale_read(h, r)) return why;
        if (auto why = read_back_in_time(h, r)) return why;
        if (auto why = read_overtaken(h, r)) return why;
    }
    return std::nullopt;
}

}  // namespace

LinearizabilityResult check_register(std::vector<RegisterOp> ops, uint64_t max_states) {
    for (const RegisterOp& op : ops) {
        if (op.completed && *op.completed < op.invoked)
            contract_violated("an op completed before it was invoked");
    }
    // A read without an answer returned nothing to check.
    std::erase_if(ops,
                  [](const RegisterOp& op) { return op.kind == Kind::kRead && !op.completed; });
    std::stable_sort(ops.begin(), ops.end(), [](const RegisterOp& a, const RegisterOp& b) {
        if (a.invoked != b.invoked) return a.invoked < b.invoked;
        return completed_or_never(a) < completed_or_never(b);
    });

    LinearizabilityResult result;
    if (auto why = simple_refutation(History(ops))) {
        result.verdict = Verdict::kNotLinearizable;
        result.explanation = std::move(*why);
        return result;
    }

    // Reduction (5): indeterminate writes nobody read.
    {
        std::unordered_map<std::string, bool> read_values;
        for (const RegisterOp& op : ops)
            if (op.kind == Kind::kRead) read_values[op.value] = true;
        std::erase_if(ops, [&](const RegisterOp& op) {
            return op.kind == Kind::kWrite && !op.completed && !read_values.contains(op.value);
        });
    }

    std::unordered_map<std::string, uint32_t> ids{{"", 0}};
    std::vector<uint32_t> value_ids;
    value_ids.reserve(ops.size());
    for (const RegisterOp& op : ops) {
        const auto next_id = static_cast<uint32_t>(ids.size());
        value_ids.push_back(ids.try_emplace(op.value, next_id).first->second);
    }

    Search search(ops, value_ids, static_cast<uint32_t>(ids.size()), max_states);
    result.verdict = search.run();
    result.states_explored = search.states_explored();
    const History history(std::move(ops));
    if (result.verdict == Verdict::kNotLinearizable) {
        result.explanation = search.culprit()
                                 ? no_order_fits(history, *search.culprit())
                                 : "no order of the operations agrees with what the reads returned";
    } else if (result.verdict == Verdict::kTooBig) {
        result.explanation = "gave up after entering " + std::to_string(max_states) +
                             " configurations (max_states); its longest partial order placed " +
                             std::to_string(search.most_complete_linearized()) + " of the " +
                             std::to_string(search.complete_total()) + " complete ops";
        if (auto culprit = search.culprit())
            result.explanation += ", and the furthest the search got was the answer to the " +
                                  describe(history.ops[*culprit]);
    }
    return result;
}

size_t RegisterHistory::invoke(const std::string& key, uint64_t client, RegisterOp::Kind kind,
                               std::string value, int64_t now) {
    RegisterOp op;
    op.client = client;
    op.kind = kind;
    if (kind == Kind::kWrite) op.value = std::move(value);
    op.invoked = now;
    ops_.push_back(Recorded{key, std::move(op), Status::kPending});
    ++live_;
    return ops_.size() - 1;
}

RegisterHistory::Recorded& RegisterHistory::pending(size_t handle, const char* caller) {
    if (handle >= ops_.size()) contract_violated(caller);
    Recorded& recorded = ops_[handle];
    if (recorded.status != Status::kPending) contract_violated(caller);
    return recorded;
}

void RegisterHistory::complete(size_t handle, int64_t now, std::string value) {
    Recorded& recorded = pending(handle, "complete() of a handle not pending");
    if (now < recorded.op.invoked) contract_violated("complete() before the op was invoked");
    recorded.op.completed = now;
    if (recorded.op.kind == Kind::kRead) recorded.op.value = std::move(value);
    recorded.status = Status::kComplete;
}

void RegisterHistory::forget(size_t handle) {
    pending(handle, "forget() of a handle not pending").status = Status::kForgotten;
    --live_;
}

LinearizabilityResult RegisterHistory::check(uint64_t max_states_per_key) const {
    // An ordered map: the keys are checked, and the first bad one named, in a fixed order.
    std::map<std::string, std::vector<RegisterOp>> by_key;
    for (const Recorded& recorded : ops_) {
        if (recorded.status == Status::kForgotten) continue;
        by_key[recorded.key].push_back(recorded.op);
    }
    LinearizabilityResult result;
    std::optional<std::string> too_big;
    for (auto& [key, ops] : by_key) {
        LinearizabilityResult one = check_register(std::move(ops), max_states_per_key);
        result.states_explored += one.states_explored;
        if (one.verdict == Verdict::kNotLinearizable) {
            result.verdict = Verdict::kNotLinearizable;
            result.explanation = "key " + quote(key) + ": " + one.explanation;
            return result;
        }
        if (one.verdict == Verdict::kTooBig && !too_big)
            too_big = "key " + quote(key) + ": " + one.explanation;
    }
    if (too_big) {
        result.verdict = Verdict::kTooBig;
        result.explanation = std::move(*too_big);
    }
    return result;
}

}  // namespace chorus::sim
