"""Loading and validating the YAML configuration into frozen dataclasses.

Every error names the file, the line and the key. Relative paths resolve against the
config file's folder; `~` and `${ENV}` expand in paths. Secrets are never read from the
file: `password_env` names the environment variable that holds the SMTP password.
"""

from __future__ import annotations

import glob as globmod
import os
import re
import string
from dataclasses import dataclass, field, replace
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from . import __version__
from .cron import CronError, cron_expression
from .errors import ConfigError
from .i18n import languages
from .paths import default_outbox, default_state, project_folder
from .rules import NO_RULES, Rules, pattern
from .text import is_web_url, normalize_address
from .tokens import Signer

DEFAULT_CONFIG = Path("config/digest.yaml")

# Every key the loader accepts, by where it goes ("" is the top level, "sources[]" an entry
# of `sources:` written as a mapping). Data, so a test can check each one is documented in
# the shipped config/digest.yaml.
KEYS: dict[str, frozenset[str]] = {
    "": frozenset(
        {
            "title",
            "timezone",
            "sources",
            "state",
            "state_password_env",
            "state_lease_seconds",
            "selection",
            "summary",
            "schedule",
            "catch_up",
            "skip_empty",
            "delivery",
            "archive",
            "language",
            "web",
            "bounces",
            "fetch",
        }
    ),
    "sources[]": frozenset(
        {"feed", "folder", "path", "name", "link", "article_url"}
        | {"full_text", "include", "exclude", "max_per_source", "section", "lookback_days"}
    ),
    "selection": frozenset(
        {"max_articles", "lookback_days", "sections", "include", "exclude", "max_per_source"}
    ),
    "fetch": frozenset({"concurrency", "per_host", "timeout", "max_bytes", "contact"}),
    "summary": frozenset({"max_words", "backend", "llm"}),
    "summary.llm": frozenset({"base_url", "model", "api_key_env", "timeout"}),
    "delivery": frozenset(
        {"from", "to", "recipients", "outbox", "smtp", "unsubscribe_url", "dkim", "postal_address"}
        | {"return_path"}
    ),
    "delivery.smtp": frozenset(
        {
            "host",
            "port",
            "security",
            "username",
            "password_env",
            "ca_file",
            "max_per_minute",
            "timeout",
            "retries",
            "connections",
            "helo",
        }
    ),
    "delivery.dkim": frozenset({"domain", "selector", "key_file"}),
    "archive": frozenset({"url", "keep", "folder"}),
    "web": frozenset({"url", "secret_env"}),
    "bounces": frozenset({"maildir", "mbox", "imap"}),
    "bounces.imap": frozenset({"host", "port", "user", "password_env", "folder"}),
}


@dataclass(frozen=True)
class SourceSpec:
    kind: str  # "glob" (page snapshots), "feed" (RSS/Atom, path or URL), "folder"
    value: str  # the resolved glob / path / URL
    line: int | None = None  # where the config names it
    name: str | None = None  # what readers see ("The Times of Central Asia"); feeds: their title
    link: str | None = None  # the source's home page; feeds: their channel link
    article_url: str | None = None  # "https://.../search?q={title}": a link for pages without
    rules: Rules = NO_RULES  # include/exclude, max_per_source, section, lookback_days, full_text


@dataclass(frozen=True)
class SelectionConfig:
    max_articles: int = 12
    lookback_days: int = 7
    sections: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (name, keywords) in config order
    rules: Rules = NO_RULES  # global include / exclude / max_per_source


@dataclass(frozen=True)
class FetchConfig:
    """Fetching over HTTP (digest/sources/fetch.py)."""

    concurrency: int = 32  # URLs in flight at once
    per_host: int = 2  # requests to one host at once
    timeout: float = 20.0  # seconds for one URL in all, whatever the server does
    max_bytes: int = 20_000_000  # a feed or page larger than this is not read
    contact: str | None = None  # a URL site owners can reach the editor at (User-Agent)

    @property
    def user_agent(self) -> str:
        contact = f"; +{self.contact}" if self.contact else ""
        return f"digest/{__version__} (newsletter digest generator{contact})"


