"""Secrets: private keys, tokens with a known shape, and credentials assigned in configuration.

The kinds follow Yelp's detect-secrets where it has a rule (AWS, Slack, Azure storage, npm, GitLab, basic
auth in URLs, private keys incl. PuTTY and SSH2), but without its entropy detectors: a long hex or base64
string alone (an md5 or sha256 in a log, an SRI `integrity="sha384-…"`, a UUID, a commit id) is no secret
here. A value needs a token's known prefix, or a keyword that says it is a credential.

Each `find_*` returns the start offsets of what it found, like `numbers`.
"""

from __future__ import annotations

import re

from moderation.detectors.numbers import MAX_PLACES

_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:(?:RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY(?: BLOCK)?-----"
    r"|---- BEGIN SSH2 (?:ENCRYPTED )?PRIVATE KEY ----"
    r"|PuTTY-User-Key-File-\d: "
)


def find_private_keys(text: str) -> list[int]:
    if "BEGIN" not in text and "PuTTY-User-Key-File-" not in text:
        return []  # a substring test is a tenth of the cost of the pattern, which has no literal to skip ahead to
    return [match.start() for match in _PRIVATE_KEY.finditer(text)][:MAX_PLACES]


def _token(prefix: str, prefix_width: int, body: str) -> str:
    """A token that starts a word: the literal prefix first, then a check of the character before it."""
    return rf"{prefix}(?<![A-Za-z0-9_-].{{{prefix_width}}}){body}"


_B64 = "[A-Za-z0-9_-]"  # base64url
# One pattern per token, each starting with its literal prefix: the engine skips ahead to a literal, while an
# alternation of them is tried at every position (measured: 0.02 ms against 2 ms for 50 KB).
_TOKENS = tuple(
    re.compile(pattern)
    for pattern in (
        _token("AKIA", 4, r"[0-9A-Z]{16}(?![0-9A-Za-z])"),  # AWS access key id
        _token("ASIA", 4, r"[0-9A-Z]{16}(?![0-9A-Za-z])"),  # AWS temporary access key id
        _token("gh[pousr]_", 4, r"[A-Za-z0-9]{36,255}"),  # GitHub
        _token("github_pat_", 11, r"[A-Za-z0-9_]{22,255}"),  # GitHub fine-grained
        _token("xox[baprs]-", 5, r"[A-Za-z0-9-]{10,255}"),  # Slack
        _token("sk_live_", 8, r"[0-9a-zA-Z]{24,255}"),  # Stripe secret key
        _token("rk_live_", 8, r"[0-9a-zA-Z]{24,255}"),  # Stripe restricted key
        _token("AIza", 4, r"[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])"),  # Google API key
        _token("sk-", 3, r"[A-Za-z0-9_-]{32,255}"),  # OpenAI-style, sk-proj-…
        *(_token(f"gl{kind}-", len(kind) + 3, r"[0-9A-Za-z_-]{20,255}")  # GitLab: personal, deploy, runner, ...
          for kind in ("pat", "dt", "rt", "ptt", "cbt", "ft", "imt", "agent", "oas", "soat")),
        _token("npm_", 4, r"[A-Za-z0-9]{36}(?![A-Za-z0-9])"),  # npm access token
        _token("eyJ", 3, rf"{_B64}{{10,4096}}\.eyJ{_B64}{{10,4096}}\.{_B64}{{10,4096}}"),  # JWT
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{20,255}",  # Slack webhook
        r"AccountKey=[A-Za-z0-9+/]{86}==",  # Azure storage account key (connection string)
        r"SharedAccessKey=[A-Za-z0-9+/]{43}=",  # Azure service bus / event hub
    )
)

# `aws_secret_access_key = wJalr…` (40 characters of base64), with the keyword on the same line.
_AWS_SECRET = re.compile(
    r"(?i:aws)[\w.-]{0,20}(?i:secret)[\w.-]{0,20}[\"']?[ \t]{0,3}[:=>][ \t]{0,3}[\"']?"
    r"(?P<value>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
)
# `Authorization: Basic dXNlcjpwYXNz`, `Authorization: Bearer abc…` (header, curl -H, Postman export)
_AUTHORIZATION = re.compile(
    r"(?i:authorization)[\"']?[ \t]{0,3}[:=,][ \t]{0,3}[\"']?(?i:(?P<scheme>basic|bearer|token))[ \t]{1,3}"
    r"(?P<value>[A-Za-z0-9._~+/=-]{8,4096})"
)
# `https://user:pass@host`, `postgres://app:s3cret@db/…`: userinfo with a password (detect-secrets BasicAuth)
_URL_PASSWORD = re.compile(r"://(?P<user>[^\s:/?#@\"'<>]{1,128}):(?P<value>[^\s/?#@\"'<>]{1,256})@")
# `<password>…</password>`, `<add key="SmtpPassword" value="…"/>`, `<Password>…</Password>`
_XML_PASSWORD = re.compile(
    r"<(?P<tag>(?i:[\w.:-]{0,40}(?:password|passwd|secret|apikey|api_key|token)))>(?P<value>[^<\s]{4,256})</(?P=tag)>"
    r"|<add\s+key=\"[\w.:-]{0,40}(?i:password|passwd|secret|apikey|token)[\w.:-]{0,40}\"\s+value=\"(?P<attr>[^\"]{4,256})\""
)
# `npm` config: `//registry.npmjs.org/:_authToken=…` (also `_auth=` and `_password=`)
_NPM = re.compile(r"(?:_authToken|_auth|_password)[ \t]*=[ \t]*(?P<value>[^\s\"']{8,512})")

