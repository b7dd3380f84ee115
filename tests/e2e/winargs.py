"""Split a command line the way Windows programs do (the DLI reference's curl lines are cmd)."""

from __future__ import annotations


def split(line: str) -> list[str]:
    """CommandLineToArgvW rules: quotes group, backslashes escape only before a quote."""
    args: list[str] = []
    current: list[str] = []
    in_quotes = False
    have_arg = False
    i = 0
    while i < len(line):
        char = line[i]
        if char == "\\":
            run = 0
            while i < len(line) and line[i] == "\\":
                run += 1
                i += 1
            if i < len(line) and line[i] == '"':
                current.append("\\" * (run // 2))
                if run % 2:
                    current.append('"')
                    i += 1
                have_arg = True
            else:
                current.append("\\" * run)
                have_arg = True
            continue
        if char == '"':
            in_quotes = not in_quotes
            have_arg = True
        elif char in " \t" and not in_quotes:
            if have_arg:
                args.append("".join(current))
                current, have_arg = [], False
        else:
            current.append(char)
            have_arg = True
        i += 1
    if have_arg:
        args.append("".join(current))
    return args
