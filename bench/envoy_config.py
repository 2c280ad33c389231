"""Envoy bootstraps for the benchmark: one listener, two routes (proxied to the echo upstream,
and a direct response), and the HTTP filters under test: none (baseline), a wasm filter, or its
native/Lua counterpart doing the same work. Written as JSON (Envoy reads it with -c)."""

import base64
import json

WASM_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
ROUTER = {
    "name": "envoy.filters.http.router",
    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
}

# The server sidecar's identity (as in deploy/metadata_exchange/envoy-server.yaml): the node
# every benchmark Envoy runs as, so metadata_exchange has its own metadata to send.
NODE = {
    "id": "sidecar~127.0.0.3~echo-7d4b9c6f8-xyz12.default~default.svc.cluster.local",
    "cluster": "echo.default",
    "metadata": {
        "NAME": "echo-7d4b9c6f8-xyz12",
        "NAMESPACE": "default",
        "WORKLOAD_NAME": "echo",
        "CLUSTER_ID": "Kubernetes",
        "OWNER": "kubernetes://apis/apps/v1/namespaces/default/deployments/echo",
        "LABELS": {
            "app": "echo",
            "version": "v2",
            "service.istio.io/canonical-name": "echo",
            "service.istio.io/canonical-revision": "v2",
        },
    },
}

# The client peer the load generator pretends to be (metadata_exchange requests carry it).
CLIENT_ID = "sidecar~127.0.0.2~client-5c8d7f6b9-abcde.default~default.svc.cluster.local"
CLIENT_METADATA = {
    "NAME": "client-5c8d7f6b9-abcde",
    "NAMESPACE": "default",
    "WORKLOAD_NAME": "client",
    "CLUSTER_ID": "Kubernetes",
    "OWNER": "kubernetes://apis/apps/v1/namespaces/default/deployments/client",
    "LABELS": {
        "app": "client",
        "version": "v1",
        "service.istio.io/canonical-name": "client",
        "service.istio.io/canonical-revision": "v1",
    },
}

BASIC_USER = ("alice", "wonderland")
# htpasswd -nbs alice wonderland
BASIC_HTPASSWD = "alice:{SHA}tiY7sUhYKUwI5L3866kDY+ENcrQ="
# auth_check's api_key mode: (client, key), as in filters/auth_check/README.md.
API_KEYS = [("ci-pipeline", "ak_live_6Jd93kq0VbXz"), ("web-frontend", "ak_live_P0d8s7Ma2")]


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(number, payload):
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def encode_struct(fields):
    """A google.protobuf.Struct of strings and nested Structs, serialized deterministically
    (keys in byte order), as Istio's peer metadata header carries it."""
    out = b""
    for key in sorted(fields, key=lambda k: k.encode()):
        value = fields[key]
        if isinstance(value, dict):
            encoded_value = _field(5, encode_struct(value))  # Value.struct_value
        else:
            encoded_value = _field(3, value.encode())  # Value.string_value
        out += _field(1, _field(1, key.encode()) + _field(2, encoded_value))
    return out


def peer_headers(fields, node_id):
    return {
        "x-envoy-peer-metadata": base64.b64encode(encode_struct(fields)).decode(),
        "x-envoy-peer-metadata-id": node_id,
    }


def wasm_filter(name, module, config):
    return {
        "name": name,
        "typed_config": {
            "@type": WASM_TYPE,
            "config": {
                "name": name,
                "root_id": name,
                "vm_config": {
                    "vm_id": name,
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": str(module)}},
                },
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": config,
                },
            },
        },
    }


def header_mutation(request_set, response_set):
    """envoy.filters.http.header_mutation setting headers like http_headers' `set`."""

    def muts(pairs):
        return [
            {"append": {"header": {"key": k, "value": v}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}}
            for k, v in pairs.items()
        ]

    return {
        "name": "envoy.filters.http.header_mutation",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
            "mutations": {"request_mutations": muts(request_set), "response_mutations": muts(response_set)},
        },
    }