@dataclass(frozen=True)
class LlmConfig:
    base_url: str
    model: str
    api_key_env: str | None = None
    timeout: float = 20.0


@dataclass(frozen=True)
class SummaryConfig:
    max_words: int = 40
    backend: str = "extractive"  # extractive | llm
    llm: LlmConfig | None = None


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    security: str = "starttls"  # starttls | ssl | none
    username: str | None = None
    password_env: str | None = None
    ca_file: Path | None = None
    max_per_minute: int = 600
    timeout: float = 30.0
    retries: int = 3
    connections: int = 1  # parallel connections to the relay, 1..64
    helo: str | None = None  # the name given in EHLO; None: this machine's FQDN
    where: tuple[str, int | None] = ("", None)  # config file and line of password_env

    def password(self) -> str | None:
        """Read the password from the environment when SMTP is really used, not before."""
        if not self.password_env:
            return None
        if self.password_env not in os.environ:
            raise ConfigError(
                f"environment variable {self.password_env} is not set",
                self.where[0],
                self.where[1],
                "delivery.smtp.password_env",
                f"export {self.password_env}=... (the password never goes in the file)",
            )
        return os.environ[self.password_env]


@dataclass(frozen=True)
class DkimConfig:
    domain: str
    selector: str
    key_file: Path


@dataclass(frozen=True)
class DeliveryConfig:
    from_addr: str = "Digest <digest@localhost>"
    to: tuple[str, ...] = ()
    to_lines: tuple[int | None, ...] = ()  # the config line of each `to` entry
    config_file: str = ""  # the config file, so recipient problems can name it
    recipients: Path | None = None  # CSV: email[,name]
    outbox: Path = Path("var/outbox")
    smtp: SmtpConfig | None = None
    unsubscribe_url: str | None = None  # with a {token} placeholder
    dkim: DkimConfig | None = None
    postal_address: str | None = None  # the sender's, in the footer (expected in bulk mail)
    return_path: str | None = None  # VERP envelope sender "bounces+{token}@example.com"


@dataclass(frozen=True)
class ArchiveConfig:
    """`archive:`: the static site of delivered issues (see digest/archive.py)."""

    url: str | None = None  # public address of the folder, ending in "/"
    keep: int | None = None  # the newest N issues on the site; None: all
    folder: Path | None = None  # None: var/archive beside the other var/ folders


@dataclass(frozen=True)
class WebConfig:
    """`web:`: the reader-facing site (`digest serve`, digest/web.py)."""

    url: str | None = None  # the public base URL, ending in "/"
    secret_env: str | None = None  # the environment variable holding the signing secret

    def signer(self):
        """The signer of links and forms (digest.tokens.Signer); None without `secret_env`."""
        if self.secret_env is None:
            return None
        return Signer.from_env(self.secret_env)


@dataclass(frozen=True)
class ImapConfig:
    host: str
    user: str
    password_env: str
    port: int = 993
    folder: str = "INBOX"


@dataclass(frozen=True)
class BouncesConfig:
    """`bounces:`: the mailbox bounces and complaints arrive in (digest/bounces.py)."""

    maildir: Path | None = None
    mbox: Path | None = None
    imap: ImapConfig | None = None


@dataclass(frozen=True)
class Config:
    path: Path  # the config file itself
    title: str = "Digest"
    timezone: str = "UTC"
    sources: tuple[SourceSpec, ...] = ()
    state: Path | str = Path("var/digest.sqlite3")  # a SQLite file, or a postgresql:// URL
    state_password_env: str | None = None  # env var with the PostgreSQL password
    state_lease_seconds: int = 300  # a sender's claim on a batch of readers lasts this long
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    summary: SummaryConfig = field(default_factory=SummaryConfig)
    schedule: str = "0 7 * * 1-5"
    catch_up: str = "latest"  # latest | none
    skip_empty: bool = True
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    archive: ArchiveConfig | None = None  # None: no archive is kept by `run`
    language: str = "en"  # the digest's own words and dates: a catalogue in digest/i18n/
    web: WebConfig | None = None  # None: no reader-facing pages; links are the state tokens
    bounces: BouncesConfig | None = None
    fetch: FetchConfig = field(default_factory=FetchConfig)

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


