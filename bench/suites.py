"""What each filter is measured with: the wasm filter's configuration, its native or Lua
counterpart doing the same work, the request headers the load generator sends, and a check
that a configuration really does the work (a benchmark of a filter that refuses every request
or never runs would measure nothing)."""

import base64
import json

import envoy_config as ec

REQUEST_LOGGING = {
    "request_headers": ["x-forwarded-for", "content-type", "authorization"],
    "response_headers": ["content-type", "set-cookie"],
    "redact": ["x-session-token"],
    "sample_rate": 1.0,
    "max_value_bytes": 256,
    "include_query": True,
}
# request_logging redacts these whatever its configuration says.
ALWAYS_REDACTED = {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}


class Suite:
    def __init__(self, filter_name, counterpart, wasm_config, native_filters, native_log, headers, check,
                 name=None, lua=None, upstream=None, refusal=None, variant_log=None):
        self.filter = filter_name  # the module: dist/<filter>.wasm
        self.name = name or filter_name  # how the report names this suite (a filter and its mode)
        self.counterpart = counterpart  # how the native side is named in the report
        self.wasm_config = wasm_config
        self.native_filters = native_filters  # callable(workdir) -> [http filter]
        self.native_log = native_log  # callable(workdir) -> access log or None
        self.lua = lua  # a Lua filter doing the same work (role "lua"), when native is not Lua already
        self.headers = headers  # sent on every request of this suite
        self.check = check  # callable(role, response_headers, status, workdir) -> error or None
        self.upstream = upstream  # "name: value" the upstream must receive (proxied route)
        self.refusal = refusal  # (request headers, status) a refusing configuration must answer
        # callable(workdir) -> the access log a variant's Envoy writes with --variant-log
        self.variant_log = variant_log


def _check_header(name, value):
    def check(role, headers, status, _work):
        if status != 200:
            return f"status {status}, expected 200"
        if role == "baseline":
            return None
        got = headers.get(name)
        if got != value:
            return f"response header {name} is {got!r}, expected {value!r}"
        return None

    return check


def _check_ok(role, headers, status, _work):
    return None if status == 200 else f"status {status}, expected 200"


def suites():
    basic = base64.b64encode(":".join(ec.BASIC_USER).encode()).decode()
    wrong_basic = {"authorization": "Basic " + base64.b64encode(b"alice:wrong").decode()}
    http_headers = {"request": {"set": {"x-wasm-filter": "http_headers"}}, "response": {"set": {"x-powered-by": "proxy-wasm-rust"}}}
    api_key = {"mode": "api_key", "api_key": {"header": "x-api-key", "keys": [{"client": c, "key": k} for c, k in ec.API_KEYS]}}
    redact = ALWAYS_REDACTED | set(REQUEST_LOGGING["redact"])
    own = ec.peer_headers(ec.NODE["metadata"], ec.NODE["id"])
    return [
        Suite(
            "http_headers",
            "header_mutation",
            json.dumps(http_headers),
            lambda work: [ec.header_mutation(http_headers["request"]["set"], http_headers["response"]["set"])],
            lambda work: None,
            {},
            _check_header("x-powered-by", "proxy-wasm-rust"),
            lua=lambda work: [ec.lua_set_headers(http_headers["request"]["set"], http_headers["response"]["set"])],
            upstream="x-wasm-filter: http_headers",
        ),
        Suite(
            "auth_check",
            "basic_auth",
            json.dumps({"mode": "basic", "basic": {"users": [ec.BASIC_HTPASSWD]}}),
            lambda work: [ec.basic_auth()],
            lambda work: None,
            {"authorization": "Basic " + basic},
            _check_ok,
            name="auth_check",
            lua=lambda work: [ec.lua_auth({"Basic " + basic: ec.BASIC_USER[0]}, "authorization", basic_realm="restricted")],
            upstream="x-auth-client: " + ec.BASIC_USER[0],
            refusal=(wrong_basic, 401),
        ),
        Suite(
            "auth_check",
            "api_key_auth",
            json.dumps(api_key),
            lambda work: [ec.api_key_auth()],
            lambda work: None,
            {"x-api-key": ec.API_KEYS[0][1]},
            _check_ok,
            name="auth_check api_key",
            lua=lambda work: [ec.lua_auth({k: c for c, k in ec.API_KEYS}, "x-api-key")],
            upstream="x-auth-client: " + ec.API_KEYS[0][0],
            refusal=({"x-api-key": "ak_wrong"}, 401),
        ),
        Suite(
            "request_logging",
            "JSON file access log",
            json.dumps(REQUEST_LOGGING),
            lambda work: [],
            lambda work: ec.json_access_log(
                work / "access.log", REQUEST_LOGGING["request_headers"], REQUEST_LOGGING["response_headers"], redact, "bench"
            ),
            {"content-type": "text/plain", "authorization": "Bearer secret", "x-forwarded-for": "10.0.0.1"},
            _check_ok,
            # With --variant-config request_logging='{..., "output": "filter_state"}' --variant-log
            # request_logging: the line stored as filter state, printed by Envoy's file access log.
            variant_log=lambda work: ec.filter_state_access_log(work / "access.log", "wasm.request_logging"),
        ),
        Suite(
            "metadata_exchange",
            "Lua",
            json.dumps({"direction": "auto", "additional_labels": [], "max_header_size": 8192, "max_nesting_depth": 8}),
            lambda work: [ec.lua_metadata_exchange()],
            lambda work: None,
            ec.peer_headers(ec.CLIENT_METADATA, ec.CLIENT_ID),
            _check_header("x-envoy-peer-metadata", own["x-envoy-peer-metadata"]),
        ),
    ]
