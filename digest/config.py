"""The configuration: its schema, its one table of defaults, and the loader.

The schema is the frozen dataclasses below. Each key the file may hold is a field declared
with `setting(default, check)`: the field's default is the key's default (digest repeats no
default anywhere else), its name is the key (`key=` where Python cannot spell it), and `check`
turns the key's YAML node into the value or raises a ConfigError naming the file, the line,
the key and what is wrong. A null value for a key whose default is None means the default.
Defaults that depend on where the config file is (the state, the outbox: under `var/`) are
resolved by digest/paths.py whenever a Config is made, by the loader or not.

`load_config` composes the YAML (each node keeps its line), reads every section by its
dataclass (a key the schema does not name is an error) and keeps the lines of every key in
`Config.lines`, so a message about a setting found wrong later (an unset password variable,
a bad address in `to`) still names the file and the line; the values carry no lines.
Relative paths resolve against the config file's folder; `~` and `${ENV}` expand in paths.
Secrets never come from the file: the `*_env` keys name environment variables.
"""

from __future__ import annotations

import dataclasses
import glob as globmod
import ipaddress
import os
import re
import ssl
import string
from collections.abc import Callable, Iterator
from dataclasses import MISSING, dataclass, field
from email.utils import parseaddr
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from . import __version__
from .cron import CronError, cron_expression
from .errors import ConfigError
from .i18n import languages
from .paths import (
    DEFAULT_CONFIG,
    archive_folder,
    default_outbox,
    default_state,
    preview_folder,
    project_folder,
)
from .rules import NO_RULES, Rules, pattern
from .state.postgres import PASSWORD_IN_URL, url_problem
from .text import domain_as_ascii, is_web_url, normalize_address
from .tokens import VERP_LENGTH, Signer

Check = Callable[["_Node"], Any]


def setting(
    default: Any = MISSING,
    check: Check | None = None,
    *,
    key: str | None = None,
    factory: Callable[[], Any] | None = None,
    required: str | None = None,
) -> Any:
    """A field the file may set under `key` (default: the field's name), read by `check`.
    `required`: the message when the key is missing although the field has a default."""
    metadata = {"check": check, "key": key, "required": required}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


# --- reading YAML nodes --------------------------------------------------------------------

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NULL_TAG = "tag:yaml.org,2002:null"
_OTHER_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")  # file://, sqlite:///, ftp://


class _Node:
    """A YAML value with the line it starts on, so every error can point at it. Making one
    enters its line in the file's line map."""

    def __init__(self, node: yaml.Node, key: str, file: _File):
        self.node, self.key, self.file = node, key, file
        self.line = node.start_mark.line + 1
        file.lines[key] = self.line

    @property
    def base(self) -> Path:
        return self.file.path.parent

    def error(self, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(message, str(self.file.path), self.line, self.key, hint)

    def child(self, node: yaml.Node, name: str) -> _Node:
        return _Node(node, f"{self.key}.{name}" if self.key else name, self.file)

    def mapping(self, allowed: frozenset[str]) -> dict[str, _Node]:
        if not isinstance(self.node, yaml.MappingNode):
            raise self.error("must be a mapping of keys to values")
        out: dict[str, _Node] = {}
        path = str(self.file.path)
        for key_node, value_node in self.node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(
                    "a key must be a plain name, not a list or mapping",
                    path,
                    line,
                    self.key or None,
                )
            name = key_node.value
            child = self.child(value_node, name)
            if name not in allowed:
                known = ", ".join(sorted(allowed))
                raise ConfigError("unknown key", path, line, child.key, f"known keys here: {known}")
            if name in out:
                raise ConfigError("key given twice", path, line, child.key)
            out[name] = child
        return out

    def is_null(self) -> bool:
        return isinstance(self.node, yaml.ScalarNode) and self.node.tag == _NULL_TAG

    def items(self) -> list[_Node]:
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.error("must be a list")
        return [_Node(n, f"{self.key}[{i}]", self.file) for i, n in enumerate(self.node.value)]

    def scalar(self) -> Any:
        if not isinstance(self.node, yaml.ScalarNode):
            raise self.error("must be a single value, not a list or mapping")
        try:
            return self.file.constructor.construct_object(self.node)
        # PyYAML's own constructors raise plain Python errors on some values: a date that is
        # no day (`2026-02-30`: ValueError), `!!int abc`, `!!bool maybe` (KeyError),
        # `!!timestamp x` (AttributeError)
        except (yaml.YAMLError, ValueError, KeyError, AttributeError) as e:
            raise self.error(
                f"cannot read this value ({getattr(e, 'problem', None) or e})"
            ) from None

    def string(self) -> str:
        value = self.scalar()
        if value is None or isinstance(value, bool | list | dict | bytes):
            raise self.error(f"must be text, not {value!r}")
        return str(value)

    def integer(self, minimum: int = 0, maximum: int | None = None) -> int:
        value = self.scalar()
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"must be a whole number, not {value!r}")
        if value < minimum:
            raise self.error(f"must be at least {minimum}, not {value}")
        if maximum is not None and value > maximum:
            raise self.error(f"must be at most {maximum}, not {value}")
        return value

    def expand(self, text: str) -> str:
        """`~` and `${ENV}` expanded; relative paths made absolute against the config's folder."""

        def env(match: re.Match[str]) -> str:
            name = match[1]
            if name not in os.environ:
                raise self.error(f"uses ${{{name}}} but that environment variable is not set")
            return os.environ[name]

        text = os.path.expanduser(_ENV_REF.sub(env, text))
        if not text.strip():  # else the config's folder: `outbox: ""` put mail beside it
            raise self.error(
                "is empty", "write a path; relative paths start at the config file's folder"
            )
        if control := next((c for c in text if ord(c) < 32 or ord(c) == 127), None):
            # a NUL ("a\x00b" in quotes) stopped `run` with "ValueError: embedded null byte"
            raise self.error(f"holds the control character U+{ord(control):04X}")
        if text.startswith(("http://", "https://")) or os.path.isabs(text):
            return text
        url = _OTHER_URL.match(text)
        if url:  # else `sqlite:///var/x` made a folder `sqlite:` beside the config and used it
            path = urlsplit(text).path
            hint = (
                f"write the path itself: {path}" if url[1].lower() in ("file", "sqlite") else None
            )
            raise self.error(
                f"{text!r} is a {url[1]}: URL; only http(s) and (for `state`) postgresql URLs "
                "are read, anything else is a path",
                hint or "write a path (relative paths start at the config file's folder)",
            )
        return os.path.normpath(str(self.base / text))


