"""Host calls and VM entries per request of each filter, with the benchmark's configuration
and request (bench/suites.py), counted in the harness by bench/hostcalls.py. Writes JSON:
{filter: {"hc:proxy_...": n, "vm:proxy_on_...": n}}."""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import envoy_config as ec  # noqa: E402
import hostcalls  # noqa: E402
import suites as su  # noqa: E402


def scenario(suite):
    request = {"path": "/bench", "authority": "127.0.0.1", "headers": suite.headers,
               "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": "{}"}}
    return {
        "plugin": {"name": suite.filter, "root_id": suite.filter, "vm_id": suite.filter, "config": suite.wasm_config},
        "node": {"id": ec.NODE["id"], "cluster": ec.NODE["cluster"], "metadata": ec.NODE["metadata"]},
        # The benchmark's listener is inbound (traffic_direction INBOUND).
        "properties": [{"path": ["xds", "listener_direction"], "int": 1}, {"path": ["listener_direction"], "int": 1}],
        "requests": [dict(request, name="warm-up"), dict(request, name="measured")],
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--harness", required=True)
    p.add_argument("--modules", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    result = {}
    for suite in su.suites():
        module = Path(args.modules) / f"{suite.filter}.wasm"
        scenario_file = work / f"{suite.filter}.scenario.json"
        scenario_file.write_text(json.dumps(scenario(suite), indent=1))
        instrumented = work / module.name
        hostcalls.instrument(module, instrumented, work)
        counts = hostcalls.per_request(hostcalls.count(args.harness, instrumented, scenario_file, work))
        result[suite.filter] = dict(sorted(counts.items()))
        print(f"  {suite.filter:<18} {sum(v for k, v in counts.items() if k.startswith('hc:'))} host calls, "
              f"{sum(v for k, v in counts.items() if k.startswith('vm:'))} VM entries per request", flush=True)
    Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
