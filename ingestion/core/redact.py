"""Mask credentials in any text before it is shown: passwords in URLs, ``password=`` values.

Every error line and, with ``--debug``, every traceback the CLI prints passes through
:func:`redact`. It knows the shapes credentials take in messages — a URL's userinfo
(``scheme://user:secret@host``, also when the secret holds an unencoded ``@``) and key/value
pairs (``password=secret``, libpq's ``password='two words'``, JSON's ``"password": "…"``) — and
any literal secrets the caller knows (a DSN's password, decoded and encoded).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"

# scheme://authority: the authority runs to the first "/", "?", "#", quote or space, so a
# password with an unencoded "@" is still all userinfo (split at the last "@").
_URL = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<authority>[^/?#\s\"'<>]*)")
_KEY_VALUE = re.compile(
    r"""(?P<key>["']?\b\w*(?:password|passwd|pwd)["']?\s*[:=]\s*)"""
    r"""(?!(?:yes|no)\b)(?P<value>"[^"]*"|'[^']*'|[^\s&;,'"}]+)""",
    re.IGNORECASE,
)


def _mask_userinfo(match: re.Match[str]) -> str:
    userinfo, at, host = match["authority"].rpartition("@")
    if not at or ":" not in userinfo:
        return match.group(0)
    user = userinfo.split(":", 1)[0]
    return f"{match['scheme']}{user}:{MASK}@{host}"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with ``secrets``, URL passwords and ``password=`` values replaced by ``***``."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _URL.sub(_mask_userinfo, text)
    return _KEY_VALUE.sub(lambda match: match["key"] + MASK, text)
