// Test helper for the Dovecot comparison (search_dovecot_compare.py): evaluates SEARCH / SORT / THREAD /
// FETCH section commands with lib/imap/search over a directory of messages and prints IMAP-style answers.
// It carries its own small parser for the search-key subset the comparison uses (the real command parser
// lives in lib/imap/protocol).
//
//   imap_search_tool DIR [ZONE_MINUTES] < commands
// DIR/meta: one line per message in sequence order: "UID INTERNALDATE SIZE [FLAG...]"; DIR/UID.eml: bytes.
// Commands, one per line:  SEARCH keys | ESEARCH [UID] (options) keys | SORT (criteria) keys |
//                          THREAD ALG keys | FETCH SEQ ITEM
// where ITEM is BODY[section]<o.l> | BINARY[section] | BINARY.SIZE[section].
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "tern/imap/search.hpp"
#include "tern/imap/section.hpp"
#include "tern/imap/sort.hpp"
#include "tern/imap/thread.hpp"

using namespace tern::imap;

namespace {

struct Lexer {
  std::string s;
  std::size_t i = 0;
  void ws() { while (i < s.size() && s[i] == ' ') ++i; }
  bool done() { ws(); return i >= s.size(); }
  char peek() { ws(); return i < s.size() ? s[i] : '\0'; }
  std::string token() {  // atom or quoted string; "(" and ")" are single tokens
    ws();
    if (i >= s.size()) throw std::runtime_error("unexpected end");
    if (s[i] == '(' || s[i] == ')') return std::string(1, s[i++]);
    std::string out;
    if (s[i] == '"') {
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\') ++i;
        out += s[i++];
      }
      ++i;
      return out;
    }
    while (i < s.size() && s[i] != ' ' && s[i] != '(' && s[i] != ')') out += s[i++];
    return out;
  }
};

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

SequenceSet parse_set(const std::string& t) {
  SequenceSet set;
  if (t == "$") { set.saved = true; return set; }
  std::stringstream ss(t);
  std::string item;
  auto num = [](const std::string& x) { return x == "*" ? SeqRange::kStar : static_cast<std::uint32_t>(std::stoul(x)); };
  while (std::getline(ss, item, ',')) {
    auto colon = item.find(':');
    SeqRange r;
    r.first = num(item.substr(0, colon));
    r.last = colon == std::string::npos ? r.first : num(item.substr(colon + 1));
    set.ranges.push_back(r);
  }
  return set;
}