@dataclass
class _File:
    path: Path
    lines: dict[str, int]
    constructor: yaml.constructor.SafeConstructor = field(
        default_factory=yaml.constructor.SafeConstructor
    )


# --- checks: YAML node -> value, or a ConfigError at the node ------------------------------


def _text(node: _Node) -> str:
    return node.string()


def _whole(minimum: int = 0, maximum: int | None = None) -> Check:
    return lambda node: node.integer(minimum, maximum)


def _seconds(node: _Node) -> float:
    """A timeout: more than 0 and at most an hour."""
    value = node.scalar()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise node.error(f"must be a number of seconds, not {value!r}")
    if not 0 < value <= 3600:
        raise node.error(f"must be more than 0 and at most 3600 seconds, not {value}")
    return float(value)


def _flag(node: _Node) -> bool:
    value = node.scalar()
    if not isinstance(value, bool):
        raise node.error(f"must be true or false, not {value!r}")
    return value


def _one_of(*options: str) -> Check:
    def check(node: _Node) -> str:
        value = node.string()
        if value not in options:
            raise node.error(f"must be one of {' | '.join(options)}, not {value!r}")
        return value

    return check


def _path(node: _Node) -> Path:
    return Path(node.expand(node.string()))


def _existing_file(what: str) -> Check:
    def check(node: _Node) -> Path:
        path = _path(node)
        try:
            is_dir, is_file = path.is_dir(), path.is_file()
        except OSError as e:  # a name too long for the file system
            raise node.error(f"cannot use the {what} {path} ({e.strerror or e})") from None
        if is_dir:
            raise node.error(f"the {what} {path} is a folder, not a file")
        if not is_file:
            raise node.error(f"no such {what}: {path}")
        return path

    return check


def _ca_file(node: _Node) -> Path:
    """A private CA's certificate, PEM: another file (its key, a DER file) stopped every run
    with "the SMTP relay cannot be reached", the next run to send to the rest, which did
    the same."""
    path = _existing_file("CA file")(node)
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError) as e:
        raise node.error(
            f"{path} holds no certificate this machine can read ({e.strerror or e})",
            "the CA's certificate in PEM form: -----BEGIN CERTIFICATE----- ...",
        ) from None
    return path


def _one_line(node: _Node) -> str:
    value = " ".join(node.string().split())
    if not value or not value.isprintable():
        raise node.error("must be one line of text")
    return value


ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NOT_ENV_NAME = "must name an environment variable (letters, digits and _), not hold the secret"


def _env_name(node: _Node) -> str:
    """The name of the environment variable that holds a secret. What is no name may be the
    secret itself, written where its variable's name goes: it is not repeated in the error
    (which goes to a terminal, a log, a journal)."""
    name = node.string()
    if not ENV_NAME.fullmatch(name):
        raise node.error(
            NOT_ENV_NAME,
            "the secret itself never goes in the file: export it in a variable and name that",
        )
    return name


def _http_url(node: _Node) -> str:
    value = node.string().strip()
    if not is_web_url(value) or " " in value:
        raise node.error(f"must be an http(s) URL, not {value!r}")
    return value


def _article_url(node: _Node) -> str:
    value = _http_url(node)
    try:
        # each field whole, so `{title!x}` or `{title:>99999999999}` cannot fail when filled
        names = {
            f"{f}{'!' + c if c else ''}{':' + spec if spec else ''}"
            for _, f, spec, c in string.Formatter().parse(value)
            if f is not None
        }
    except ValueError as e:
        raise node.error(f"bad placeholder ({e})", "write {title}; a literal brace as {{") from None
    if names != {"title"}:
        raise node.error(
            "must hold {title} and no other placeholder",
            'e.g. "https://timesca.com/?s={title}" (the title is URL-encoded)',
        )
    return value