# --- loading -------------------------------------------------------------------------------

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Node:
    """A YAML value with the line it starts on, so every error can point at it."""

    def __init__(self, node: yaml.Node, path: Path, key: str):
        self.node, self.path, self.key = node, path, key
        self.line = node.start_mark.line + 1

    def error(self, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(message, str(self.path), self.line, self.key, hint)

    def mapping(self, allowed: set[str] | frozenset[str]) -> dict[str, _Node]:
        if not isinstance(self.node, yaml.MappingNode):
            raise self.error("must be a mapping of keys to values")
        out: dict[str, _Node] = {}
        for key_node, value_node in self.node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(
                    "a key must be a plain name, not a list or mapping",
                    str(self.path),
                    key_node.start_mark.line + 1,
                    self.key or None,
                )
            name = key_node.value
            child = _Node(value_node, self.path, f"{self.key}.{name}" if self.key else name)
            if name not in allowed:
                known = ", ".join(sorted(allowed))
                raise ConfigError(
                    "unknown key",
                    str(self.path),
                    key_node.start_mark.line + 1,
                    child.key,
                    f"known keys here: {known}",
                )
            if name in out:
                raise ConfigError(
                    "key given twice", str(self.path), key_node.start_mark.line + 1, child.key
                )
            out[name] = child
        return out

    def is_null(self) -> bool:
        return isinstance(self.node, yaml.ScalarNode) and self.scalar() is None

    def items(self) -> list[_Node]:
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.error("must be a list")
        return [_Node(n, self.path, f"{self.key}[{i}]") for i, n in enumerate(self.node.value)]

    def scalar(self) -> Any:
        if not isinstance(self.node, yaml.ScalarNode):
            raise self.error("must be a single value, not a list or mapping")
        try:
            return yaml.safe_load(yaml.serialize(self.node))
        except yaml.YAMLError as e:
            raise self.error(
                f"cannot read this value ({getattr(e, 'problem', None) or e})"
            ) from None

    def string(self) -> str:
        value = self.scalar()
        if value is None or isinstance(value, bool | list | dict | bytes):
            raise self.error(f"must be text, not {value!r}")
        return str(value)

    def optional_string(self) -> str | None:
        return None if self.scalar() is None else self.string()

    def integer(self, minimum: int = 0, maximum: int | None = None) -> int:
        value = self.scalar()
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"must be a whole number, not {value!r}")
        if value < minimum:
            raise self.error(f"must be at least {minimum}, not {value}")
        if maximum is not None and value > maximum:
            raise self.error(f"must be at most {maximum}, not {value}")
        return value

    def seconds(self) -> float:
        """A timeout: more than 0 and at most an hour."""
        value = self.scalar()
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(f"must be a number of seconds, not {value!r}")
        if not 0 < value <= 3600:
            raise self.error(f"must be more than 0 and at most 3600 seconds, not {value}")
        return float(value)

    def boolean(self) -> bool:
        value = self.scalar()
        if not isinstance(value, bool):
            raise self.error(f"must be true or false, not {value!r}")
        return value

    def choice(self, options: tuple[str, ...]) -> str:
        value = self.string()
        if value not in options:
            raise self.error(f"must be one of {' | '.join(options)}, not {value!r}")
        return value

    def path_value(self, base: Path) -> Path:
        return Path(self.expand(self.string(), base))

    def expand(self, text: str, base: Path) -> str:
        """`~` and `${ENV}` expanded; relative paths made absolute against the config's folder."""

        def env(match: re.Match[str]) -> str:
            name = match[1]
            if name not in os.environ:
                raise self.error(f"uses ${{{name}}} but that environment variable is not set")
            return os.environ[name]

        text = os.path.expanduser(_ENV_REF.sub(env, text))
        if text.startswith(("http://", "https://")) or os.path.isabs(text):
            return text
        return os.path.normpath(str(base / text))