SearchDate parse_date(const std::string& t) {
  static const char* months[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
  SearchDate d;
  auto a = t.find('-'), b = t.rfind('-');
  d.day = std::stoi(t.substr(0, a));
  std::string mon = upper(t.substr(a + 1, b - a - 1));
  for (int m = 0; m < 12; ++m)
    if (mon == months[m]) d.month = m + 1;
  d.year = std::stoi(t.substr(b + 1));
  return d;
}

SearchKey parse_key(Lexer& lx) {
  std::string t = lx.token();
  SearchKey k;
  if (t == "(") {
    k.kind = SearchKeyKind::and_;
    while (lx.peek() != ')') k.children.push_back(parse_key(lx));
    lx.token();
    return k;
  }
  std::string u = upper(t);
  using K = SearchKeyKind;
  static const std::pair<const char*, K> simple[] = {
      {"ALL", K::all}, {"ANSWERED", K::answered}, {"DELETED", K::deleted}, {"DRAFT", K::draft},
      {"FLAGGED", K::flagged}, {"SEEN", K::seen}, {"RECENT", K::recent}, {"NEW", K::new_}, {"OLD", K::old},
      {"UNANSWERED", K::unanswered}, {"UNDELETED", K::undeleted}, {"UNDRAFT", K::undraft},
      {"UNFLAGGED", K::unflagged}, {"UNSEEN", K::unseen}};
  for (auto& [n, kind] : simple)
    if (u == n) { k.kind = kind; return k; }
  static const std::pair<const char*, K> text[] = {
      {"BCC", K::bcc}, {"CC", K::cc}, {"FROM", K::from}, {"SUBJECT", K::subject}, {"TO", K::to},
      {"BODY", K::body}, {"TEXT", K::text}, {"KEYWORD", K::keyword}, {"UNKEYWORD", K::unkeyword}};
  for (auto& [n, kind] : text)
    if (u == n) { k.kind = kind; k.text = lx.token(); return k; }
  static const std::pair<const char*, K> dates[] = {
      {"BEFORE", K::before}, {"ON", K::on}, {"SINCE", K::since},
      {"SENTBEFORE", K::sentbefore}, {"SENTON", K::senton}, {"SENTSINCE", K::sentsince}};
  for (auto& [n, kind] : dates)
    if (u == n) { k.kind = kind; k.date = parse_date(lx.token()); return k; }
  if (u == "LARGER" || u == "SMALLER" || u == "OLDER" || u == "YOUNGER" || u == "MODSEQ") {
    k.kind = u == "LARGER" ? K::larger : u == "SMALLER" ? K::smaller : u == "OLDER" ? K::older
           : u == "YOUNGER" ? K::younger : K::modseq;
    k.number = std::stoull(lx.token());
    return k;
  }
  if (u == "HEADER") { k.kind = K::header; k.field = lx.token(); k.text = lx.token(); return k; }
  if (u == "NOT") { k.kind = K::not_; k.children.push_back(parse_key(lx)); return k; }
  if (u == "OR") {
    k.kind = K::or_;
    k.children.push_back(parse_key(lx));
    k.children.push_back(parse_key(lx));
    return k;
  }
  if (u == "UID") { k.kind = K::uid; k.set = parse_set(lx.token()); return k; }
  if (!t.empty() && (std::isdigit(static_cast<unsigned char>(t[0])) || t[0] == '*' || t == "$")) {
    k.kind = K::sequence_set;
    k.set = parse_set(t);
    return k;
  }
  throw std::runtime_error("unknown search key " + t);
}

SearchKey parse_program(Lexer& lx) {
  SearchKey k;
  k.kind = SearchKeyKind::and_;
  while (!lx.done()) k.children.push_back(parse_key(lx));
  return k;
}

Section parse_section(const std::string& spec) {  // inside the brackets
  Section s;
  std::size_t i = 0;
  while (i < spec.size() && std::isdigit(static_cast<unsigned char>(spec[i]))) {
    std::size_t j = i;
    while (j < spec.size() && std::isdigit(static_cast<unsigned char>(spec[j]))) ++j;
    s.part.push_back(static_cast<std::uint32_t>(std::stoul(spec.substr(i, j - i))));
    i = j < spec.size() && spec[j] == '.' ? j + 1 : j;
  }
  std::string rest = upper(spec.substr(i));
  if (rest.empty()) s.text = Section::Text::full;
  else if (rest == "HEADER") s.text = Section::Text::header;
  else if (rest == "TEXT") s.text = Section::Text::text;
  else if (rest == "MIME") s.text = Section::Text::mime;
  else {
    s.text = rest.rfind("HEADER.FIELDS.NOT", 0) == 0 ? Section::Text::header_fields_not : Section::Text::header_fields;
    Lexer lx{spec.substr(spec.find('(') + 1, spec.find(')') - spec.find('(') - 1)};
    while (!lx.done()) s.fields.push_back(lx.token());
  }
  return s;
}

void print_bytes(const std::string& d) {
  std::printf("%zu ", d.size());
  for (unsigned char c : d) std::printf("%02x", c);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: imap_search_tool DIR [ZONE_MINUTES] < commands\n");
    return 2;
  }
  std::string dir = argv[1];
  std::deque<tern::store::MessageInfo> infos;
  std::deque<std::string> raws;
  std::deque<MessageView> views;
  std::vector<MessageView*> ptrs;
  std::ifstream meta(dir + "/meta");
  std::string line;
  while (std::getline(meta, line)) {
    std::stringstream ss(line);
    tern::store::MessageInfo info;
    ss >> info.uid >> info.internal_date >> info.size;
    std::string f;
    while (ss >> f) {
      std::string u = upper(f);
      if (u == "\\SEEN") info.flags.system |= tern::store::flag_seen;
      else if (u == "\\ANSWERED") info.flags.system |= tern::store::flag_answered;
      else if (u == "\\FLAGGED") info.flags.system |= tern::store::flag_flagged;
      else if (u == "\\DELETED") info.flags.system |= tern::store::flag_deleted;
      else if (u == "\\DRAFT") info.flags.system |= tern::store::flag_draft;
      else info.flags.keywords.push_back(f);
    }
    std::ifstream in(dir + "/" + std::to_string(info.uid) + ".eml", std::ios::binary);
    std::stringstream body;
    body << in.rdbuf();
    infos.push_back(info);
    raws.push_back(body.str());
    views.emplace_back(static_cast<std::uint32_t>(views.size() + 1), infos.back(), raws.back());
    ptrs.push_back(&views.back());
  }
  SearchEnv env;
  std::vector<std::uint32_t> saved;
  env.message_count = static_cast<std::uint32_t>(views.size());
  env.largest_uid = infos.empty() ? 0 : infos.back().uid;
  env.now = std::time(nullptr);
  env.zone_minutes = argc == 3 ? std::atoi(argv[2]) : 0;  // the server zone for BEFORE/ON/SINCE
  while (std::getline(std::cin, line)) {
    try {
      Lexer lx{line};
      std::string cmd = upper(lx.token());
      bool uid_search = false;
      if (cmd == "UID") {  // UID SEARCH
        uid_search = true;
        cmd = upper(lx.token());
      }
      if (cmd == "SEARCH") {
        SearchKey k = parse_program(lx);
        std::vector<std::uint32_t> out;
        for (auto* v : ptrs)
          if (matches(k, *v, env)) out.push_back(uid_search ? v->info->uid : v->seq);
        std::printf("%s\n", format_search_response(out).c_str());
      } else if (cmd == "ESEARCH") {  // ESEARCH [UID] (MIN MAX COUNT ALL) keys: the RFC 4731 response
        bool uid = false;
        if (lx.peek() != '(') { lx.token(); uid = true; }
        SearchReturn ret;
        lx.token();  // (
        for (std::string t = upper(lx.token()); t != ")"; t = upper(lx.token())) {
          ret.save = ret.save || t == "SAVE";
          ret.min = ret.min || t == "MIN";
          ret.max = ret.max || t == "MAX";
          ret.count = ret.count || t == "COUNT";
          ret.all = ret.all || t == "ALL";
        }
        SearchKey k = parse_program(lx);
        std::vector<std::uint32_t> out, uids;
        for (auto* v : ptrs)
          if (matches(k, *v, env)) {
            out.push_back(uid ? v->info->uid : v->seq);
            uids.push_back(v->info->uid);
          }
        if (ret.save) {  // RFC 5182: "$" for the following commands
          saved = saved_result(ret, uids);
          env.saved_uids = &saved;
        }
        if (esearch_response_wanted(ret)) std::printf("%s\n", format_esearch_response("", uid, ret, out).c_str());
        else std::printf("(no response)\n");
      } else if (cmd == "SORT") {
        std::vector<SortCriterion> crit;
        lx.token();  // (
        bool rev = false;
        for (std::string t = upper(lx.token()); t != ")"; t = upper(lx.token())) {
          if (t == "REVERSE") { rev = true; continue; }
          SortKey key = t == "ARRIVAL" ? SortKey::arrival : t == "CC" ? SortKey::cc : t == "DATE" ? SortKey::date
                      : t == "FROM" ? SortKey::from : t == "SIZE" ? SortKey::size : t == "SUBJECT" ? SortKey::subject
                      : t == "TO" ? SortKey::to : t == "DISPLAYFROM" ? SortKey::displayfrom : SortKey::displayto;
          crit.push_back({key, rev});
          rev = false;
        }
        SearchKey k = parse_program(lx);
        std::vector<MessageView*> sel;
        for (auto* v : ptrs)
          if (matches(k, *v, env)) sel.push_back(v);
        std::string out = "* SORT";
        for (auto n : sort_messages(sel, crit)) out += " " + std::to_string(n);
        std::printf("%s\n", out.c_str());
      } else if (cmd == "THREAD") {
        std::string alg = upper(lx.token());
        SearchKey k = parse_program(lx);
        std::vector<MessageView*> sel;
        for (auto* v : ptrs)
          if (matches(k, *v, env)) sel.push_back(v);
        auto t = thread_messages(sel, alg == "REFERENCES" ? ThreadAlgorithm::references : ThreadAlgorithm::orderedsubject);
        std::string f = format_threads(t);
        std::printf("* THREAD%s%s\n", f.empty() ? "" : " ", f.c_str());
      } else if (cmd == "FETCH") {
        std::size_t seq = std::stoul(lx.token());
        std::string item = lx.s.substr(lx.i + 1);
        MessageView& v = *ptrs.at(seq - 1);
        const auto* m = v.parsed();
        std::string kind = upper(item.substr(0, item.find('[')));
        std::string spec = item.substr(item.find('[') + 1, item.rfind(']') - item.find('[') - 1);
        std::optional<Partial> partial;
        if (auto lt = item.rfind('<'); lt != std::string::npos && lt > item.rfind(']')) {
          std::string p = item.substr(lt + 1, item.size() - lt - 2);
          partial = Partial{static_cast<std::uint32_t>(std::stoul(p.substr(0, p.find('.')))),
                            static_cast<std::uint32_t>(std::stoul(p.substr(p.find('.') + 1)))};
        }
        Section s = parse_section(spec);
        if (kind == "BODY" || kind == "BODY.PEEK") {
          print_bytes(std::string(apply_partial(fetch_section(*m, s), partial)));
        } else if (kind == "BINARY" || kind == "BINARY.PEEK") {
          auto r = fetch_binary(*m, s);
          if (r) print_bytes(std::string(apply_partial(*r, partial)));
          else std::printf("NO %d\n", r.error().code);
        } else if (kind == "BINARY.SIZE") {
          auto r = fetch_binary_size(*m, s);
          if (r) std::printf("%llu\n", static_cast<unsigned long long>(*r));
          else std::printf("NO %d\n", r.error().code);
        }
      } else {
        std::printf("BAD unknown command\n");
      }
    } catch (const std::exception& e) {
      std::printf("BAD %s\n", e.what());
    }
    std::fflush(stdout);
  }
  return 0;
}