def _folder_url(what: str, example: str) -> Check:
    """An http(s) address of a folder of pages (ends in "/"): no query, fragment, space,
    quote or angle bracket, as it goes into links and headers."""

    def check(node: _Node) -> str:
        url = node.string().strip()
        if not is_web_url(url):
            raise node.error(f"must be {what}, not {url!r}", example)
        parts = urlsplit(url)
        if (
            parts.query
            or parts.fragment
            or any(c.isspace() or c in "\"'<>" or not c.isprintable() for c in url)
        ):
            raise node.error(f"must be {what}, not {url!r}", example)
        url = _as_browsers_write(url)
        if url is None:
            raise node.error(f"must be {what}, not {node.string().strip()!r}", example)
        return url if url.endswith("/") else url + "/"

    return check


def _as_browsers_write(url: str) -> str | None:
    """An http(s) URL with its origin as browsers send it (`digest serve` checks each form's
    Origin against it) and in ASCII for the List-Unsubscribe header: "https://Новости.рф:443"
    is "https://xn--b1amnebsh.xn--p1ai", a path's other letters percent-encoded ({token}
    kept); None for a host or port that cannot be one."""
    if not is_web_url(url):
        return None
    parts = urlsplit(url)
    host = domain_as_ascii(parts.hostname or "")
    try:
        given_port = parts.port
    except ValueError:  # not a number, or over 65535
        return None
    if not host:
        return None
    scheme = parts.scheme.lower()
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[scheme]
    port = f":{given_port}" if given_port not in (None, default) else ""
    path = quote(parts.path, safe="/%:@!$&'()*+,;=~{}")  # "/новости/": "/%D0%BD...%B8/"
    rest = "".join(  # an unsubscribe URL's query or fragment
        f"{mark}{quote(part, safe='/%:@!$&()*+,;=~{}?')}"
        for mark, part in (("?", parts.query), ("#", parts.fragment))
        if part
    )
    return f"{scheme}://{host}{port}{path}{rest}"


def _zone(node: _Node) -> str:
    zone = node.string()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
        raise node.error(
            f"unknown time zone {zone!r}", "use an IANA name such as Asia/Almaty or UTC"
        ) from None
    return zone


def _language(node: _Node) -> str:
    code = node.string().strip()
    if code not in languages():
        raise node.error(
            f"no catalogue for language {code!r}",
            f"one of {' | '.join(languages())}; a new one is a file in digest/i18n/",
        )
    return code


def _cron(node: _Node) -> str:
    expression = node.string()
    try:
        cron_expression(expression)
    except CronError as e:
        if e.never:
            raise node.error(
                f"the cron expression {expression!r} never fires",
                "check the day of month against the month (e.g. 31 in February)",
            ) from None
        raise node.error(
            f"bad cron expression {expression!r}: {e}",
            'five fields: minute hour day-of-month month day-of-week, e.g. "0 7 * * 1-5"',
        ) from None
    return expression


def _state(node: _Node) -> Path | str:
    """A SQLite file (relative to the config's folder), or a postgresql:// URL kept as given;
    a URL must not hold the password (that comes from `state_password_env`)."""
    text = node.string()
    if not text.startswith(("postgresql://", "postgres://")):
        path = _path(node)
        # os.path.isdir: False, not OSError, on a name too long (the state names that)
        if os.path.isdir(path):  # else every command said "<folder>: cannot read the state file"
            raise node.error(
                f"{path} is a folder, not a file",
                "name the state file in it: FOLDER/digest.sqlite3",
            )
        return path
    problem = url_problem(text)
    if problem == PASSWORD_IN_URL:
        raise node.error(
            f"{problem}: it must not be in the file",
            "remove it and name an environment variable in `state_password_env`",
        )
    if problem:
        raise node.error(problem)
    return text


def _address(node: _Node) -> str:
    value = node.string()
    if any(c in value for c in "\r\n"):
        raise node.error("must be one line")
    _, address = parseaddr(value)
    usable = normalize_address(address, host_only=True)
    if usable is None:
        if not address.rpartition("@")[0].isascii():
            raise node.error(f"the part before @ must be ASCII: {address!r}")
        raise node.error(f"not an email address: {value!r}")
    return value.replace(address, usable)


def _to(node: _Node) -> tuple[str, ...]:
    """One address (or a comma-separated list) or a list of them, each on one line."""
    entries = [node] if isinstance(node.node, yaml.ScalarNode) else node.items()
    values = []
    for entry in entries:
        value = entry.string()
        if any(c in value for c in "\r\n\x00"):
            raise entry.error(
                f"holds a line break: {value!r}",
                "one address (or a comma-separated list) on one line; a line break "
                "would let it add mail headers",
            )
        values.append(value)
    return tuple(values)


def _unsubscribe_url(node: _Node) -> str:
    url = node.string().strip()
    if "{token}" not in url or not url.startswith(("https://", "http://", "mailto:")):
        raise node.error("must be an http(s) or mailto URL holding {token}")
    if url.startswith("mailto:"):
        return url
    # as web.url: ASCII, or the List-Unsubscribe header goes out RFC 2047-encoded, no link
    web = _as_browsers_write(url)
    if web is None or "{token}" not in web:
        raise node.error("must be an http(s) or mailto URL holding {token}")
    return web


