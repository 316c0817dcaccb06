"""Who may generate what, at what cost: accounts, keys, plans, eligibility, credits, usage."""

from zoetrope.access.accounts import create_account, get_account, list_accounts, open_account, update_account
from zoetrope.access.keys import Principal, authenticate, create_key, list_keys, revoke_key
from zoetrope.access.models import Account, ApiKey

__all__ = [
    "Account",
    "ApiKey",
    "Principal",
    "authenticate",
    "create_account",
    "create_key",
    "get_account",
    "list_accounts",
    "list_keys",
    "open_account",
    "revoke_key",
    "update_account",
]
