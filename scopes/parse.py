"""Parse path and scope text into immutable parts; malformed text fails with its column."""

from __future__ import annotations

import functools
import json
import re

from .errors import ScopeError
from .path import Access, All, Filter, Keys, Name, One, Path, Scope, Segment

# Caps on what one request can make us parse; a longer path is refused, never truncated.
_MAX_TEXT = 2048
_MAX_SEGMENTS = 16
_MAX_SEGMENT_CHARS = 256
_MAX_KEYS = 256

# The first character that is not an RFC 3986 pchar or "/", or a "%" not opening an escape.
_BAD_CHAR = re.compile(r"[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]|%(?![0-9A-Fa-f]{2})")
_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_ATTR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD = re.compile(r"[A-Za-z0-9_]*")
_HINTS = {"?": " (a request path takes no query)", " ": " (write %20 for a space)"}


@functools.lru_cache(maxsize=1024)
def parse_path(text: str) -> Path:
    """Parse a request path such as "/relay/outlets/all;/state/"."""
    _check_length(text)
    return _path(text, len(text))


@functools.lru_cache(maxsize=1024)
def parse_scope(text: str) -> Scope:
    """Parse a scope such as "/relay/outlets/=1,3/state/?access=get,modify"."""
    _check_length(text)
    end = text.find("?")
    if end < 0:
        # read from the enum at parse time, so a word added later is granted too (docs/security.md)
        return Scope(_path(text, len(text)), frozenset(Access), text)
    return Scope(_path(text, end), _access(text, end + 1), text)


def _error(message: str, text: str, at: int) -> ScopeError:
    return ScopeError(message, text, at + 1)


def _show(snippet: str) -> str:
    # JSON quoting escapes control and non-ASCII characters, so messages stay one safe line
    return json.dumps(snippet)


def _blank(at: int, stop: int) -> int:
    """Where to point for an empty token: its place, or the separator before it at the end."""
    return at if at < stop else at - 1


def _check_length(text: str) -> None:
    if not isinstance(text, str):
        raise TypeError(f"expected str, got {type(text).__name__}")
    if len(text) > _MAX_TEXT:
        raise _error(f"longer than {_MAX_TEXT} characters", text, _MAX_TEXT)


def _path(text: str, end: int) -> Path:
    if end == 0:
        raise _error("empty path", text, 0)
    if text[0] != "/":
        raise _error('path must start with "/"', text, 0)
    bad = _BAD_CHAR.search(text, 0, end)
    if bad is not None:
        at = bad.start()
        if text[at] == "%":
            raise _error(f"bad percent escape {_show(text[at : at + 3])}", text, at)
        raise _error(f"invalid character {_show(text[at])}{_HINTS.get(text[at], '')}", text, at)
    if text[end - 1] != "/":
        raise _error('missing trailing "/"', text, end)
    segments: list[Segment] = []
    start = 1
    while start < end:
        if len(segments) == _MAX_SEGMENTS:
            raise _error(f"more than {_MAX_SEGMENTS} segments", text, start)
        stop = text.index("/", start, end)
        segments.append(_segment(text, start, stop))
        start = stop + 1
    return Path(tuple(segments), text[:end])


def _segment(text: str, start: int, stop: int) -> Segment:
    raw = text[start:stop]
    column = start + 1
    if not raw:
        raise _error("empty segment", text, start)
    if len(raw) > _MAX_SEGMENT_CHARS:
        raise _error(f"segment longer than {_MAX_SEGMENT_CHARS} characters", text, start + _MAX_SEGMENT_CHARS)
    if raw in ("!.", "!.."):
        return Name(raw[1:], column)
    if raw in (".", ".."):
        raise _error(f'dot segment must be written "!{raw}"', text, start)
    _reject(text, start, stop, "!", "segment")
    if raw == "all":
        # the segment "all" with its (empty) matrix parameters left off, as some clients send
        # it; a child literally named "all" is written %61ll
        return All((), column)
    if raw.startswith("all;"):
        return All(_filters(text, start + 4, stop, required=False), column)
    if raw.startswith("one;"):
        return One(_filters(text, start + 4, stop, required=True), column)
    if raw.startswith("="):
        return Keys(_keys(text, start + 1, stop), column)
    if "=" in raw:
        return All(_filters(text, start, stop, required=True), column)
    _reject(text, start, stop, ";,", "name")
    key = _decode(text, start, stop)
    if key in (".", ".."):
        # an encoded dot segment may still be collapsed by a proxy that normalises URLs
        raise _error(f'dot segment must be written "!{key}"', text, start)
    return Name(key, column)