def _return_path(node: _Node) -> str:
    """`bounces+{token}@example.com`: the envelope sender, one per reader (VERP)."""
    value = node.string().strip()
    local = value.rpartition("@")[0]
    # an address as every other (text.normalize_address), a reader's token in place of {token}
    with_token = value.replace("{token}", "t" * VERP_LENGTH)
    usable = normalize_address(with_token)
    if usable is None or local.count("{token}") > 1 or "{token}" in value.rpartition("@")[2]:
        raise node.error(
            f"must be an address, optionally with {{token}} before the @, not {value!r}",
            'e.g. "bounces+{token}@example.com" (the mail server delivers bounces+... to bounces)',
        )
    if len(with_token.rpartition("@")[0]) > 64:  # RFC 5321: servers may refuse a longer one
        raise node.error(
            f"{local!r} is {len(with_token.rpartition('@')[0])} characters with a reader's "
            f"token ({VERP_LENGTH}), over the 64 mail servers take before the @",
            'shorten what stands beside {token}, e.g. "bounces+{token}@example.com"',
        )
    return f"{local}@{usable.rpartition('@')[2]}"


def _helo(node: _Node) -> str:
    helo = node.string().strip()
    if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f.:]+\]", helo):
        raise node.error(
            f"must be a host name (or [address]), not {helo!r}", "e.g. mail.example.com"
        )
    return helo


def _llm_url(node: _Node) -> str:
    url = node.string()
    if not is_web_url(url):
        raise node.error("must be an http(s) URL")
    return url


def _all_or(what: str, maximum: int | None = None) -> Check:
    """`all` (None), or a whole number of `what` from 1."""

    def check(node: _Node) -> int | None:
        value = node.scalar()
        if value == "all":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return node.integer(minimum=1, maximum=maximum)
        raise node.error(f"must be `all` or a number of {what}, not {value!r}")

    return check


def _patterns(node: _Node) -> tuple:
    patterns = []
    for item in node.items():
        try:
            patterns.append(pattern(item.string()))
        except ValueError as e:
            raise item.error(str(e)) from None
    return tuple(patterns)


def _sections(node: _Node) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Section name -> keywords, in the file's order."""
    if not isinstance(node.node, yaml.MappingNode):
        raise node.error("must map each section name to a list of keywords")
    sections: dict[str, tuple[str, ...]] = {}
    for key_node, value_node in node.node.value:
        if not isinstance(key_node, yaml.ScalarNode):  # its nodes' repr was the key named
            raise _Node(key_node, node.key, node.file).error(
                "a section's name must be text, not a list or mapping"
            )
        name = key_node.value.strip() if key_node.tag != _NULL_TAG else ""
        child = node.child(value_node, name or key_node.value)
        # each was taken as written: a second "Kazakhstan:" took the first's stories, and
        # an empty keyword (which the source rules refuse) left its section without a story
        if not name:
            raise child.error("a section's name must be text")
        if name in sections:
            raise child.error("section given twice")
        keywords = tuple(k.string() for k in child.items())
        if not keywords:
            raise child.error("lists no keyword")
        if not all(k.strip() for k in keywords):
            raise child.error("holds an empty keyword")
        sections[name] = keywords
    return tuple(sections.items())


# Source rules (digest/rules.py; their defaults are the Rules dataclass's), in the order they
# are checked: the first three also under `selection:`, all six under a source.
_RULE_CHECKS: dict[str, Check] = {
    "include": _patterns,
    "exclude": _patterns,
    "max_per_source": _whole(1, 1000),
    "section": _one_line,
    "lookback_days": _whole(1, 100_000),
    "full_text": _flag,
}


def rules_setting(*keys: str) -> Any:
    """A Rules field whose keys sit beside the section's own (`selection.include`)."""
    return field(default=NO_RULES, metadata={"rules": keys})


def _rules(keys: tuple[str, ...], fields: dict[str, _Node]) -> Rules:
    given = {k: _RULE_CHECKS[k](fields[k]) for k in keys if k in fields}
    return Rules(**given) if given else NO_RULES


def _section(cls: type, null_is_defaults: bool = False) -> Check:
    """A section read by its schema class; `null_is_defaults`: a bare `key:` is one with
    every default (else a null section is the field's default, None)."""

    def check(node: _Node) -> Any:
        return cls() if null_is_defaults and node.is_null() else _read(cls, node)

    check.schema = cls  # type: ignore[attr-defined]
    check.takes_null = null_is_defaults  # type: ignore[attr-defined]
    return check


# --- the schema ----------------------------------------------------------------------------

_SOURCE_KINDS = ("path", "feed", "folder")


@dataclass(frozen=True)
class SourceSpec:
    kind: str  # "glob" (page snapshots), "feed" (RSS/Atom, path or URL), "folder"
    value: str  # the resolved glob / path / URL
    # what readers see ("The Times of Central Asia"); feeds: their title
    name: str | None = setting(None, _one_line)
    link: str | None = setting(None, _http_url)  # the source's home page; feeds: their link
    # "https://.../search?q={title}": a link for pages without one
    article_url: str | None = setting(None, _article_url)
    rules: Rules = rules_setting(*_RULE_CHECKS)


