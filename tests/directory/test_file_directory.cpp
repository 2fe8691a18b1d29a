#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tern/directory/file_directory.hpp"
#include "tern/directory/mailbox_transfer.hpp"
#include "tern/directory/snapshot_edit.hpp"

using namespace tern::directory;
namespace fs = std::filesystem;
using V = std::vector<std::string>;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "tern-dir-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
};

void write(const fs::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary) << s;
}
std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const char* kToml = R"(version = 1
[[domain]]
name = "example.com"
catch_all = []

[[user]]
name = "alice"
password = "{PLAIN}secret"

[[mailbox]]
address = "alice@example.com"
owner = "alice"
owner_type = "user"
quota_bytes = "1G"

[[alias]]
address = "info@example.com"
targets = ["alice@example.com"]
)";

}  // namespace

BOOST_AUTO_TEST_SUITE(file_directory)

BOOST_AUTO_TEST_CASE(toml_roundtrip) {
  auto snap = parse_directory_toml(kToml, "directory.toml");
  BOOST_REQUIRE_MESSAGE(snap.has_value(), (snap ? "" : snap.error().message));
  BOOST_TEST(snap->mailboxes.at(0).quota.bytes == 1024ull * 1024 * 1024);
  auto text = render_directory_toml(*snap);
  auto again = parse_directory_toml(text, "x.toml");
  BOOST_REQUIRE(again.has_value());
  BOOST_TEST(render_directory_toml(*again) == text);
  BOOST_TEST(again->aliases.at(0).targets == V{"alice@example.com"});
}

