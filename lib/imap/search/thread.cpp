// THREAD ORDEREDSUBJECT and REFERENCES (RFC 5256 §3) and the thread-list syntax (RFC 5256 §4).
#include "tern/imap/thread.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <numeric>
#include <unordered_map>

#include "tern/imap/collation.hpp"
#include "tern/imap/sort.hpp"

namespace tern::imap {
namespace {

std::string header_value(MessageView& v, std::string_view name) {
  const mime::Message* m = v.parsed_header();
  if (!m || m->parts.empty()) return {};
  const mime::Header* h = m->root().header(name);
  return h ? h->unfolded() : std::string();
}

struct MsgData {
  std::uint32_t number = 0;
  std::size_t order = 0;        // position in the input (sequence order)
  std::int64_t date = 0;        // sent date
  std::string raw_subject;
  std::string base;             // folded base subject
  bool reply = false;
};

std::vector<MsgData> collect(std::span<MessageView* const> messages, bool uid) {
  std::vector<MsgData> out(messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    MessageView& v = *messages[i];
    MsgData& d = out[i];
    d.number = uid ? v.info->uid : v.seq;
    d.order = i;
    d.date = sent_date(v);
    d.raw_subject = header_value(v, "Subject");
    d.base = casemap_fold(base_subject(d.raw_subject));
    d.reply = subject_is_reply_or_forward(d.raw_subject);
  }
  return out;
}

// ----- REFERENCES (RFC 5256 §3, JWZ) -----

struct Container {
  int message = -1;  // index into MsgData; -1 for a dummy
  int parent = -1;
  std::vector<int> children;
};

struct Threader {
  std::vector<Container> c;
  std::unordered_map<std::string, int> by_id;