@dataclass(frozen=True)
class SelectionConfig:
    max_articles: int = setting(12, _whole(1, 1000))
    lookback_days: int = setting(7, _whole(1, 100_000))
    # (name, keywords) in config order
    sections: tuple[tuple[str, tuple[str, ...]], ...] = setting((), _sections)
    rules: Rules = rules_setting("include", "exclude", "max_per_source")


@dataclass(frozen=True)
class FetchConfig:
    """Fetching over HTTP (digest/sources/fetch.py)."""

    concurrency: int = setting(32, _whole(1, 1000))  # URLs in flight at once
    per_host: int = setting(2, _whole(1, 16))  # requests to one host at once
    timeout: float = setting(20.0, _seconds)  # seconds for one URL in all
    max_bytes: int = setting(20_000_000, _whole(10_000, 1_000_000_000))  # larger: not read
    contact: str | None = setting(None, _one_line)  # a URL site owners can reach the editor at

    @property
    def user_agent(self) -> str:
        contact = f"; +{self.contact}" if self.contact else ""
        return f"digest/{__version__} (newsletter digest generator{contact})"


@dataclass(frozen=True)
class LlmConfig:
    base_url: str = setting(check=_llm_url)
    model: str = setting(check=_text)
    api_key_env: str | None = setting(None, _env_name)
    timeout: float = setting(20.0, _seconds)


@dataclass(frozen=True)
class SummaryConfig:
    max_words: int = setting(40, _whole(5))
    backend: str = setting("extractive", _one_of("extractive", "llm"))
    llm: LlmConfig | None = setting(None, _section(LlmConfig))


@dataclass(frozen=True)
class SmtpConfig:
    host: str = setting(check=_text)
    port: int = setting(587, _whole(1, 65535))
    security: str = setting("starttls", _one_of("starttls", "ssl", "none"))
    username: str | None = setting(None, _text)
    password_env: str | None = setting(None, _env_name)
    ca_file: Path | None = setting(None, _ca_file)
    max_per_minute: int = setting(600, _whole(1))
    timeout: float = setting(30.0, _seconds)
    retries: int = setting(3, _whole(0))
    connections: int = setting(1, _whole(1, 64))  # parallel connections to the relay
    helo: str | None = setting(None, _helo)  # the name given in EHLO; None: this machine's FQDN

    def password(self) -> str | None:
        """Read the password from the environment when SMTP is really used, not before.
        The error names the key; `Config.lines.locate` adds the file and line."""
        if not self.password_env:
            return None
        if self.password_env not in os.environ:
            raise ConfigError(
                f"environment variable {self.password_env} is not set",
                key="delivery.smtp.password_env",
                hint=f"export {self.password_env}=... (the password never goes in the file)",
            )
        return os.environ[self.password_env]


@dataclass(frozen=True)
class DkimConfig:
    domain: str = setting(check=_text)
    selector: str = setting(check=_text)
    key_file: Path = setting(check=_existing_file("key file"))


@dataclass(frozen=True)
class DeliveryConfig:
    from_addr: str = setting("Digest <digest@localhost>", _address, key="from")
    to: tuple[str, ...] = setting((), _to)
    recipients: Path | None = setting(None, _existing_file("recipients file"))  # email[,name]
    outbox: Path | None = setting(None, _path)  # None: var/outbox (paths.py), set by Config
    smtp: SmtpConfig | None = setting(None, _section(SmtpConfig))
    # with a {token} placeholder; None with `web:`: {web.url}unsubscribe/{token}, set by Config
    unsubscribe_url: str | None = setting(None, _unsubscribe_url)
    dkim: DkimConfig | None = setting(None, _section(DkimConfig))
    postal_address: str | None = setting(None, _one_line)  # the sender's, in the footer
    return_path: str | None = setting(None, _return_path)  # VERP "bounces+{token}@example.com"

    @property
    def return_path_per_reader(self) -> bool:
        """Each reader's mail has its own return path: a bounce names its reader exactly."""
        return "{token}" in (self.return_path or "")


@dataclass(frozen=True)
class ArchiveConfig:
    """`archive:`: the static site of delivered issues (see digest/archive.py)."""

    url: str | None = setting(  # public address of the folder, ending in "/"
        None,
        _folder_url(
            "the http(s) address of the archive folder", 'e.g. "https://news.example.com/archive/"'
        ),
    )
    # the newest N issues on the site; None: all
    keep: int | None = setting(None, _all_or("issues"))
    folder: Path | None = setting(None, _path)  # None: var/archive (paths.archive_folder)


@dataclass(frozen=True)
class WebConfig:
    """`web:`: the reader-facing site (`digest serve`, digest/web.py)."""

    url: str | None = setting(  # the public base URL, ending in "/"
        None,
        _folder_url(
            "the public http(s) address of the pages",
            'e.g. "https://news.example.com/" (behind a TLS proxy)',
        ),
    )
    secret_env: str | None = setting(None, _env_name)  # the variable holding the signing secret

    def signer(self):
        """The signer of links and forms (digest.tokens.Signer); None without `secret_env`."""
        if self.secret_env is None:
            return None
        return Signer.from_env(self.secret_env)


@dataclass(frozen=True)
class ImapConfig:
    host: str = setting(check=_text)
    user: str = setting(check=_text)
    password_env: str = setting(check=_env_name)
    port: int = setting(993, _whole(1, 65535))
    folder: str = setting("INBOX", _text)