BOOST_AUTO_TEST_CASE(toml_errors_name_file_line_and_key) {
  auto bad = parse_directory_toml("[[mailbox]]\naddress = \"alice@example.com\"\nowner_type = \"robot\"\ncolour = 1\n",
                                  "directory.toml");
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().message.find("directory.toml:3: mailbox[1].owner_type") != std::string::npos,
             bad.error().message);
  BOOST_TEST(bad.error().message.find("colour") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(open_edit_persist_and_reload) {
  TempDir t;
  FileDirectoryOptions o;
  o.file = t.path / "directory" / "directory.toml";
  o.check_interval = std::chrono::milliseconds(0);
  auto dir = FileDirectory::open(o);
  BOOST_REQUIRE(dir.has_value());  // missing file: empty directory
  BOOST_TEST((*dir)->resolve("a@example.com")->status == ResolveStatus::not_local);

  auto st = (*dir)->apply([](DirectorySnapshot& d) -> tern::Status {
    if (auto s = edit::add_domain(d, "example.com"); !s) return s;
    return edit::add_user_mailbox(d, "alice@example.com", "{PLAIN}pw");
  });
  BOOST_REQUIRE_MESSAGE(st.has_value(), (st ? "" : st.error().message));
  BOOST_TEST(fs::exists(o.file));
  BOOST_TEST(((fs::status(o.file).permissions() & fs::perms::others_read) == fs::perms::none));
  BOOST_TEST((*dir)->resolve("alice+x@example.com")->mailboxes() == V{"alice@example.com"});

  // Failed edits leave the file untouched.
  auto before = slurp(o.file);
  BOOST_TEST(!(*dir)->apply([](DirectorySnapshot& d) { return edit::add_alias(d, "alice@example.com", {"x@y.org"}); }));
  BOOST_TEST(slurp(o.file) == before);

  // A second instance (another process, e.g. ternctl) sees the data; an outside edit is picked up.
  auto other = FileDirectory::open(o);
  BOOST_REQUIRE(other.has_value());
  BOOST_TEST((*other)->lookup_login("alice@example.com").has_value());
  std::string edited = before + "\n[[alias]]\naddress = \"hello@example.com\"\ntargets = [\"alice@example.com\"]\n";
  write(o.file.string() + ".new", edited);
  fs::rename(o.file.string() + ".new", o.file);  // new inode: detected even within the same mtime tick
  BOOST_TEST((*dir)->resolve("hello@example.com")->mailboxes() == V{"alice@example.com"});

  // A broken file keeps the last good view.
  write(o.file.string() + ".new", "[[domain]\nname=");
  fs::rename(o.file.string() + ".new", o.file);
  BOOST_TEST(!(*dir)->reload());
  BOOST_TEST((*dir)->resolve("hello@example.com")->mailboxes() == V{"alice@example.com"});
  // ...and an edit refuses to overwrite what it cannot read.
  BOOST_TEST(!(*dir)->apply([](DirectorySnapshot&) { return tern::Status{}; }));
}

// What an SMTP session on an I/O thread may use without a worker: the snapshot in memory, but never one
// whose reload check is due (an outside edit must still be seen within check_interval).
BOOST_AUTO_TEST_CASE(snapshot_if_ready_only_between_reload_checks) {
  TempDir t;
  FileDirectoryOptions o;
  o.file = t.path / "directory.toml";
  o.check_interval = std::chrono::milliseconds(300);
  write(o.file, kToml);
  auto dir = FileDirectory::open(o);
  BOOST_REQUIRE(dir.has_value());
  auto ready = (*dir)->snapshot_if_ready();
  BOOST_REQUIRE(ready != nullptr);
  BOOST_TEST(ready.get() == (*dir)->snapshot()->get());
  BOOST_TEST(resolve(*ready, "info@example.com", (*dir)->options()).value().mailboxes() == V{"alice@example.com"});

  // Edited by another program: until the check is due the old view is served; then only snapshot() (a
  // worker's call) may look, and the new view is ready after it.
  std::string edited = std::string(kToml) + "\n[[alias]]\naddress = \"hello@example.com\"\ntargets = [\"alice@example.com\"]\n";
  write(o.file.string() + ".new", edited);
  fs::rename(o.file.string() + ".new", o.file);
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  BOOST_TEST((*dir)->snapshot_if_ready() == nullptr);
  BOOST_TEST((*dir)->resolve("hello@example.com")->mailboxes() == V{"alice@example.com"});
  auto fresh = (*dir)->snapshot_if_ready();
  BOOST_REQUIRE(fresh != nullptr);
  BOOST_TEST(resolve(*fresh, "hello@example.com", (*dir)->options()).value().mailboxes() == V{"alice@example.com"});

  // No interval: every lookup checks the file, so nothing is ever "ready" without one.
  o.check_interval = std::chrono::milliseconds(0);
  auto always = FileDirectory::open(o);
  BOOST_REQUIRE(always.has_value());
  BOOST_TEST((*always)->snapshot_if_ready() == nullptr);
}

// A host's directory that answers live keeps the default: its resolve() is never bypassed.
BOOST_AUTO_TEST_CASE(snapshot_if_ready_defaults_to_none) {
  struct Live final : Directory {
    ResolveOptions opts;
    const ResolveOptions& options() const override { return opts; }
    tern::Result<Resolution> resolve(std::string_view, std::optional<std::string_view>) override { return Resolution{}; }
  } live;
  BOOST_TEST(live.snapshot_if_ready() == nullptr);
  MemoryDirectory memory;
  BOOST_TEST(memory.snapshot_if_ready() != nullptr);
}

BOOST_AUTO_TEST_CASE(reads_docker_mailserver_files) {
  TempDir t;
  write(t.path / "postfix-accounts.cf",
        "# accounts\n"
        "user1@example.com|{SHA512-CRYPT}$6$2YpW1nYtPBs2yLYS$z.5PGH1OEzsHHNhl3gJrc3D.YMZkvKw/vp.r5WIiwya6z7P/"
        "CQ9GDEJDr2G2V0cAfjDFeAQPUoopsuWPXLk3u1\n"
        "first_last@example.com|{PLAIN}pw|\n"
        "broken-line\n");
  write(t.path / "postfix-virtual.cf",
        "# Alias delivered to an existing account\n"
        "alias1@example.com user1@example.com\n"
        "alias2@example.com external-account@gmail.com, user1@example.com\n"
        "@other.com user1@example.com\n");
  write(t.path / "dovecot-masters.cf", "admin|{PLAIN}masterpw\n");
  FileDirectoryOptions o;
  o.file = t.path / "directory.toml";
  o.dms_dir = t.path;
  o.check_interval = std::chrono::milliseconds(0);
  auto dir = FileDirectory::open(o);
  BOOST_REQUIRE(dir.has_value());
  auto& d = **dir;
  auto login = d.lookup_login("user1@example.com");
  BOOST_REQUIRE(login.has_value());
  BOOST_TEST(login->credentials.at(0).password_hash.rfind("{SHA512-CRYPT}$6$", 0) == 0);
  BOOST_TEST(d.lookup_login("first_last@example.com").has_value());  // DMS names are taken as they are
  BOOST_TEST(d.resolve("alias1@example.com")->mailboxes() == V{"user1@example.com"});
  auto a2 = d.resolve("alias2@example.com");
  BOOST_TEST(a2->forwards() == V{"external-account@gmail.com"});
  BOOST_TEST(a2->mailboxes() == V{"user1@example.com"});
  auto c = d.resolve("anything@other.com");
  BOOST_TEST(c->via_catch_all);
  BOOST_TEST(c->mailboxes() == V{"user1@example.com"});
  BOOST_TEST(d.lookup_master("admin").has_value());
  BOOST_TEST(!d.lookup_login("alias1@example.com"));

  // Editing postfix-accounts.cf is picked up without restart.
  std::ofstream(t.path / "postfix-accounts.cf", std::ios::app) << "user2@example.com|{PLAIN}x\n";
  BOOST_TEST(d.lookup_login("user2@example.com").has_value());
}

BOOST_AUTO_TEST_CASE(dms_parsers_report_bad_lines) {
  DmsData dms;
  parse_postfix_accounts("ok@example.com|{PLAIN}x\nno-bar\n@x|y\n", "accounts", dms);
  BOOST_TEST(dms.accounts.size() == 1u);
  BOOST_REQUIRE(dms.warnings.size() == 2u);
  BOOST_TEST(dms.warnings[0] == "accounts:2: expected user@domain|{SCHEME}hash");
}

BOOST_AUTO_TEST_CASE(cloudron_csv_and_json) {
  DirectorySnapshot d;
  BOOST_REQUIRE(edit::add_domain(d, "example.com").has_value());
  d.users.push_back({"girish", "", true, ""});
  d.groups.push_back({"sales", {"girish"}});
  BOOST_REQUIRE(edit::add_mailbox(d, {"girish", "example.com", "girish", OwnerType::user, true, {}, ""}).has_value());
  BOOST_REQUIRE(edit::add_mailbox(d, {"sales", "example.com", "sales", OwnerType::group, false, {}, ""}).has_value());
  BOOST_REQUIRE(edit::add_alias(d, "gk@example.com", {"girish@example.com"}).has_value());
  auto recs = export_mailboxes(d);
  auto csv = render_mailboxes(recs, TransferFormat::csv);
  BOOST_TEST(csv ==
             "name,domain,owner,owner type,aliases,active\n"
             "girish,example.com,girish,user,gk@example.com,true\n"
             "sales,example.com,sales,group,,false\n");
  auto json = render_mailboxes(recs, TransferFormat::json);
  BOOST_TEST(json.find(R"("ownerType": "group")") != std::string::npos);
  for (auto fmt : {TransferFormat::csv, TransferFormat::json}) {
    auto back = parse_mailboxes(render_mailboxes(recs, fmt), fmt);
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST((*back == recs));
  }
  // Import into an empty directory: domains and user owners are created.
  DirectorySnapshot fresh;
  fresh.groups.push_back({"sales", {}});
  auto short_csv = parse_mailboxes("anna,example.org,anna,user\n\"bob\",example.org,bob,user,b@example.org,true\n",
                                   TransferFormat::csv);
  BOOST_REQUIRE(short_csv.has_value());
  BOOST_REQUIRE(import_mailboxes(fresh, *short_csv).has_value());
  BOOST_TEST(fresh.find_mailbox("anna", "example.org") != nullptr);
  BOOST_TEST(fresh.find_user("bob") != nullptr);
  BOOST_TEST(resolve(fresh, "b@example.org", {})->mailboxes() == V{"bob@example.org"});
  // Bad input is refused with the record number.
  auto bad = parse_mailboxes("name,domain,owner,owner type\nx,example.org,x,robot\n", TransferFormat::csv);
  BOOST_REQUIRE(!bad);
  BOOST_TEST(bad.error().message.find("record 2") != std::string::npos);
  auto badname = parse_mailboxes("x+y,example.org,x,user\n", TransferFormat::csv);
  BOOST_REQUIRE(badname.has_value());
  DirectorySnapshot f2;
  auto imp = import_mailboxes(f2, *badname);
  BOOST_REQUIRE(!imp);
  BOOST_TEST(imp.error().message.find("subaddress separator") != std::string::npos);
  BOOST_TEST(!parse_mailboxes("[{\"name\": \"x\"", TransferFormat::json));
  BOOST_TEST(!parse_mailboxes(std::string(100, '[') + std::string(100, ']'), TransferFormat::json));
}

BOOST_AUTO_TEST_SUITE_END()
