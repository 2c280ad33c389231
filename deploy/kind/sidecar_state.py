"""What a sidecar's Envoy says about one filter, from its admin config dump on stdin.
Used by scripts/deploy.sh (wait until loaded, --status) and scripts/undeploy.sh; needs only
Python's standard library.

    ... pilot-agent request GET 'config_dump?resource=ecds_filters' | sidecar_state.py ecds NAME...
    ... pilot-agent request GET 'config_dump?resource=dynamic_listeners' | sidecar_state.py listeners FILE
    ... pilot-agent request GET 'config_dump?resource=dynamic_listeners' | sidecar_state.py unused FILE

ecds: the ECDS entry named exactly one of NAME (Istio names it after the WasmPlugin or
TrafficExtension, see deploy/README.md) is loaded: its filter is the Wasm HTTP filter (when the
agent cannot fetch a module it serves an RBAC filter under the same name) and Envoy has not
rejected an update of it (no error_state). Entries of other plugins do not count.
listeners: some listener's active config runs the Wasm filter reading FILE, and no listener that
mentions FILE carries an error_state (Envoy rejected its latest update, e.g. a module file that is
not mounted: it then keeps serving the previous config).
unused: no listener (active or rejected) mentions FILE any more.
Prints one line saying what it found; exit 0 when the condition holds, 1 when not, 2 on bad input.
"""

import json
import sys

WASM = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"


def mentions(node, filename):
    if isinstance(node, dict):
        if node.get("filename") == filename:
            return True
        return any(mentions(v, filename) for v in node.values())
    if isinstance(node, list):
        return any(mentions(v, filename) for v in node)
    return False


def ecds(dump, names):
    entries = [c for c in dump.get("configs", []) if (c.get("ecds_filter") or {}).get("name") in names]
    if not entries:
        seen = [(c.get("ecds_filter") or {}).get("name") for c in dump.get("configs", [])]
        return False, f"no ECDS entry named {' or '.join(names)} (entries: {', '.join(filter(None, seen)) or 'none'})"
    entry = entries[0]
    name = entry["ecds_filter"]["name"]
    kind = (entry["ecds_filter"].get("typed_config") or {}).get("@type", "?")
    if entry.get("error_state"):
        details = entry["error_state"].get("details", "no details")
        return False, f"ECDS {name}: Envoy rejected the latest update: {details}"
    if kind != WASM:
        return False, (f"ECDS {name} is {kind.rsplit('.', 1)[-1]}, not the Wasm filter "
                       "(the Istio agent could not fetch or convert the module; see istio_agent_wasm_remote_fetch_count)")
    version = entry.get("version_info", "?")
    return True, f"ECDS {name}: Wasm filter loaded (version {version}, updated {entry.get('last_updated', '?')})"


def listeners(dump, filename, want_unused):
    active, rejected = [], []
    for listener in dump.get("configs", []):
        name = listener.get("name", "?")
        if mentions(listener.get("active_state"), filename):
            active.append(name)
        if listener.get("error_state") and (mentions(listener["error_state"], filename) or name in active):
            rejected.append((name, listener["error_state"].get("details", "no details")))
    if want_unused:
        if active or rejected:
            return False, f"listeners still using {filename}: {', '.join(active + [n for n, _ in rejected])}"
        return True, f"no listener uses {filename}"
    if rejected:
        name, details = rejected[0]
        return False, f"Envoy rejected the latest update of listener {name}: {details}"
    if not active:
        return False, f"no listener runs {filename}"
    return True, f"listener {', '.join(active)} runs {filename}"


def main(argv):
    if len(argv) < 3 or argv[1] not in ("ecds", "listeners", "unused"):
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    text = sys.stdin.read()
    try:
        dump = json.loads(text) if text.strip() else {}
    except ValueError as err:
        print(f"not a config dump (JSON): {err}: {text[:120]!r}")
        return 1
    if argv[1] == "ecds":
        ok, line = ecds(dump, argv[2:])
    else:
        ok, line = listeners(dump, argv[2], argv[1] == "unused")
    print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