@dataclass(frozen=True)
class BouncesConfig:
    """`bounces:`: the mailbox bounces and complaints arrive in (digest/bounces.py)."""

    maildir: Path | None = setting(None, _path)
    mbox: Path | None = setting(None, _path)
    imap: ImapConfig | None = setting(None, _section(ImapConfig))


@dataclass(frozen=True)
class LineMap:
    """The loader's line map: the file and the line of every key it read ("delivery.to[1]"),
    so a problem found after loading can still be named where it is written."""

    file: str = ""
    lines: dict[str, int] = field(default_factory=dict)

    def line(self, key: str) -> int | None:
        return self.lines.get(key)

    def locate(self, error: ConfigError) -> ConfigError:
        """`error` (about a key, raised without knowing the file, or its line) with its file
        and line."""
        if not error.key or not self.file or error.line:
            return error
        if error.path and Path(error.path).resolve() != Path(self.file).resolve():
            return error  # about another file (a DKIM key, a recipients list)
        return ConfigError(error.what, self.file, self.line(error.key), error.key, error.hint)


def _sources(node: _Node) -> tuple[SourceSpec, ...]:
    specs = tuple(_source(item) for item in node.items())
    if not specs:
        raise node.error("lists no source")
    return specs


_sources.schema = SourceSpec  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Config:
    path: Path  # the config file itself
    title: str = setting("Digest", _text)  # masthead and subject
    timezone: str = setting("UTC", _zone)
    sources: tuple[SourceSpec, ...] = setting(
        (), _sources, required="missing key `sources` (globs of page snapshots, or `feed:` entries)"
    )
    # a SQLite file, or a postgresql:// URL; None: var/digest.sqlite3 (paths.py)
    state: Path | str | None = setting(None, _state)
    state_password_env: str | None = setting(
        None, _env_name
    )  # env var with the PostgreSQL password
    # a sender's claim on a batch of readers lasts this long
    state_lease_seconds: int = setting(300, _whole(1, 86400))
    # each reader's delivery of an issue is kept this long, then only counted; None: kept
    state_deliveries_days: int | None = setting(90, _all_or("days", 36500))
    selection: SelectionConfig = setting(factory=SelectionConfig, check=_section(SelectionConfig))
    summary: SummaryConfig = setting(factory=SummaryConfig, check=_section(SummaryConfig))
    schedule: str = setting("0 7 * * 1-5", _cron)
    catch_up: str = setting("latest", _one_of("latest", "none"))
    skip_empty: bool = setting(True, _flag)
    delivery: DeliveryConfig = setting(factory=DeliveryConfig, check=_section(DeliveryConfig))
    # None: no archive is kept by `run`; `archive:` alone: one with the defaults
    archive: ArchiveConfig | None = setting(None, _section(ArchiveConfig, null_is_defaults=True))
    language: str = setting("en", _language)  # the digest's own words: a catalogue in i18n/
    # None: no reader-facing pages; links are the state tokens
    web: WebConfig | None = setting(None, _section(WebConfig))
    bounces: BouncesConfig | None = setting(None, _section(BouncesConfig))
    fetch: FetchConfig = setting(factory=FetchConfig, check=_section(FetchConfig))
    lines: LineMap = field(default_factory=LineMap, compare=False, repr=False)

    def __post_init__(self) -> None:
        """The defaults that depend on the file's folder or on other settings."""
        if self.state is None:
            object.__setattr__(self, "state", default_state(self.folder))
        delivery = self.delivery
        if delivery.outbox is None:
            delivery = dataclasses.replace(delivery, outbox=default_outbox(self.folder))
        web = self.web
        # the default link needs the pages (`digest serve`) and so the secret that signs them
        if web and web.url and web.secret_env and not delivery.unsubscribe_url:
            delivery = dataclasses.replace(
                delivery, unsubscribe_url=f"{web.url}unsubscribe/{{token}}"
            )
        object.__setattr__(self, "delivery", delivery)

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def project_root(self) -> Path:
        """Where the default `var/` lives (paths.py)."""
        return project_folder(self.folder)

    def archive_folder(self, out_dir: Path | None = None) -> Path:
        """--out, else `archive.folder`, else var/archive (paths.py)."""
        return archive_folder(self.folder, self.archive.folder if self.archive else None, out_dir)

    def preview_folder(self, out_dir: Path | None = None) -> Path:
        """--out, else var/preview (paths.py)."""
        return preview_folder(self.folder, out_dir)


# Checks across a section's keys, after its keys are read: (value, its keys' nodes, its node).


def _summary_rules(summary: SummaryConfig, fields: dict[str, _Node], node: _Node) -> None:
    if summary.backend == "llm" and summary.llm is None:
        raise fields["backend"].error(
            "backend `llm` needs a `summary.llm` block (base_url, model, api_key_env)"
        )


def _smtp_rules(smtp: SmtpConfig, fields: dict[str, _Node], node: _Node) -> None:
    if smtp.username and not smtp.password_env:
        raise fields["username"].error(
            "a username needs `password_env`: the name of the "
            "environment variable holding the password"
        )
    if smtp.username and smtp.security == "none" and not _loopback(smtp.host):
        raise fields["security"].error(
            "`none` would send the password in clear text over the network",
            "use starttls or ssl (none is only allowed with a relay on this machine)",
        )


