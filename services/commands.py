"""The commands our texts point members to, named once: they render as clickable mentions."""

from __future__ import annotations

from i18n.message import Command

VOTE_ADD = Command("vote add")
VOTE_SUB = Command("vote sub")
VOTE_RAND = Command("vote rand")
ACCOUNT_CONNECT = Command("account connect")
ACCOUNT_DISCONNECT = Command("account disconnect")
ACCOUNT_STATUS = Command("account status")
REMIND_ON = Command("remind on")
REMIND_OFF = Command("remind off")
LINKS_ADD = Command("links add")
LINKS_CARD = Command("links card")
LINKS_LIST = Command("links list")
LINKS_REMOVE = Command("links remove")
LINKS_HISTORY = Command("links history")
LINKS_EXPORT = Command("links export")
STATS = Command("stats")
CONFIG_VOTER_ROLE = Command("config voter-role")
CONFIG_LOG_CHANNEL = Command("config log-channel")
CONFIG_LANGUAGE = Command("config language")
DICE = Command("dice")
LUCK = Command("luck")
DOM_DICE = Command("dom dice")
DOM_LUCK = Command("dom luck")
DOM_LINK = Command("dom link")
PROPOSE = Command("propose")
HELP = Command("help")
HELP_VOTING = Command("help", "voting")
HELP_ACCOUNT = Command("help", "account")
