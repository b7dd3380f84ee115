"""snmpsim variation module `outlet`: PDU outlet cells that remember SETs and state cells that follow them.

Loaded by snmpsim (which executes it with `moduleContext` and `recordContext` defined), not imported.
Record syntax, values after the tag `2:outlet`, comma separated:

  value=2                   the cell's value until something is set
  accept=1;2;3              values a SET may write (others: wrongValue)
  store=3:1                 a SET of 3 is remembered as 1 (reboot: the outlet ends up on)
  follows=<oid>,map=1:7;0:8 a read-only cell showing another cell's value through a map

Module options (`--variation-module-options=outlet:<path>`): a JSON file holding every cell that
was set; it is read at start and rewritten after each SET, so state survives a restart of the
agent and a test can read it. Each SET is also appended to <path>.log as "<time.time()> <oid>
<value>", so tests and benchmarks see every SET and when it arrived.
"""
# ruff: noqa: F821

import json
import os
import time

from pysnmp.proto import rfc1902
from pysnmp.smi import error


def _pairs(text):
    return dict(item.split(":", 1) for item in text.split(";") if item)


def init(**context):
    moduleContext["path"] = context["options"] or None
    moduleContext["cells"] = {}
    if moduleContext["path"] and os.path.exists(moduleContext["path"]):
        with open(moduleContext["path"]) as file:
            moduleContext["cells"] = json.load(file)


def variate(oid, tag, value, **context):
    if not context["nextFlag"] and not context["exactMatch"]:
        return context["origOid"], tag, context["errorStatus"]
    if "settings" not in recordContext:
        recordContext["settings"] = dict(item.split("=", 1) for item in value.split(","))
    settings = recordContext["settings"]
    cells = moduleContext["cells"]
    index = max(0, context["varsTotal"] - context["varsRemaining"] - 1)
    if "follows" in settings:
        if context["setFlag"]:
            raise error.NotWritableError(name=oid, idx=index)
        source = cells.get(settings["follows"])
        shown = _pairs(settings["map"]).get(str(source), settings.get("value", "0"))
        return oid, tag, rfc1902.Integer32(int(shown))
    if context["setFlag"]:
        arrived = time.time()
        written = str(int(context["origValue"]))
        if "accept" in settings and written not in settings["accept"].split(";"):
            raise error.WrongValueError(name=oid, idx=index)
        cells[str(oid)] = int(_pairs(settings.get("store", "")).get(written, written))
        if moduleContext["path"]:
            with open(moduleContext["path"] + ".new", "w") as file:
                json.dump(cells, file)
            os.replace(moduleContext["path"] + ".new", moduleContext["path"])
            with open(moduleContext["path"] + ".log", "a") as log:
                log.write(f"{arrived} {oid} {written}\n")
    return oid, tag, rfc1902.Integer32(cells.get(str(oid), int(settings.get("value", "0"))))


def shutdown(**context):
    pass