# `DB_PASSWORD=…`, `"client_secret": "…"`, `x-api-key: …`, `SECRET_KEY = '…'`, `passord: …`, matched in lower
# case: a case-insensitive alternation cannot skip ahead to its first letter. A bare value must contain a digit,
# so prose ("Invalid token: signature expired") and code references (`password = self.password`, `token =
# os.environ[...]`) pass.
_SECRET_ASSIGNMENT = re.compile(
    r"""
    (?P<key>password|passwd|passord|pwd|secret|api[_-]?key|token)(?:[_-]?key)?
    (?![a-z0-9_])
    ["']?[ \t]{0,3}[:=][ \t]{0,3}
    (?:"(?P<double>[^"\s]{8,256}+)
      |'(?P<single>[^'\s]{8,256}+)
      |(?P<bare>[^\s"'`,;()\[\]{}<>]{8,256}+)(?![(\[{<])
    )
    """,
    re.VERBOSE,
)
_PLACEHOLDER = re.compile(
    r"\*{3}|^<.*>$|xxx|changeme|\$\{|\$\(|%\(.*\)s|\{\{|^your[_-]|redacted|placeholder|example|^\$[a-z_]|^%[a-z_]+%$"
    r"|^<|fjernet|skjult|hemmelig$|^password$|^passord$|^secret$|^token$|\.\.\.|…",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")
# `PWD=/srv/app` (the working directory in an environment dump), `token_url: https://…`: paths and URLs
_PATH_OR_URL = re.compile(r"^(?:/|~/|\./|\.\./|[a-z]:\\|https?://)", re.IGNORECASE)


def _is_real(value: str) -> bool:
    return not _PLACEHOLDER.search(value)


def _assigned_secrets(text: str, lowered: str) -> list[int]:
    found = []
    for match in _SECRET_ASSIGNMENT.finditer(lowered):
        if match.start() and lowered[match.start() - 1].isalnum():
            continue
        bare = match["bare"]
        value = bare if bare is not None else match["double"] or match["single"]
        if _PATH_OR_URL.match(value) or (match["key"] == "pwd" and bare is not None and "/" in value):
            continue
        if bare is not None and not _DIGIT.search(bare):
            continue
        if _is_real(value):
            found.append(match.start())
    return found


# Patterns run only when the text holds their keyword: a substring test is far cheaper than a regex pass.
_GATED = (("aws", _AWS_SECRET), ("authorization", _AUTHORIZATION), ("://", _URL_PASSWORD), ("_auth", _NPM),
          ("_password", _NPM))
# These begin with their keyword in any case, which the engine cannot skip ahead to: they are tried only where
# the lower-cased text has the keyword.
_STARTS_WITH_KEYWORD = frozenset({_AWS_SECRET, _AUTHORIZATION})


def _matches(pattern: re.Pattern[str], keyword: str, text: str, lowered: str) -> list[re.Match[str]]:
    """`pattern.finditer(text)`, tried only at the keyword's places when the pattern starts with it."""
    if pattern not in _STARTS_WITH_KEYWORD or len(lowered) != len(text):  # lower() may change the length
        return list(pattern.finditer(text))
    matches, after = [], 0
    at = lowered.find(keyword)
    while at >= 0:
        if at >= after and (match := pattern.match(text, at)):
            matches.append(match)
            after = match.end()
        at = lowered.find(keyword, at + 1)
    return matches


def find_api_keys(text: str) -> list[int]:
    """Tokens with a known prefix, and credentials given a value in configuration, headers, URLs and XML."""
    found = [match.start() for pattern in _TOKENS for match in pattern.finditer(text)]
    lowered = text.lower()
    for keyword, pattern in _GATED:
        if keyword in lowered:
            found += [match.start() for match in _matches(pattern, keyword, text, lowered) if _is_real(match["value"])]
    if "</" in text or "<add" in lowered:
        for match in _XML_PASSWORD.finditer(text):
            if _is_real(match["value"] or match["attr"]):
                found.append(match.start())
    found += _assigned_secrets(text, lowered)
    return sorted(set(found))[:MAX_PLACES]