def _spans(text: str, start: int, stop: int, separator: str):
    """Yield (start, stop) of each piece of text[start:stop] between separators."""
    while (cut := text.find(separator, start, stop)) >= 0:
        yield start, cut
        start = cut + 1
    yield start, stop


def _reject(text: str, start: int, stop: int, chars: str, where: str) -> None:
    found = [at for at in (text.find(char, start, stop) for char in chars) if at >= 0]
    if found:
        at = min(found)
        char = text[at]
        raise _error(
            f'unexpected "{char}" in {where} (write %{ord(char):02X} for a literal "{char}")', text, at
        )


def _filters(text: str, start: int, stop: int, *, required: bool) -> tuple[Filter, ...]:
    if start == stop and not required:
        return ()
    return tuple(_filter(text, a, b, stop) for a, b in _spans(text, start, stop, ";"))


def _filter(text: str, start: int, stop: int, segment_stop: int) -> Filter:
    if start == stop:
        raise _error("missing filter", text, _blank(start, segment_stop))
    equals = text.find("=", start, stop)
    if equals < 0:
        raise _error('missing "=" in filter', text, start)
    if equals == start:
        raise _error("empty filter attribute", text, start)
    attr = text[start:equals]
    valid = _ATTR.match(attr)
    if valid is None or valid.end() != len(attr):
        raise _error(f"invalid filter attribute {_show(attr)}", text, start + (valid.end() if valid else 0))
    if equals + 1 == stop:
        raise _error("empty filter value", text, _blank(stop, segment_stop))
    _reject(text, equals + 1, stop, "=,", "filter value")
    return Filter(attr, _decode(text, equals + 1, stop))


def _keys(text: str, start: int, stop: int) -> tuple[str, ...]:
    semicolon = text.find(";", start, stop)
    if semicolon >= 0:
        if semicolon + 1 < stop:
            raise _error('unexpected text after ";" in key list', text, semicolon + 1)
        # DLI's own clients send "=2,3,5;": one trailing ";" closes the list
        stop = semicolon
    keys = []
    for count, (a, b) in enumerate(_spans(text, start, stop, ",")):
        if count == _MAX_KEYS:
            raise _error(f"more than {_MAX_KEYS} keys", text, a)
        if a == b:
            raise _error("empty key", text, _blank(a, stop))
        _reject(text, a, b, "=", "key list")
        keys.append(_decode(text, a, b))
    return tuple(keys)


def _decode(text: str, start: int, stop: int) -> str:
    """Percent-decode one token; escapes were checked, but their bytes must be UTF-8."""
    raw = text[start:stop]
    if "%" not in raw:
        return raw
    pieces = []
    done = 0
    for run in _ESCAPES.finditer(raw):
        pieces.append(raw[done : run.start()])
        try:
            pieces.append(bytes.fromhex(run[0].replace("%", "")).decode("utf-8"))
        except UnicodeDecodeError as exc:
            at = start + run.start() + 3 * exc.start
            raise _error("percent escapes are not UTF-8", text, at) from None
        done = run.end()
    pieces.append(raw[done:])
    return "".join(pieces)


def _access(text: str, start: int) -> frozenset[Access]:
    if not text.startswith("access=", start):
        raise _error('expected "access=" after "?"', text, start)
    words = set()
    at = start + len("access=")
    while True:
        word = _WORD.match(text, at)[0]
        if not word:
            if at == len(text) or text[at] == ",":
                raise _error("empty access word", text, _blank(at, len(text)))
            raise _error(f"unexpected {_show(text[at])} in access list", text, at)
        try:
            words.add(Access(word))
        except ValueError:
            raise _error(f"unknown access word {_show(word)}", text, at) from None
        at += len(word)
        if at == len(text):
            return frozenset(words)
        if text[at] != ",":
            raise _error(f"unexpected {_show(text[at])} in access list", text, at)
        at += 1