  int get(const std::string& id) {
    auto it = by_id.find(id);
    if (it != by_id.end()) return it->second;
    c.emplace_back();
    int idx = static_cast<int>(c.size() - 1);
    by_id.emplace(id, idx);
    return idx;
  }
  // Is maybe_ancestor == node or above it? Chains longer than kMaxWalk count as "yes" (the link is
  // not made), which bounds the work of step 1 for hostile mailboxes with one endless thread.
  static constexpr int kMaxWalk = 1000;
  bool is_ancestor(int maybe_ancestor, int node) const {
    int steps = 0;
    for (int n = node; n >= 0; n = c[n].parent)
      if (n == maybe_ancestor || ++steps > kMaxWalk) return true;
    return false;
  }
  void unlink(int child) {
    int p = c[child].parent;
    if (p < 0) return;
    auto& ch = c[p].children;
    ch.erase(std::remove(ch.begin(), ch.end(), child), ch.end());
    c[child].parent = -1;
  }
  void link(int parent, int child) {
    c[child].parent = parent;
    c[parent].children.push_back(child);
  }
};

std::vector<ThreadNode> references(const std::vector<MsgData>& data, std::span<MessageView* const> messages) {
  Threader t;
  t.c.reserve(data.size() * 2);
  for (std::size_t i = 0; i < data.size(); ++i) {
    MessageView& v = *messages[i];
    auto ids = parse_message_ids(header_value(v, "Message-ID"));
    std::string id = ids.empty() ? std::string() : ids.front();
    int self;
    auto it = id.empty() ? t.by_id.end() : t.by_id.find(id);
    if (id.empty() || (it != t.by_id.end() && t.c[it->second].message >= 0)) {
      // Missing or duplicate Message-ID: a unique container (RFC 5256 §3 step 1; Dovecot for duplicates)
      t.c.emplace_back();
      self = static_cast<int>(t.c.size() - 1);
    } else {
      self = t.get(id);
    }
    t.c[self].message = static_cast<int>(i);
    // Step 1A: References (or the first id of In-Reply-To when there are no valid References)
    auto refs = parse_message_ids(header_value(v, "References"));
    if (refs.empty()) {
      auto irt = parse_message_ids(header_value(v, "In-Reply-To"));
      if (!irt.empty()) refs.push_back(irt.front());
    }
    int prev = -1;
    for (const auto& r : refs) {
      int cur = t.get(r);
      if (prev >= 0 && cur != prev && t.c[cur].parent < 0 && !t.is_ancestor(cur, prev)) t.link(prev, cur);
      prev = cur;
    }
    // Step 1B: the last reference (or NIL) becomes the parent of this message. Any older parent link is
    // removed first, and "no link should be added if it would introduce a loop": then the message stays
    // a root (RFC 5256 §3 step 1B; Dovecot answers imaptest's "thread" script so).
    t.unlink(self);
    if (prev >= 0 && prev != self && !t.is_ancestor(self, prev)) t.link(prev, self);
  }
  // Step 2: roots
  std::vector<int> roots;
  for (int i = 0; i < static_cast<int>(t.c.size()); ++i)
    if (t.c[i].parent < 0) roots.push_back(i);

  // The later steps recurse along the tree: nodes deeper than kMaxDepth become children of their
  // ancestor at depth kMaxDepth - 1 (only absurdly deep threads change; the stack stays bounded).
  constexpr int kMaxDepth = 300;
  {
    std::vector<std::pair<int, int>> todo;  // (node, depth)
    std::vector<int> anchor(t.c.size(), -1), deep;
    for (int r : roots) todo.emplace_back(r, 0);
    while (!todo.empty()) {
      auto [n, d] = todo.back();
      todo.pop_back();
      if (d == kMaxDepth - 1) anchor[n] = n;
      else if (d >= kMaxDepth) { anchor[n] = anchor[t.c[n].parent]; deep.push_back(n); }
      for (int ch : t.c[n].children) todo.emplace_back(ch, d + 1);
    }
    for (int n : deep) {
      t.unlink(n);
      t.link(anchor[n], n);
    }
  }

  // Step 3: prune dummies
  std::function<std::vector<int>(int, bool)> prune = [&](int n, bool is_root) -> std::vector<int> {
    std::vector<int> kids;
    for (int ch : t.c[n].children)
      for (int k : prune(ch, false)) kids.push_back(k);
    t.c[n].children = kids;
    for (int k : kids) t.c[k].parent = n;
    if (t.c[n].message >= 0) return {n};
    if (kids.empty()) return {};                  // 3A: dummy without children goes
    if (is_root && kids.size() > 1) return {n};   // 3B: keep a root dummy with several children
    for (int k : kids) t.c[k].parent = -1;
    return kids;                                  // promote the children
  };
  std::vector<int> pruned;
  for (int r : roots)
    for (int k : prune(r, true)) pruned.push_back(k);
  for (int r : pruned) t.c[r].parent = -1;

  // Step 4: sort siblings (depth first) by sent date; a dummy takes its first child's date.
  std::vector<std::int64_t> date(t.c.size(), 0);
  std::vector<std::size_t> ord(t.c.size(), 0);
  std::function<void(int)> sort_tree = [&](int n) {
    for (int ch : t.c[n].children) sort_tree(ch);
    auto& kids = t.c[n].children;
    std::stable_sort(kids.begin(), kids.end(), [&](int a, int b) {
      return date[a] != date[b] ? date[a] < date[b] : ord[a] < ord[b];
    });
    if (t.c[n].message >= 0) {
      date[n] = data[t.c[n].message].date;
      ord[n] = data[t.c[n].message].order;
    } else if (!kids.empty()) {
      date[n] = date[kids.front()];
      ord[n] = ord[kids.front()];
    }
  };
  for (int r : pruned) sort_tree(r);
  auto sort_roots = [&](std::vector<int>& rs) {
    std::stable_sort(rs.begin(), rs.end(), [&](int a, int b) {
      return date[a] != date[b] ? date[a] < date[b] : ord[a] < ord[b];
    });
  };
  sort_roots(pruned);

  // Step 5: group roots by base subject.
  auto subject_of = [&](int n) -> const MsgData* {
    if (t.c[n].message >= 0) return &data[t.c[n].message];
    if (!t.c[n].children.empty() && t.c[t.c[n].children.front()].message >= 0)
      return &data[t.c[t.c[n].children.front()].message];
    return nullptr;
  };
  std::unordered_map<std::string, int> table;
  for (int r : pruned) {  // 5A
    const MsgData* d = subject_of(r);
    if (!d || d->base.empty()) continue;
    auto it = table.find(d->base);
    if (it == table.end()) {
      table.emplace(d->base, r);
      continue;
    }
    int old = it->second;
    bool r_dummy = t.c[r].message < 0, old_dummy = t.c[old].message < 0;
    if ((r_dummy && !old_dummy) ||
        (!r_dummy && !old_dummy && data[t.c[old].message].reply && !data[t.c[r].message].reply))
      it->second = r;
  }
  std::vector<int> final_roots;
  std::vector<bool> removed(t.c.size(), false);
  for (int r : pruned) {  // 5B
    const MsgData* d = subject_of(r);
    if (!d || d->base.empty()) continue;
    int old = table[d->base];
    if (old == r) continue;
    bool r_dummy = t.c[r].message < 0, old_dummy = t.c[old].message < 0;
    if (r_dummy && old_dummy) {
      for (int k : t.c[r].children) t.link(old, k);
      t.c[r].children.clear();
      removed[r] = true;
    } else if (old_dummy && !r_dummy) {
      t.link(old, r);
      removed[r] = true;
    } else if (!old_dummy && !r_dummy && !data[t.c[old].message].reply && data[t.c[r].message].reply) {
      t.link(old, r);
      removed[r] = true;
    } else {
      // A new dummy holding both; it takes the table's place among the roots.
      t.c.emplace_back();
      int dummy = static_cast<int>(t.c.size() - 1);
      date.push_back(0);
      ord.push_back(0);
      removed.push_back(false);
      t.link(dummy, old);
      t.link(dummy, r);
      removed[r] = true;
      for (int& x : pruned)
        if (x == old) x = dummy;
      table[d->base] = dummy;
    }
  }
  for (int r : pruned)
    if (!removed[r]) final_roots.push_back(r);

  // Step 6: sort again, roots included.
  for (int r : final_roots) sort_tree(r);
  sort_roots(final_roots);

  std::function<ThreadNode(int)> build = [&](int n) {
    ThreadNode node;
    if (t.c[n].message >= 0) node.number = data[t.c[n].message].number;
    for (int k : t.c[n].children) node.children.push_back(build(k));
    return node;
  };
  std::vector<ThreadNode> out;
  for (int r : final_roots) out.push_back(build(r));
  return out;
}

// ----- ORDEREDSUBJECT -----

std::vector<ThreadNode> ordered_subject(const std::vector<MsgData>& data) {
  std::vector<std::size_t> idx(data.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
    if (int r = data[a].base.compare(data[b].base); r != 0) return r < 0;
    if (data[a].date != data[b].date) return data[a].date < data[b].date;
    return data[a].order < data[b].order;
  });
  struct Thread { ThreadNode node; std::int64_t date; std::size_t order; };
  std::vector<Thread> threads;
  for (std::size_t k = 0; k < idx.size();) {
    std::size_t j = k + 1;
    while (j < idx.size() && data[idx[j]].base == data[idx[k]].base) ++j;
    Thread th{ThreadNode{data[idx[k]].number, {}}, data[idx[k]].date, data[idx[k]].order};
    for (std::size_t m = k + 1; m < j; ++m) th.node.children.push_back(ThreadNode{data[idx[m]].number, {}});
    threads.push_back(std::move(th));
    k = j;
  }
  std::stable_sort(threads.begin(), threads.end(), [](const Thread& a, const Thread& b) {
    return a.date != b.date ? a.date < b.date : a.order < b.order;
  });
  std::vector<ThreadNode> out;
  for (auto& th : threads) out.push_back(std::move(th.node));
  return out;
}

void format_node(const ThreadNode& n, std::string& out) {
  bool first = true;
  if (n.number != 0) {
    out += std::to_string(n.number);
    first = false;
  }
  if (n.children.size() == 1 && n.number != 0) {
    out += ' ';
    format_node(n.children[0], out);
    return;
  }
  if (n.children.size() == 1) {  // a dummy with one child (not produced by the algorithms)
    format_node(n.children[0], out);
    return;
  }
  if (!n.children.empty() && !first) out += ' ';
  for (const auto& c : n.children) {
    out += '(';
    format_node(c, out);
    out += ')';
  }
}

}  // namespace

