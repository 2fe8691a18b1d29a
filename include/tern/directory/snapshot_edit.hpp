// Edits of a DirectorySnapshot with the rules checked (pure functions; the file backend runs them
// inside DirectoryEditor::apply, ternctl builds on them). Errors: invalid_argument (name rules),
// exists, not_found, each with a sentence naming the thing.
#pragma once

#include <string_view>
#include <vector>

#include "tern/core/result.hpp"
#include "tern/directory/model.hpp"

namespace tern::directory::edit {

Status add_domain(DirectorySnapshot& d, std::string_view domain, bool incoming = true);
// Refuses while mailboxes, aliases or lists still use the domain unless `cascade`.
Status remove_domain(DirectorySnapshot& d, std::string_view domain, bool cascade = false);
Status set_domain_incoming(DirectorySnapshot& d, std::string_view domain, bool incoming);
// Storage quota of a mailbox (0: unlimited).
Status set_mailbox_quota(DirectorySnapshot& d, std::string_view address, Quota quota);
// 0: back to the server's [smtp] max_message_size.
Status set_domain_max_message_size(DirectorySnapshot& d, std::string_view domain, std::uint64_t bytes);
Status set_catch_all(DirectorySnapshot& d, std::string_view domain, std::vector<std::string> targets);

// A login user owning a mailbox of the same address (what `ternctl user add` creates):
// user name = address, mailbox owner = that user.
Status add_user_mailbox(DirectorySnapshot& d, std::string_view address, std::string password_hash,
                        char separator = '+');
// Removes the mailbox and, when no other mailbox is owned by it, the user of that name.
Status remove_user_mailbox(DirectorySnapshot& d, std::string_view address);
// Sets the password of the owner of the mailbox (or of the mailbox's own credential if it has one).
Status set_password(DirectorySnapshot& d, std::string_view address, std::string password_hash);

Status add_mailbox(DirectorySnapshot& d, Mailbox mailbox, char separator = '+');
Status remove_mailbox(DirectorySnapshot& d, std::string_view address);
Status set_mailbox_active(DirectorySnapshot& d, std::string_view address, bool active);

// alias (may contain '*') -> target addresses.
Status add_alias(DirectorySnapshot& d, std::string_view alias, std::vector<std::string> targets, char separator = '+');
Status remove_alias(DirectorySnapshot& d, std::string_view alias);

Status add_list(DirectorySnapshot& d, std::string_view address, std::vector<std::string> members, bool members_only,
                char separator = '+');
Status remove_list(DirectorySnapshot& d, std::string_view address);
Status set_list_members(DirectorySnapshot& d, std::string_view address, std::vector<std::string> members);

}  // namespace tern::directory::edit