def basic_auth():
    """envoy.filters.http.basic_auth, passing the user name upstream as auth_check does."""
    return {
        "name": "envoy.filters.http.basic_auth",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.basic_auth.v3.BasicAuth",
            "users": {"inline_string": BASIC_HTPASSWD},
            "forward_username_header": "x-auth-client",
        },
    }


def api_key_auth():
    """envoy.filters.http.api_key_auth with auth_check's keys, passing the client upstream as
    auth_check does (`forwarding` is work-in-progress in Envoy 1.40: it logs a warning)."""
    return {
        "name": "envoy.filters.http.api_key_auth",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.api_key_auth.v3.ApiKeyAuth",
            "credentials": [{"key": key, "client": client} for client, key in API_KEYS],
            "key_sources": [{"header": "x-api-key"}],
            "forwarding": {"header": "x-auth-client"},
        },
    }


# The Lua counterpart of metadata_exchange on an inbound listener: strip the peer headers from
# the request and keep them (as dynamic metadata; the raw values, not decoded), answer with our
# own metadata and id when the request carried them.
LUA_METADATA_EXCHANGE = """
local OWN_METADATA = "%(metadata)s"
local OWN_ID = "%(id)s"
function envoy_on_request(handle)
  local headers = handle:headers()
  local metadata = headers:get("x-envoy-peer-metadata")
  local id = headers:get("x-envoy-peer-metadata-id")
  headers:remove("x-envoy-peer-metadata")
  headers:remove("x-envoy-peer-metadata-id")
  local dynamic = handle:streamInfo():dynamicMetadata()
  if metadata ~= nil then dynamic:set("envoy.lua", "downstream_peer", metadata) end
  if id ~= nil then dynamic:set("envoy.lua", "downstream_peer_id", id) end
end
function envoy_on_response(handle)
  local headers = handle:headers()
  headers:remove("x-envoy-peer-metadata")
  headers:remove("x-envoy-peer-metadata-id")
  local dynamic = handle:streamInfo():dynamicMetadata():get("envoy.lua")
  if dynamic ~= nil and dynamic["downstream_peer"] ~= nil then
    headers:add("x-envoy-peer-metadata", OWN_METADATA)
  end
  if dynamic ~= nil and dynamic["downstream_peer_id"] ~= nil then
    headers:add("x-envoy-peer-metadata-id", OWN_ID)
  end
end
"""


def lua_metadata_exchange():
    own = peer_headers(NODE["metadata"], NODE["id"])
    return lua_filter(LUA_METADATA_EXCHANGE % {"metadata": own["x-envoy-peer-metadata"], "id": own["x-envoy-peer-metadata-id"]})


def lua_filter(code):
    return {
        "name": "envoy.filters.http.lua",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
            "default_source_code": {"inline_string": code},
        },
    }


def _lua_table(pairs):
    return "{" + ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in pairs.items()) + "}"


def lua_set_headers(request_set, response_set):
    """The Lua counterpart of http_headers' `set`: replace (or add) headers both ways."""
    return lua_filter(f"""
local REQUEST = {_lua_table(request_set)}
local RESPONSE = {_lua_table(response_set)}
function envoy_on_request(handle)
  local headers = handle:headers()
  for name, value in pairs(REQUEST) do headers:replace(name, value) end
end
function envoy_on_response(handle)
  local headers = handle:headers()
  for name, value in pairs(RESPONSE) do headers:replace(name, value) end
end
""")


def lua_auth(credentials, header, basic_realm=None):
    """The Lua counterpart of auth_check (api_key, or basic with `basic_realm`): the client's
    identity header is always removed, the credential header is looked up in `credentials`
    (credential -> client), a known one sets `x-auth-client`, anything else is a 401 with a JSON
    body (and `WWW-Authenticate` for basic). Envoy's Lua has no hash function nor base64 decoding:
    the table holds the credentials as the header carries them, where auth_check compares digests."""
    challenge = f', ["www-authenticate"] = {json.dumps(f"Basic realm={json.dumps(basic_realm)}")}' if basic_realm else ""
    return lua_filter(f"""
local CLIENTS = {_lua_table(credentials)}
function envoy_on_request(handle)
  local headers = handle:headers()
  headers:remove("x-auth-client")
  local client = CLIENTS[headers:get({json.dumps(header)}) or ""]
  if client == nil then
    handle:respond({{[":status"] = "401", ["content-type"] = "application/json"{challenge}}},
      '{{"error":"unauthorized","message":"invalid credentials","status":401}}')
    return
  end
  headers:replace("x-auth-client", client)
end
""")