std::vector<std::string> parse_message_ids(std::string_view v) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < v.size() && out.size() < 10000) {
    if (v[i] == '(') {  // comment (nesting, quoted pairs)
      int depth = 0;
      for (; i < v.size(); ++i) {
        if (v[i] == '\\') { ++i; continue; }
        if (v[i] == '(') ++depth;
        else if (v[i] == ')' && --depth == 0) { ++i; break; }
      }
      continue;
    }
    if (v[i] != '<') { ++i; continue; }
    std::size_t close = v.find('>', i + 1);
    if (close == std::string_view::npos) break;
    std::string_view inner = v.substr(i + 1, close - i - 1);
    // msg-id = "<" id-left "@" id-right ">": no white space, an "@" (RFC 5322 §3.6.4)
    std::size_t lt = inner.find('<');
    if (lt != std::string_view::npos) { i = i + 1 + lt; continue; }
    bool ok = !inner.empty() && inner.find('@') != std::string_view::npos &&
              inner.find_first_of(" \t\r\n") == std::string_view::npos;
    if (ok) out.emplace_back(v.substr(i, close - i + 1));
    i = close + 1;
  }
  return out;
}

std::vector<ThreadNode> thread_messages(std::span<MessageView* const> messages, ThreadAlgorithm algorithm, bool uid) {
  std::vector<MsgData> data = collect(messages, uid);
  if (algorithm == ThreadAlgorithm::orderedsubject) return ordered_subject(data);
  return references(data, messages);
}

std::string format_threads(const std::vector<ThreadNode>& threads) {
  std::string out;
  for (const auto& t : threads) {
    out += '(';
    format_node(t, out);
    out += ')';
  }
  return out;
}

}  // namespace tern::imap
