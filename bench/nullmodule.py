"""Null modules for the benchmark's floor: proxy-wasm modules whose callbacks do nothing.

- the bare module exports only what Envoy needs to load a filter (memory, the ABI marker, an
  allocator) plus `proxy_on_context_create` and `proxy_on_request_headers` (-> Continue);
- a filter's null twin exports exactly the `proxy_on_*` callbacks of the shipped module, each
  returning Continue (or "ok"/"done" where the ABI asks for it) and calling nothing.

Envoy enters the VM for every exported callback, so the twin costs what the filter's shape costs
and the filter's cost over its twin is its own work. Written as WAT and assembled with wabt's
wat2wasm; the callbacks a filter exports are read from its module with wasm-objdump. Usage:

  nullmodule.py --out DIR [FILTER.wasm ...]   # writes DIR/bare.wasm and DIR/<filter>-twin.wasm
"""

import argparse
import re
import subprocess
from pathlib import Path

# ABI 0.2.1 callbacks: parameter count and what a callback that does nothing returns (None: no
# result). 0 is Continue for the stream callbacks; vm_start and configure answer 1 (success),
# proxy_on_done 1 (done, the context may be deleted).
CALLBACKS = {
    "proxy_on_context_create": (2, None),
    "proxy_on_vm_start": (2, 1),
    "proxy_on_configure": (2, 1),
    "proxy_on_tick": (1, None),
    "proxy_on_queue_ready": (2, None),
    "proxy_on_new_connection": (1, 0),
    "proxy_on_downstream_data": (3, 0),
    "proxy_on_downstream_connection_close": (2, None),
    "proxy_on_upstream_data": (3, 0),
    "proxy_on_upstream_connection_close": (2, None),
    "proxy_on_request_headers": (3, 0),
    "proxy_on_request_body": (3, 0),
    "proxy_on_request_trailers": (2, 0),
    "proxy_on_request_metadata": (2, 0),
    "proxy_on_response_headers": (3, 0),
    "proxy_on_response_body": (3, 0),
    "proxy_on_response_trailers": (2, 0),
    "proxy_on_response_metadata": (2, 0),
    "proxy_on_http_call_response": (5, None),
    "proxy_on_grpc_receive_initial_metadata": (3, None),
    "proxy_on_grpc_receive": (3, None),
    "proxy_on_grpc_receive_trailing_metadata": (3, None),
    "proxy_on_grpc_close": (3, None),
    "proxy_on_foreign_function": (3, 0),
    "proxy_on_log": (1, None),
    "proxy_on_done": (1, 1),
    "proxy_on_delete": (1, None),
}
BARE = ["proxy_on_context_create", "proxy_on_request_headers"]

# What Envoy needs of any module: memory, the ABI version marker and an allocator (a bump
# allocator: nothing here ever asks it for memory, as no callback calls the host).
PRELUDE = """(module
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 65536))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (i32.sub (global.get $heap) (local.get $size)))"""


def callback(name):
    params, result = CALLBACKS[name]
    signature = " ".join(["(param" + " i32" * params + ")"] + ([] if result is None else ["(result i32)"]))
    body = "" if result is None else f" (i32.const {result})"
    return f'  (func (export "{name}") {signature}{body})'


def wat(callbacks):
    return "\n".join([PRELUDE] + [callback(n) for n in callbacks]) + ")\n"


def exported_callbacks(module):
    """The proxy_on_* functions a module exports, but its allocator (the twin has its own)."""
    listing = subprocess.run(["wasm-objdump", "-j", "Export", "-x", str(module)],
                             capture_output=True, text=True, check=True).stdout
    names = re.findall(r'^ - func\[\d+\].* -> "(proxy_on_[^"]+)"$', listing, re.M)
    unknown = sorted(set(names) - set(CALLBACKS) - {"proxy_on_memory_allocate"})
    if unknown:
        raise SystemExit(f"nullmodule: {module} exports callbacks this generator does not know: {unknown}")
    return [n for n in CALLBACKS if n in names]


def build(callbacks, out):
    source = out.with_suffix(".wat")
    source.write_text(wat(callbacks))
    subprocess.run(["wat2wasm", str(source), "-o", str(out)], check=True)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("filters", nargs="*", help="shipped filter modules to make twins of")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    build(BARE, out / "bare.wasm")
    print(f"  {'bare':<18} {' '.join(BARE)}")
    for module in map(Path, args.filters):
        callbacks = exported_callbacks(module)
        build(callbacks, out / f"{module.stem}-twin.wasm")
        print(f"  {module.stem + ' twin':<18} {' '.join(callbacks)}")


if __name__ == "__main__":
    main()