def json_access_log(path, request_headers, response_headers, redact, plugin):
    """A file access log writing the fields request_logging writes, in its order, as JSON."""
    fmt = {
        "start_time": "%START_TIME(%Y-%m-%dT%H:%M:%S.%3fZ)%",
        "method": "%REQ(:METHOD)%",
        "authority": "%REQ(:AUTHORITY)%",
        "path": "%REQ(:PATH)%",
        "protocol": "%PROTOCOL%",
        "status": "%RESPONSE_CODE%",
        "response_flags": "%RESPONSE_FLAGS%",
        "response_code_details": "%RESPONSE_CODE_DETAILS%",
        "request_bytes": "%BYTES_RECEIVED%",
        "response_bytes": "%BYTES_SENT%",
        "duration_ms": "%DURATION%",
        "upstream_cluster": "%UPSTREAM_CLUSTER%",
        "upstream_host": "%UPSTREAM_HOST%",
        "request_id": "%REQ(X-REQUEST-ID)%",
        "downstream_address": "%DOWNSTREAM_REMOTE_ADDRESS%",
        "user_agent": "%REQ(USER-AGENT)%",
        "plugin": plugin,
        "request_headers": {
            h: ("[REDACTED]" if h in redact else "%%REQ(%s)%%" % h) for h in request_headers
        },
        "response_headers": {
            h: ("[REDACTED]" if h in redact else "%%RESP(%s)%%" % h) for h in response_headers
        },
    }
    return {
        "name": "envoy.access_loggers.file",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
            "path": str(path),
            "log_format": {"json_format": fmt},
        },
    }


def filter_state_access_log(path, key):
    """A file access log printing the line a filter stored as filter state `key` (request_logging
    with `"output": "filter_state"`: `wasm.request_logging`), skipping requests that have none
    (sampled or filtered out) with Envoy's CEL access-log filter."""
    return {
        "name": "envoy.access_loggers.file",
        "filter": {
            "extension_filter": {
                "name": "envoy.access_loggers.extension_filters.cel",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter",
                    "expression": f"'{key}' in filter_state",
                },
            }
        },
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
            "path": str(path),
            "log_format": {"text_format_source": {"inline_string": f"%FILTER_STATE({key}:PLAIN)%\n"}},
        },
    }


def bootstrap(listen_port, upstream_port, http_filters, access_log=None):
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "bench",
        "route_config": {
            "virtual_hosts": [
                {
                    "name": "bench",
                    "domains": ["*"],
                    "routes": [
                        {"match": {"prefix": "/direct"}, "direct_response": {"status": 200, "body": {"inline_string": "ok\n"}}},
                        {"match": {"prefix": "/"}, "route": {"cluster": "echo"}},
                    ],
                }
            ]
        },
        "http_filters": list(http_filters) + [ROUTER],
    }
    if access_log:
        hcm["access_log"] = [access_log]
    return {
        "node": NODE,
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [
                {
                    "name": "inbound",
                    "traffic_direction": "INBOUND",
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": listen_port}},
                    "filter_chains": [
                        {"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}
                    ],
                }
            ],
            "clusters": [
                {
                    "name": "echo",
                    "connect_timeout": "1s",
                    "type": "STATIC",
                    "load_assignment": {
                        "cluster_name": "echo",
                        "endpoints": [
                            {
                                "lb_endpoints": [
                                    {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": upstream_port}}}}
                                ]
                            }
                        ],
                    },
                }
            ],
        },
    }


def dumps(config):
    return json.dumps(config, indent=1)