def load_config(path: str | os.PathLike[str] = DEFAULT_CONFIG) -> Config:
    """Read and validate a config file. Raises ConfigError naming file, line and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            "no such configuration file",
            str(path),
            hint="pass --config PATH, or run from the project folder that holds config/digest.yaml",
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the configuration file ({e})", str(path)) from None
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"not valid YAML: {problem}", str(path), line) from None
    if root is None:
        raise ConfigError(
            "the configuration file is empty",
            str(path),
            hint="start from the shipped config/digest.yaml",
        )
    return _build(_Node(root, path.resolve(), ""))


def _build(root: _Node) -> Config:
    base = root.path.parent
    top = root.mapping(KEYS[""])
    kwargs: dict[str, Any] = {"path": root.path}
    if "title" in top:
        kwargs["title"] = top["title"].string()
    if "timezone" in top:
        zone = top["timezone"].string()
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise top["timezone"].error(
                f"unknown time zone {zone!r}", "use an IANA name such as Asia/Almaty or UTC"
            ) from None
        kwargs["timezone"] = zone
    if "sources" not in top:
        raise root.error("missing key `sources` (globs of page snapshots, or `feed:` entries)")
    kwargs["sources"] = tuple(_source(item, base) for item in top["sources"].items())
    if not kwargs["sources"]:
        raise top["sources"].error("lists no source")
    if "state" in top:
        kwargs["state"] = _state(top["state"], base)
    else:
        kwargs["state"] = default_state(base)
    if "state_password_env" in top:
        kwargs["state_password_env"] = top["state_password_env"].string()
    if "state_lease_seconds" in top:
        kwargs["state_lease_seconds"] = top["state_lease_seconds"].integer(1, 86400)
    if "selection" in top:
        kwargs["selection"] = _selection(top["selection"])
    if "summary" in top:
        kwargs["summary"] = _summary(top["summary"])
    if "schedule" in top:
        kwargs["schedule"] = _schedule(top["schedule"], kwargs.get("timezone", "UTC"))
    if "catch_up" in top:
        kwargs["catch_up"] = top["catch_up"].choice(("latest", "none"))
    if "skip_empty" in top:
        kwargs["skip_empty"] = top["skip_empty"].boolean()
    kwargs["delivery"] = (
        _delivery(top["delivery"], base)
        if "delivery" in top
        else DeliveryConfig(
            outbox=default_outbox(base),
            config_file=str(root.path),
        )
    )
    if "archive" in top:
        kwargs["archive"] = _archive(top["archive"], base)
    if "language" in top:
        kwargs["language"] = _language(top["language"])
    if "web" in top:
        kwargs["web"] = _web(top["web"])
        web = kwargs["web"]
        # the default link needs the pages (`digest serve`) and so the secret that signs them
        if web.url and web.secret_env and not kwargs["delivery"].unsubscribe_url:
            kwargs["delivery"] = replace(
                kwargs["delivery"], unsubscribe_url=f"{kwargs['web'].url}unsubscribe/{{token}}"
            )
    if "bounces" in top:
        kwargs["bounces"] = _bounces(top["bounces"], base)
    if "fetch" in top:
        kwargs["fetch"] = _fetch(top["fetch"])
    return Config(**kwargs)


def _language(node: _Node) -> str:
    code = node.string().strip()
    if code not in languages():
        raise node.error(
            f"no catalogue for language {code!r}",
            f"one of {' | '.join(languages())}; a new one is a file in digest/i18n/",
        )
    return code


def _fetch(node: _Node) -> FetchConfig:
    fields = node.mapping(KEYS["fetch"])
    kwargs: dict[str, Any] = {}
    if "concurrency" in fields:
        kwargs["concurrency"] = fields["concurrency"].integer(1, 1000)
    if "per_host" in fields:
        kwargs["per_host"] = fields["per_host"].integer(1, 16)
    if "timeout" in fields:
        kwargs["timeout"] = fields["timeout"].seconds()
    if "max_bytes" in fields:
        kwargs["max_bytes"] = fields["max_bytes"].integer(10_000, 1_000_000_000)
    if "contact" in fields:
        kwargs["contact"] = _one_line(fields["contact"])
    return FetchConfig(**kwargs)


def _rules(fields: dict[str, _Node], per_source: bool) -> Rules:
    """The source rules among a source's (or `selection:`'s) keys (digest/rules.py)."""
    kwargs: dict[str, Any] = {}
    for key in ("include", "exclude"):
        if key in fields:
            patterns = []
            for item in fields[key].items():
                try:
                    patterns.append(pattern(item.string()))
                except ValueError as e:
                    raise item.error(str(e)) from None
            kwargs[key] = tuple(patterns)
    if "max_per_source" in fields:
        kwargs["max_per_source"] = fields["max_per_source"].integer(1, 1000)
    if per_source:
        if "section" in fields:
            kwargs["section"] = _one_line(fields["section"])
        if "lookback_days" in fields:
            kwargs["lookback_days"] = fields["lookback_days"].integer(1, 100_000)
        if "full_text" in fields:
            kwargs["full_text"] = fields["full_text"].boolean()
    return Rules(**kwargs) if kwargs else NO_RULES


def _web(node: _Node) -> WebConfig:
    fields = node.mapping(KEYS["web"])
    secret_env = None
    if "secret_env" in fields:
        secret_env = fields["secret_env"].string()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", secret_env):
            raise fields["secret_env"].error(
                f"must name an environment variable, not {secret_env!r}",
                "the secret itself never goes in the file",
            )
    if "url" not in fields or fields["url"].is_null():
        return WebConfig(secret_env=secret_env)
    url = _folder_url(
        fields["url"],
        "the public http(s) address of the pages",
        'e.g. "https://news.example.com/" (behind a TLS proxy)',
    )
    return WebConfig(url, secret_env)


def _folder_url(node: _Node, what: str, example: str) -> str:
    """An http(s) address of a folder of pages (ends in "/"): no query, fragment, space,
    quote or angle bracket, as it goes into links and headers."""
    url = node.string().strip()
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or any(c.isspace() or c in "\"'<>" or not c.isprintable() for c in url)
    ):
        raise node.error(f"must be {what}, not {url!r}", example)
    return url if url.endswith("/") else url + "/"


def _bounces(node: _Node, base: Path) -> BouncesConfig:
    fields = node.mapping(KEYS["bounces"])
    if len(fields) != 1:
        raise node.error("name one mailbox: `maildir: PATH`, `mbox: PATH` or `imap: {...}`")
    if "maildir" in fields:
        return BouncesConfig(maildir=fields["maildir"].path_value(base))
    if "mbox" in fields:
        return BouncesConfig(mbox=fields["mbox"].path_value(base))
    imap = fields["imap"].mapping(KEYS["bounces.imap"])
    for required in ("host", "user", "password_env"):
        if required not in imap:
            raise fields["imap"].error(f"missing key `{required}`")
    kwargs: dict[str, Any] = {k: imap[k].string() for k in ("host", "user", "password_env")}
    if "port" in imap:
        kwargs["port"] = imap["port"].integer(1, 65535)
    if "folder" in imap:
        kwargs["folder"] = imap["folder"].string()
    return BouncesConfig(imap=ImapConfig(**kwargs))


def _state(node: _Node, base: Path) -> Path | str:
    """A SQLite file (relative to the config's folder), or a postgresql:// URL kept as given;
    a URL must not hold the password (that comes from `state_password_env`)."""
    text = node.string()
    if not text.startswith(("postgresql://", "postgres://")):
        return node.path_value(base)

    try:
        url = urlsplit(text)
        url.port  # noqa: B018 (a bad port raises here)
    except ValueError as e:
        raise node.error(f"not a usable PostgreSQL URL ({e})") from None
    if url.password is not None:
        raise node.error(
            "the URL holds a password: it must not be in the file",
            "remove it and name an environment variable in `state_password_env`",
        )
    return text


def _source(item: _Node, base: Path) -> SourceSpec:
    if isinstance(item.node, yaml.MappingNode):
        fields = item.mapping(KEYS["sources[]"])
        kinds = [k for k in ("path", "feed", "folder") if k in fields]
        if len(kinds) != 1:
            raise item.error("give exactly one of `path:`, `feed:` or `folder:`")
        kind = kinds[0]
        node = fields[kind]
        value = node.expand(node.string(), base)
        if kind == "path":
            _check_glob(node, value)
        elif kind == "folder" or not value.startswith(("http://", "https://")):
            problem = _path_problem(value, want_folder=kind == "folder")
            if problem:
                raise node.error(problem[0], problem[1])
        name = _one_line(fields["name"]) if "name" in fields else None
        link = _http_url(fields["link"]) if "link" in fields else None
        article_url = _article_url(fields["article_url"]) if "article_url" in fields else None
        return SourceSpec(
            "glob" if kind == "path" else kind,
            value,
            node.line,
            name,
            link,
            article_url,
            _rules(fields, per_source=True),
        )
    pattern = item.expand(item.string(), base)
    _check_glob(item, pattern)
    return SourceSpec("glob", pattern, item.line)


def _check_glob(node: _Node, pattern: str) -> None:
    if not globmod.glob(pattern, recursive=True):
        problem = _glob_problem(pattern)
        raise node.error(
            problem or f"pattern matches no file: {pattern}",
            "check the path; relative paths start at the config file's folder",
        )


def _one_line(node: _Node) -> str:
    value = " ".join(node.string().split())
    if not value or not value.isprintable():
        raise node.error("must be one line of text")
    return value


def _http_url(node: _Node) -> str:
    value = node.string().strip()
    if not is_web_url(value) or " " in value:
        raise node.error(f"must be an http(s) URL, not {value!r}")
    return value


def _article_url(node: _Node) -> str:
    value = _http_url(node)
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
    except ValueError as e:
        raise node.error(f"bad placeholder ({e})", "write {title}; a literal brace as {{") from None
    if names != {"title"}:
        raise node.error(
            "must hold {title} and no other placeholder",
            'e.g. "https://timesca.com/?s={title}" (the title is URL-encoded)',
        )
    return value


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


def _selection(node: _Node) -> SelectionConfig:
    fields = node.mapping(KEYS["selection"])
    kwargs: dict[str, Any] = {}
    if "max_articles" in fields:
        kwargs["max_articles"] = fields["max_articles"].integer(minimum=1, maximum=1000)
    if "lookback_days" in fields:
        kwargs["lookback_days"] = fields["lookback_days"].integer(minimum=1, maximum=100_000)
    if "sections" in fields:
        sections = []
        node_sections = fields["sections"]
        if not isinstance(node_sections.node, yaml.MappingNode):
            raise node_sections.error("must map each section name to a list of keywords")
        for key_node, value_node in node_sections.node.value:
            child = _Node(value_node, node.path, f"{node_sections.key}.{key_node.value}")
            keywords = tuple(k.string() for k in child.items())
            if not keywords:
                raise child.error("lists no keyword")
            sections.append((str(key_node.value), keywords))
        kwargs["sections"] = tuple(sections)
    kwargs["rules"] = _rules(fields, per_source=False)
    return SelectionConfig(**kwargs)


def _summary(node: _Node) -> SummaryConfig:
    fields = node.mapping(KEYS["summary"])
    kwargs: dict[str, Any] = {}
    if "max_words" in fields:
        kwargs["max_words"] = fields["max_words"].integer(minimum=5)
    if "backend" in fields:
        kwargs["backend"] = fields["backend"].choice(("extractive", "llm"))
    if "llm" in fields:
        llm = fields["llm"].mapping(KEYS["summary.llm"])
        for required in ("base_url", "model"):
            if required not in llm:
                raise fields["llm"].error(f"missing key `{required}`")
        if not is_web_url(llm["base_url"].string()):
            raise llm["base_url"].error("must be an http(s) URL")
        kwargs["llm"] = LlmConfig(
            base_url=llm["base_url"].string(),
            model=llm["model"].string(),
            api_key_env=llm["api_key_env"].optional_string() if "api_key_env" in llm else None,
            timeout=llm["timeout"].seconds() if "timeout" in llm else 20.0,
        )
    if kwargs.get("backend") == "llm" and "llm" not in kwargs:
        raise fields["backend"].error(
            "backend `llm` needs a `summary.llm` block (base_url, model, api_key_env)"
        )
    return SummaryConfig(**kwargs)


def _schedule(node: _Node, timezone: str) -> str:
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


def _delivery(node: _Node, base: Path) -> DeliveryConfig:
    fields = node.mapping(KEYS["delivery"])
    kwargs: dict[str, Any] = {}
    if "from" in fields:
        kwargs["from_addr"] = _address(fields["from"])
    kwargs["config_file"] = str(node.path)
    if "to" in fields:
        to = fields["to"]
        entries = [to] if isinstance(to.node, yaml.ScalarNode) else to.items()
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
        kwargs["to"] = tuple(values)
        kwargs["to_lines"] = tuple(entry.line for entry in entries)
    if "recipients" in fields:
        recipients = fields["recipients"].path_value(base)
        if not recipients.is_file():
            raise fields["recipients"].error(f"no such recipients file: {recipients}")
        kwargs["recipients"] = recipients
    kwargs["outbox"] = (
        fields["outbox"].path_value(base) if "outbox" in fields else default_outbox(base)
    )
    if "smtp" in fields and not fields["smtp"].is_null():
        kwargs["smtp"] = _smtp(fields["smtp"], base)
    if "unsubscribe_url" in fields:
        url = fields["unsubscribe_url"].string()
        if "{token}" not in url or not url.startswith(("https://", "http://", "mailto:")):
            raise fields["unsubscribe_url"].error(
                "must be an http(s) or mailto URL holding {token}"
            )
        kwargs["unsubscribe_url"] = url
    if "dkim" in fields:
        dkim = fields["dkim"].mapping(KEYS["delivery.dkim"])
        for required in ("domain", "selector", "key_file"):
            if required not in dkim:
                raise fields["dkim"].error(f"missing key `{required}`")
        key_file = dkim["key_file"].path_value(base)
        if not key_file.is_file():
            raise dkim["key_file"].error(f"no such key file: {key_file}")
        kwargs["dkim"] = DkimConfig(dkim["domain"].string(), dkim["selector"].string(), key_file)
    if "postal_address" in fields and not fields["postal_address"].is_null():
        kwargs["postal_address"] = _one_line(fields["postal_address"])
    if "return_path" in fields and not fields["return_path"].is_null():
        kwargs["return_path"] = _return_path(fields["return_path"])
    return DeliveryConfig(**kwargs)


def _return_path(node: _Node) -> str:
    """`bounces+{token}@example.com`: the envelope sender, one per reader (VERP)."""
    value = node.string().strip()
    local, at, domain = value.rpartition("@")
    if (
        not at
        or local.count("{token}") > 1
        or not re.fullmatch(r"[A-Za-z0-9.+_={}-]+", local)
        or not re.fullmatch(r"[A-Za-z0-9.-]+\.[A-Za-z]{2,}", domain)
    ):
        raise node.error(
            f"must be an address, optionally with {{token}} before the @, not {value!r}",
            'e.g. "bounces+{token}@example.com" (the mail server delivers bounces+... to bounces)',
        )
    return value


def _archive(node: _Node, base: Path) -> ArchiveConfig:
    if node.is_null():  # `archive:` alone: an archive with the defaults
        return ArchiveConfig()
    fields = node.mapping(KEYS["archive"])
    kwargs: dict[str, Any] = {}
    if "url" in fields and not fields["url"].is_null():
        kwargs["url"] = _folder_url(
            fields["url"],
            "the http(s) address of the archive folder",
            'e.g. "https://news.example.com/archive/"',
        )
    if "keep" in fields:
        keep = fields["keep"]
        value = keep.scalar()
        if value == "all":
            kwargs["keep"] = None
        elif isinstance(value, int) and not isinstance(value, bool):
            kwargs["keep"] = keep.integer(minimum=1)
        else:
            raise keep.error(f"must be `all` or a number of issues, not {value!r}")
    if "folder" in fields:
        kwargs["folder"] = fields["folder"].path_value(base)
    return ArchiveConfig(**kwargs)


def _address(node: _Node) -> str:
    value = node.string()
    if any(c in value for c in "\r\n"):
        raise node.error("must be one line")
    _, address = parseaddr(value)
    usable = normalize_address(address)
    if usable is None:
        if not address.rpartition("@")[0].isascii():
            raise node.error(f"the part before @ must be ASCII: {address!r}")
        raise node.error(f"not an email address: {value!r}")
    return value.replace(address, usable)


def _smtp(node: _Node, base: Path) -> SmtpConfig:
    fields = node.mapping(KEYS["delivery.smtp"])
    if "host" not in fields:
        raise node.error("missing key `host`")
    kwargs: dict[str, Any] = {"host": fields["host"].string()}
    if "port" in fields:
        kwargs["port"] = fields["port"].integer(minimum=1, maximum=65535)
    if "security" in fields:
        kwargs["security"] = fields["security"].choice(("starttls", "ssl", "none"))
    if "username" in fields:
        kwargs["username"] = fields["username"].optional_string()
    if "password_env" in fields:
        kwargs["password_env"] = fields["password_env"].string()
        kwargs["where"] = (str(node.path), fields["password_env"].line)
    elif kwargs.get("username"):
        raise fields["username"].error(
            "a username needs `password_env`: the name of the "
            "environment variable holding the password"
        )
    if "ca_file" in fields and fields["ca_file"].scalar() is not None:
        ca_file = fields["ca_file"].path_value(base)
        if not ca_file.is_file():
            raise fields["ca_file"].error(f"no such CA file: {ca_file}")
        kwargs["ca_file"] = ca_file
    if "max_per_minute" in fields:
        kwargs["max_per_minute"] = fields["max_per_minute"].integer(minimum=1)
    if "timeout" in fields:
        kwargs["timeout"] = fields["timeout"].seconds()
    if "retries" in fields:
        kwargs["retries"] = fields["retries"].integer(minimum=0)
    if "connections" in fields:
        kwargs["connections"] = fields["connections"].integer(minimum=1, maximum=64)
    if "helo" in fields and not fields["helo"].is_null():
        helo = fields["helo"].string().strip()
        if not re.fullmatch(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f.:]+\]", helo):
            raise fields["helo"].error(
                f"must be a host name (or [address]), not {helo!r}", "e.g. mail.example.com"
            )
        kwargs["helo"] = helo
    loopback = kwargs["host"] in ("localhost", "127.0.0.1", "::1")
    if kwargs.get("username") and kwargs.get("security", "starttls") == "none" and not loopback:
        raise fields["security"].error(
            "`none` would send the password in clear text over the network",
            "use starttls or ssl (none is only allowed with a relay on this machine)",
        )
    return SmtpConfig(**kwargs)
