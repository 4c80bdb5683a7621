"""The policy evaluator's own process, run inside the sandbox (`provisioning.policy_engine`).

It imports nothing of mcloud nor Django: only the standard library and `regopy`, found in the
directory the sandbox binds it to. It reads one JSON document on stdin,
`{"input": {...}, "policies": [{"key": "...", "source": "..."}]}`, and for each policy in
turn writes a line `{"start": key}` and then its result line
`{"key": key, "status": "passed" | "failed" | "error", "messages": [...]}`, flushed, so that
the parent knows which policy was running when the sandbox's limits stopped the process.

Each policy gets an interpreter of its own (two policies may use the same package name); its
failures are the messages of its `deny` set.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from typing import Any

# Where regopy is: /opt/rego in the sandbox, or the worker's site-packages without isolation.
sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else "/opt/rego")

import regopy  # found through the path above, inside the sandbox

PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][A-Za-z0-9_.]*)\s*$", re.MULTILINE)
MAX_MESSAGES = 50


def _say(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


def _error_text(text: object) -> str:
    """rego-cpp's report, without its internal pass names."""
    lines = []
    for line in str(text).splitlines():
        bare = line.strip()
        if not bare or bare in ("--", "Errors:") or bare.startswith("Pass ") or set(bare) == {"~"}:
            continue
        if bare.endswith("_error") and " " not in bare:
            continue
        lines.append(line.rstrip())
    return "\n".join(lines[:40])[:4000] or "The policy does not compile."


def _quiet(call: Any, *args: Any) -> tuple[Any, str]:
    """Call regopy with its stdout (where rego-cpp prints compile errors) caught: returns
    (result, printed text)."""
    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 1)
        try:
            result = call(*args)
        except regopy.RegoError as error:
            result = error
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        caught.seek(0)
        printed = caught.read().decode(errors="replace")
    return result, printed


def evaluate(source: str, document: Any) -> tuple[str, list[str]]:
    found = PACKAGE.search(source)
    if not found:
        return "error", ["The policy has no package declaration (package <name>)."]
    rego = regopy.Interpreter()
    rego.set_input(document)
    added, printed = _quiet(rego.add_module, "policy.rego", source)
    if isinstance(added, regopy.RegoError):
        return "error", [_error_text(printed or added)]
    output, printed = _quiet(rego.query, f"x = data.{found.group(1)}")
    if isinstance(output, regopy.RegoError):
        return "error", [_error_text(printed or output)]
    if not output.ok():
        return "error", [_error_text(output)]
    if not len(output):
        return "passed", []
    package = output[0].bindings.get("x")
    deny = package.get("deny", []) if isinstance(package, dict) else []
    if not isinstance(deny, (list, set)):
        return "error", ["`deny` must be a set of messages."]
    messages = sorted(m if isinstance(m, str) else json.dumps(m) for m in deny)
    if len(messages) > MAX_MESSAGES:
        messages = [*messages[:MAX_MESSAGES], f"... and {len(messages) - MAX_MESSAGES} more."]
    return ("failed" if messages else "passed"), messages


def main() -> None:
    request = json.load(sys.stdin)
    for policy in request["policies"]:
        _say({"start": policy["key"]})
        try:
            status, messages = evaluate(policy["source"], request["input"])
        except Exception as error:  # noqa: BLE001 (e.g. an output regopy cannot read back)
            status, messages = "error", [f"The evaluator failed: {error.__class__.__name__}."]
        _say({"key": policy["key"], "status": status, "messages": messages})


if __name__ == "__main__":
    main()