def _loopback(host: str) -> bool:
    """A host on this machine: localhost, or a loopback address (127.0.0.0/8, ::1)."""
    try:
        return host.lower() == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bounces_rules(bounces: BouncesConfig, fields: dict[str, _Node], node: _Node) -> None:
    if len(fields) != 1:
        raise node.error("name one mailbox: `maildir: PATH`, `mbox: PATH` or `imap: {...}`")


_SECTION_RULES: dict[type, Callable[[Any, dict[str, _Node], _Node], None]] = {
    SummaryConfig: _summary_rules,
    SmtpConfig: _smtp_rules,
    BouncesConfig: _bounces_rules,
}


# --- the generic reader --------------------------------------------------------------------


@cache
def _keys(cls: type) -> frozenset[str]:
    """The keys a section of this schema class may hold."""
    keys: set[str] = set(_SOURCE_KINDS) if cls is SourceSpec else set()
    for f in dataclasses.fields(cls):
        if "rules" in f.metadata:
            keys.update(f.metadata["rules"])
        elif f.metadata.get("check"):
            keys.add(f.metadata["key"] or f.name)
    return frozenset(keys)


def _read(cls: type, node: _Node, fields: dict[str, _Node] | None = None, **given: Any) -> Any:
    """A section: each field of `cls` from its key, checked; absent keys keep the default."""
    if fields is None:
        fields = node.mapping(_keys(cls))
    values = dict(given)
    for f in dataclasses.fields(cls):
        if "rules" in f.metadata:
            values[f.name] = _rules(f.metadata["rules"], fields)
            continue
        check = f.metadata.get("check")
        if check is None:
            continue
        name = f.metadata["key"] or f.name
        child = fields.get(name)
        if child is None:
            if f.metadata["required"] or (f.default is MISSING and f.default_factory is MISSING):
                raise node.error(f.metadata["required"] or f"missing key `{name}`")
        elif getattr(check, "takes_null", False) or not (f.default is None and child.is_null()):
            values[f.name] = check(child)
    value = cls(**values)
    if cls in _SECTION_RULES:
        _SECTION_RULES[cls](value, fields, node)
    return value


def _source(item: _Node) -> SourceSpec:
    if not isinstance(item.node, yaml.MappingNode):
        pattern = item.expand(_source_text(item))
        _check_glob(item, pattern)
        return SourceSpec("glob", pattern)
    fields = item.mapping(_keys(SourceSpec))
    kinds = [k for k in _SOURCE_KINDS if k in fields]
    if len(kinds) != 1:
        raise item.error("give exactly one of `path:`, `feed:` or `folder:`")
    kind = kinds[0]
    node = fields[kind]
    value = node.expand(_source_text(node))
    web = value.startswith(("http://", "https://"))  # its "?" is a query, not a pattern's
    if kind == "path":
        _check_glob(node, value)
    elif kind == "feed" and not web and globmod.has_magic(value) and not os.path.exists(value):
        raise node.error(  # was "no such feed file: .../feeds/*.xml"
            f"a feed is one file or address, not a pattern: {value}",
            "name several files with `path:` (a pattern) or `folder:`",
        )
    elif kind == "folder" or not web:
        problem = _path_problem(value, want_folder=kind == "folder")
        if problem:
            raise node.error(problem[0], problem[1])
    item.file.lines[item.key] = node.line  # a source is where its path, feed or folder is
    return _read(SourceSpec, item, fields, kind="glob" if kind == "path" else kind, value=value)


def _source_text(node: _Node) -> str:
    """A source's path, glob or URL as written; empty is an error, not the config's folder
    (an empty `path:` read the config's folder, found no page and ended the run)."""
    text = node.string()
    if not text.strip():
        raise node.error(
            "is empty",
            'name page snapshots ("../pages/*.txt"), a feed, or the config\'s own folder as "."',
        )
    return text


def _check_glob(node: _Node, pattern: str) -> None:
    if pattern.startswith(("http://", "https://")):  # was "pattern matches no file: https://..."
        raise node.error(
            f"{pattern} is a web address, not a pattern of files",
            "a feed's address goes under `feed:`, e.g. `- feed: https://example.com/rss.xml`",
        )
    if not globmod.glob(pattern, recursive=True):
        problem = _glob_problem(pattern)
        raise node.error(
            problem or f"pattern matches no file: {pattern}",
            "check the path; relative paths start at the config file's folder",
        )


def _path_problem(value: str, want_folder: bool) -> tuple[str, str | None] | None:
    """What is really wrong with a `folder:` or a local `feed:` path, or None."""
    what = "folder" if want_folder else "feed file"
    if not os.path.exists(value):
        parent = _unreadable_ancestor(value)
        if parent:
            return f"cannot read the folder {parent} (permission denied)", None
        return f"no such {what}: {value}", None
    if want_folder and not os.path.isdir(value):
        return f"is a file, not a folder: {value}", "name one file as a plain path or `feed:`"
    if not want_folder and os.path.isdir(value):
        return f"is a folder, not a feed file: {value}", "name a folder with `folder:`"
    try:
        if want_folder:
            os.listdir(value)
        else:
            with open(value, "rb"):
                pass
    except OSError as e:
        return f"cannot read the {what} {value} ({e.strerror or e})", None
    return None


