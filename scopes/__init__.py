"""Parse, expand and match powerctl resource paths and access scopes (no Flask, no I/O).

Paths are relative to /restapi and written as raw, percent-encoded URL text::

    path     = "/" *(segment "/")
    segment  = name                         ; relay, outlets, 3, bus.0.voltage, "!." for "."
             | "all;" [filter *(";" filter)]  ; every child, optionally filtered
             | "one;" filter *(";" filter)    ; the single child matching
             | "=" key *("," key) [";"]       ; the listed children or fields
             | filter *(";" filter)           ; shorthand for all;filter...
    filter   = attr "=" value
    scope    = path ["?access=" verb *("," verb)]   ; verb = get | modify | invoke

Each name, key and value is percent-decoded after splitting, so %3B, %3D, %2C and %2F are
literal characters. A scope without "?access=" grants every access word (`Access`), including
words added in later versions.
"""

from .errors import AmbiguousPath, NoSuchPath, ResolveError, ScopeError
from .expand import TreeView, expand
from .grants import Grants, GrantSet, Narrowed
from .parse import parse_path, parse_scope
from .path import Access, All, Filter, Keys, Name, One, Path, Scope, format_keys

__all__ = [
    "Access",
    "All",
    "AmbiguousPath",
    "Filter",
    "GrantSet",
    "Grants",
    "Keys",
    "Name",
    "Narrowed",
    "NoSuchPath",
    "One",
    "Path",
    "ResolveError",
    "Scope",
    "ScopeError",
    "TreeView",
    "expand",
    "format_keys",
    "parse_path",
    "parse_scope",
]
