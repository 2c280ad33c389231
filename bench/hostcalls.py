"""Counts host calls and VM entries per request: rewrites a filter module so that every call
to an imported (host) function and every entry into an exported callback first logs its name
through `proxy_log`, runs one scenario through the harness CLI (`harness run --json`), and
counts the marker lines of the last request (the first one warms up lazy state).

The rewrite (wasm2wat/wat2wasm from wabt): one wrapper function per import and per
`proxy_on_*` export; the markers live in a data segment on a page added at the end of the
initial memory, which the allocator never hands out (Rust's wasm allocator only uses pages it
grows itself). `proxy_get_log_level` is made to answer `info` as Envoy runs by default, so
debug logging (off in Envoy) does not add calls. Usage:

  hostcalls.py --harness BIN --module M.wasm --scenario S.json --work DIR
"""

import argparse
import collections
import json
import re
import subprocess
import sys
from pathlib import Path

PAGE = 65536
MARK_LEVEL = 2  # info


def wat_string(text):
    return "".join(c if c.isalnum() or c in "_:-." else "\\%02x" % ord(c) for c in text)


def instrument(wasm, out, work):
    wat = work / (wasm.stem + ".wat")
    subprocess.run(["wasm2wat", str(wasm), "-o", str(wat)], check=True)
    text = wat.read_text()
    types = {}
    for m in re.finditer(r"^\s*\(type \(;(\d+);\) \(func(.*?)\)\)$", text, re.M):
        params = re.search(r"\(param ([^)]*)\)", m.group(2))
        types[int(m.group(1))] = len(params.group(1).split()) if params else 0
    imports = [(int(m.group(3)), m.group(1), m.group(2), int(m.group(4)))
               for m in re.finditer(r'^\s*\(import "([^"]+)" "([^"]+)" \(func \(;(\d+);\) \(type (\d+)\)\)\)$', text, re.M)]
    funcs = {int(m.group(1)): int(m.group(2)) for m in re.finditer(r"^\s*\(func \(;(\d+);\) \(type (\d+)\)", text, re.M)}
    exports = [(m.group(1), int(m.group(2))) for m in re.finditer(r'^\s*\(export "(proxy_on_[^"]+)" \(func (\d+)\)\)$', text, re.M)]
    mem = re.search(r"^(\s*\(memory \(;0;\) )(\d+)", text, re.M)
    if not imports or not mem:
        raise SystemExit(f"hostcalls: unexpected module layout in {wasm}")
    log_index = next((i for i, mod, name, _ in imports if name == "proxy_log"), None)
    if log_index is None:
        raise SystemExit(f"hostcalls: {wasm} does not import proxy_log")
    base = int(mem.group(2)) * PAGE
    marks, data, offset = {}, [], base
    for label in [f"hc:{name}" for _, _, name, _ in imports] + [f"vm:{name}" for name, _ in exports]:
        marks[label] = (offset, len(label))
        data.append(f'  (data (i32.const {offset}) "{wat_string(label)}")')
        offset += len(label)
    next_func = max(list(funcs) + [i for i, *_ in imports]) + 1

    def mark(label):
        addr, length = marks[label]
        return [f"    i32.const {MARK_LEVEL}", f"    i32.const {addr}", f"    i32.const {length}", f"    call {log_index}", "    drop"]

    wrappers, import_wrapper = [], {}
    for index, _, name, type_index in imports:
        body = mark(f"hc:{name}") + [f"    local.get {i}" for i in range(types[type_index])] + [f"    call {index}"]
        if name == "proxy_get_log_level":  # answer info, as Envoy does by default
            body += ["    local.get 0", "    i32.const 2", "    i32.store"]
        wrappers.append(f"  (func (;{next_func};) (type {type_index})\n" + "\n".join(body) + ")")
        import_wrapper[index] = next_func
        next_func += 1
    export_wrapper = {}
    for name, index in exports:
        type_index = funcs[index]
        body = mark(f"vm:{name}") + [f"    local.get {i}" for i in range(types[type_index])] + [f"    call {index}"]
        wrappers.append(f"  (func (;{next_func};) (type {type_index})\n" + "\n".join(body) + ")")
        export_wrapper[name] = next_func
        next_func += 1

    text = re.sub(r"^(\s*)call (\d+)$", lambda m: f"{m.group(1)}call {import_wrapper.get(int(m.group(2)), int(m.group(2)))}", text, flags=re.M)
    text = re.sub(r'^(\s*\(export "(proxy_on_[^"]+)" \(func )(\d+)\)\)$', lambda m: f"{m.group(1)}{export_wrapper[m.group(2)]}))", text, flags=re.M)
    pages = int(mem.group(2)) + 1 + (offset - base) // PAGE
    text = re.sub(r"^(\s*\(memory \(;0;\) )(\d+)", lambda m: f"{m.group(1)}{pages}", text, count=1, flags=re.M)
    # Wrappers and markers go before the module's closing parenthesis.
    end = text.rstrip().rfind(")")
    text = text[:end] + "\n" + "\n".join(wrappers) + "\n" + "\n".join(data) + ")\n"
    wat.write_text(text)
    subprocess.run(["wat2wasm", str(wat), "-o", str(out)], check=True)


def count(harness, module, scenario, work):
    done = subprocess.run([harness, "run", str(module), "--scenario", str(scenario), "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"hostcalls: harness run failed ({done.returncode}): {done.stderr}\n{done.stdout[:2000]}")
    (work / (module.stem + ".json")).write_text(done.stdout)
    return json.loads(done.stdout)


def per_request(result):
    """Marker counts of the last request: from its context's creation to the end of the run."""
    logs = [e.get("message", "") for e in result.get("logs", [])]
    starts = [i for i, m in enumerate(logs) if m == "vm:proxy_on_context_create"]
    if len(starts) < 3:  # the root context, then one per request
        raise SystemExit("hostcalls: the harness log shows fewer than two requests")
    return collections.Counter(m for m in logs[starts[-1]:] if m.startswith(("hc:", "vm:")))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--harness", required=True)
    p.add_argument("--module", required=True)
    p.add_argument("--scenario", required=True)
    p.add_argument("--work", required=True)
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    module = Path(args.module)
    out = work / module.name
    instrument(module, out, work)
    counts = per_request(count(args.harness, out, Path(args.scenario), work))
    json.dump(dict(sorted(counts.items())), sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