def _unreadable_ancestor(path: str) -> str | None:
    """The nearest existing folder above `path` that cannot be listed, if that is why
    `path` seems not to exist."""
    parent = os.path.dirname(os.path.abspath(path))
    while parent and not os.path.isdir(parent):
        up = os.path.dirname(parent)
        if up == parent:
            return None
        parent = up
    try:
        os.listdir(parent)
    except PermissionError:
        return parent
    except OSError:
        return None
    return None


def _glob_problem(pattern: str) -> str | None:
    """Why a glob matches nothing, when it is an unreadable folder rather than no file."""
    fixed = []
    for part in Path(pattern).parts:
        if globmod.has_magic(part):
            break
        fixed.append(part)
    prefix = str(Path(*fixed)) if fixed else "."
    if os.path.isdir(prefix):
        try:
            os.listdir(prefix)
        except OSError as e:
            return f"cannot read the folder {prefix} ({e.strerror or e}): {pattern}"
        return None
    parent = _unreadable_ancestor(prefix)
    if parent:
        return f"cannot read the folder {parent} (permission denied): {pattern}"
    return None


# --- the schema as data: every key, its default and its check -------------------------------


def settings(cls: type = Config, prefix: str = "") -> Iterator[tuple[str, Any, Check | None]]:
    """Every key the file may hold, dotted ("delivery.smtp.port"; "sources.name" for a key of
    an entry of `sources:`), with its default (MISSING when it must be given) and its check;
    a section's own entry comes before its keys'."""
    if cls is SourceSpec:
        for kind in _SOURCE_KINDS:
            yield f"{prefix}.{kind}", MISSING, None
    for f in dataclasses.fields(cls):
        if "rules" in f.metadata:
            defaults = {r.name: r.default for r in dataclasses.fields(Rules)}
            for key in f.metadata["rules"]:
                yield f"{prefix}.{key}".lstrip("."), defaults[key], _RULE_CHECKS[key]
            continue
        if not f.metadata.get("check"):
            continue
        dotted = f"{prefix}.{f.metadata['key'] or f.name}".lstrip(".")
        if f.metadata["required"]:
            default = MISSING
        else:
            default = f.default_factory() if f.default_factory is not MISSING else f.default
        yield dotted, default, f.metadata["check"]
        section = getattr(f.metadata["check"], "schema", None)
        if section is not None:
            yield from settings(section, dotted)


def read_value(check: Check, text: str, file: Path) -> Any:
    """What `check` reads from `text` (one YAML value) written in the config file `file`."""
    return check(_Node(yaml.compose(text), "", _File(file, {})))


def _key_table() -> dict[str, frozenset[str]]:
    """Keys by the section they sit in ("" the top level, "sources[]" an entry of `sources:`)."""
    table: dict[str, set[str]] = {"": set()}
    for dotted, _, _ in settings():
        parent, _, key = dotted.rpartition(".")
        parent = "sources[]" if parent == "sources" else parent
        table.setdefault(parent, set()).add(key)
        table.setdefault(dotted if dotted != "sources" else "sources[]", set())
    return {k: frozenset(v) for k, v in table.items() if v}


KEYS: dict[str, frozenset[str]] = _key_table()


# --- loading -------------------------------------------------------------------------------


def _compose(text: str) -> yaml.Node | None:
    """The YAML's nodes, by libyaml when PyYAML has it (25x faster); a file it refuses is
    composed again in Python, whose messages say more ("expected ',' or ']', but got ':'")."""
    try:
        return yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return yaml.compose(text, Loader=yaml.SafeLoader)


def load_config(path: str | os.PathLike[str] = DEFAULT_CONFIG) -> Config:
    """Read and validate a config file. Raises ConfigError naming file, line and key."""
    path = Path(path)
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:  # saved as Windows-1252 ("ANSI"), or UTF-16
        raise ConfigError(
            f"not UTF-8 text (byte 0x{data[e.start]:02x})",
            str(path),
            data.count(b"\n", 0, e.start) + 1,
            hint="save the file as UTF-8",
        ) from None
    except FileNotFoundError:
        raise ConfigError(
            "no such configuration file",
            str(path),
            hint="pass --config PATH, or run from the project folder that holds config/digest.yaml",
        ) from None
    except OSError as e:
        raise ConfigError(f"cannot read the configuration file ({e})", str(path)) from None
    try:
        root = _compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(e, "problem", None) or str(e)
        if isinstance(e, yaml.reader.ReaderError):  # a control character: no mark, a position
            line = text.count("\n", 0, e.position) + 1
            problem = f"the control character U+{e.character:04X} is not allowed"
        raise ConfigError(f"not valid YAML: {problem}", str(path), line) from None
    except RecursionError:  # Python's composer, on what libyaml refused or where it is absent
        raise ConfigError("not valid YAML: nested too deeply", str(path)) from None
    if root is None:
        raise ConfigError(
            "the configuration file is empty",
            str(path),
            hint="start from the shipped config/digest.yaml",
        )
    file = _File(path.resolve(), {})
    lines = LineMap(str(file.path), file.lines)
    return _read(Config, _Node(root, "", file), path=file.path, lines=lines)
