//! Values real Istio proxies send (padded and unpadded), and malformed, oversized and hostile
//! input: never a trap, never a blocked request, always a debug line and a metric.
// Helpers fail the test on a host error: clippy exempts only #[test] functions themselves.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::structpb::{Struct, Value};
use common::wire::put_varint;
use common::*;
use harness::{Action, Level, Plugin, Request, Response};
use serde_json::json;

// x-envoy-peer-metadata of the bookinfo reviews-v3 sidecar (Istio 1.14.5), from "Istio metrics
// deep dive" (zhaohuabing.com, 2023-02-14): 555 bytes, so base64 without padding.
const ISTIO_1_14_REVIEWS: &str = "ChsKDkFQUF9DT05UQUlORVJTEgkaB3Jldmlld3MKGgoKQ0xVU1RFUl9JRBIMGgpLdWJlcm5ldGVzCh4KDElOU1RBTkNFX0lQUxIOGgwxNzIuMTYuMC4xMzMKGQoNSVNUSU9fVkVSU0lPThIIGgYxLjE0LjUK0wEKBkxBQkVMUxLIASrFAQoQCgNhcHASCRoHcmV2aWV3cwofChFwb2QtdGVtcGxhdGUtaGFzaBIKGgg1OGI2NDc5YgokChlzZWN1cml0eS5pc3Rpby5pby90bHNNb2RlEgcaBWlzdGlvCiwKH3NlcnZpY2UuaXN0aW8uaW8vY2Fub25pY2FsLW5hbWUSCRoHcmV2aWV3cworCiNzZXJ2aWNlLmlzdGlvLmlvL2Nhbm9uaWNhbC1yZXZpc2lvbhIEGgJ2MwoPCgd2ZXJzaW9uEgQaAnYzChoKB01FU0hfSUQSDxoNY2x1c3Rlci5sb2NhbAojCgROQU1FEhsaGXJldmlld3MtdjMtNThiNjQ3OWItNjJydjUKFgoJTkFNRVNQQUNFEgkaB2RlZmF1bHQKTgoFT1dORVISRRpDa3ViZXJuZXRlczovL2FwaXMvYXBwcy92MS9uYW1lc3BhY2VzL2RlZmF1bHQvZGVwbG95bWVudHMvcmV2aWV3cy12MwoXChFQTEFURk9STV9NRVRBREFUQRICKgAKHQoNV09SS0xPQURfTkFNRRIMGgpyZXZpZXdzLXYz";
const ISTIO_1_14_REVIEWS_ID: &str =
    "sidecar~172.16.0.133~reviews-v3-58b6479b-62rv5.default~default.svc.cluster.local";

// A response header from an Istio 1.6-era sidecar quoted in HackerOne report #902733
// (2020-06-19): 487 bytes, so base64 padded with "==".
const ISTIO_1_6_WEBSITE_API: &str = "Ch4KDElOU1RBTkNFX0lQUxIOGgwxMC4wLjE1Mi4yMDEK0AEKBkxBQkVMUxLFASrCAQoUCgNhcHASDRoLd2Vic2l0ZS1hcGkKIQoRcG9kLXRlbXBsYXRlLWhhc2gSDBoKN2Q5NzRmNTQ3NQokChlzZWN1cml0eS5pc3Rpby5pby90bHNNb2RlEgcaBWlzdGlvCjAKH3NlcnZpY2UuaXN0aW8uaW8vY2Fub25pY2FsLW5hbWUSDRoLd2Vic2l0ZS1hcGkKLwojc2VydmljZS5pc3Rpby5pby9jYW5vbmljYWwtcmV2aXNpb24SCBoGbGF0ZXN0ChoKB01FU0hfSUQSDxoNY2x1c3Rlci5sb2NhbAomCgROQU1FEh4aHHdlYnNpdGUtYXBpLTdkOTc0ZjU0NzUtZHRuZzgKGQoJTkFNRVNQQUNFEgwaCnByb2R1Y3Rpb24KUgoFT1dORVISSRpHa3ViZXJuZXRlczovL2FwaXMvYXBwcy92MS9uYW1lc3BhY2VzL3Byb2R1Y3Rpb24vZGVwbG95bWVudHMvd2Vic2l0ZS1hcGkKHwoPU0VSVklDRV9BQ0NPVU5UEgwaCnZhdWx0LWF1dGgKHgoNV09SS0xPQURfTkFNRRINGgt3ZWJzaXRlLWFwaQ==";
const ISTIO_1_6_WEBSITE_API_ID: &str =
    "sidecar~10.0.152.201~website-api-7d974f5475-dtng8.production~production.svc.cluster.local";

/// The inbound server receives a request with `value` as x-envoy-peer-metadata; returns the
/// recorded downstream peer (if any) and what the application received.
fn inbound_with(plugin: &mut Plugin, value: &str) -> (Option<Vec<u8>>, harness::Message) {
    let r = run(plugin, &[(MD, value), (MD_ID, CLIENT_ID)], &[]);
    (r.downstream_peer, r.upstream)
}

#[test]
fn decodes_a_real_istio_1_14_value() {
    let mut server = start(server_builder(json!({})));
    let mut s = server.http_stream();
    let request = with(
        &REQUEST,
        &[(MD, ISTIO_1_14_REVIEWS), (MD_ID, ISTIO_1_14_REVIEWS_ID)],
    );
    assert_eq!(
        s.request_headers(&refs(&request), true).unwrap(),
        Action::Continue
    );
    let stored = s.filter_state("wasm.downstream_peer").unwrap();
    let md = peer(&stored);
    assert_eq!(md.get_str("NAME"), Some("reviews-v3-58b6479b-62rv5"));
    assert_eq!(md.get_str("NAMESPACE"), Some("default"));
    assert_eq!(md.get_str("WORKLOAD_NAME"), Some("reviews-v3"));
    assert_eq!(md.get_str("ISTIO_VERSION"), Some("1.14.5"));
    let labels = md.get_struct("LABELS").unwrap();
    assert_eq!(labels.get_str("app"), Some("reviews"));
    assert_eq!(labels.get_str("version"), Some("v3"));
    // Stored byte for byte as the peer serialized it.
    assert_eq!(stored.len(), 555);
    assert_eq!(md.encode(), stored);
    assert_eq!(
        s.filter_state("wasm.downstream_peer_id").as_deref(),
        Some(ISTIO_1_14_REVIEWS_ID.as_bytes())
    );
    s.complete().unwrap();
    drop(s);
    assert!(server.logs_at(Level::Debug).contains(
        &format!("downstream peer: id={ISTIO_1_14_REVIEWS_ID} name=reviews-v3-58b6479b-62rv5 namespace=default workload=reviews-v3 app=reviews version=v3").as_str()
    ));
}

#[test]
fn decodes_a_real_padded_value_with_and_without_padding() {
    for value in [
        ISTIO_1_6_WEBSITE_API,
        ISTIO_1_6_WEBSITE_API.trim_end_matches('='),
    ] {
        // The client's outbound sidecar gets it from the upstream's response.
        let mut client = start(client_builder(json!({})));
        let r = run(
            &mut client,
            &[],
            &[(MD, value), (MD_ID, ISTIO_1_6_WEBSITE_API_ID)],
        );
        assert_eq!(r.client.header(MD), None);
        assert_eq!(r.client.header(MD_ID), None);
        let md = peer(&r.upstream_peer.unwrap());
        assert_eq!(
            md.get_str("NAME"),
            Some("website-api-7d974f5475-dtng8"),
            "{value}"
        );
        assert_eq!(md.get_str("NAMESPACE"), Some("production"));
        assert_eq!(md.get_str("WORKLOAD_NAME"), Some("website-api"));
        assert_eq!(
            md.get_struct("LABELS").unwrap().get_str("app"),
            Some("website-api")
        );
        assert_eq!(
            r.upstream_peer_id.as_deref(),
            Some(ISTIO_1_6_WEBSITE_API_ID.as_bytes())
        );
        assert_eq!(client.metric("metadata_exchange.peers_decoded"), Some(1));
    }
}

/// A Struct nested `levels` deep (struct > struct > ...), as raw protobuf.
fn nested_struct(levels: usize) -> Vec<u8> {
    let mut s = Vec::new(); // empty innermost struct
    for _ in 1..levels {
        // entry { key "n", value { struct_value s } }
        let mut value = vec![0x2a];
        put_varint(&mut value, s.len() as u64);
        value.extend_from_slice(&s);
        let mut entry = vec![0x0a, 0x01, b'n', 0x12];
        put_varint(&mut entry, value.len() as u64);
        entry.extend_from_slice(&value);
        s = vec![0x0a];
        put_varint(&mut s, entry.len() as u64);
        s.extend_from_slice(&entry);
    }
    s
}

fn b64(bytes: &[u8]) -> String {
    // Standard alphabet, padded: small local encoder so the test does not reuse the filter's.
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn malformed_values_are_ignored_with_a_reason() {
    let deep = b64(&nested_struct(9));
    let cases: [(&str, &str); 5] = [
        ("not base64!", "invalid base64: "),
        ("Cg==", "invalid Struct: truncated protobuf"),
        // Valid base64 of 0b: field 1 with wire type 3 (a group).
        ("Cw==", "invalid Struct: invalid wire type 3"),
        // An entry whose key is not UTF-8: 0a 04 0a 02 c3 28.
        ("CgQKAsMo", "invalid Struct: string field is not UTF-8"),
        (&deep, "invalid Struct: nesting deeper than 8 levels"),
    ];
    let mut server = start(server_builder(json!({})));
    for (i, (value, reason)) in cases.iter().enumerate() {
        server.clear_logs();
        let (stored, app_saw) = inbound_with(&mut server, value);
        assert_eq!(stored, None, "case {i}");
        assert_eq!(
            app_saw.header(MD),
            None,
            "stripped even when bad (case {i})"
        );
        assert_eq!(app_saw.header(MD_ID), None);
        let debug = server.logs_at(Level::Debug);
        assert!(
            debug
                .iter()
                .any(|m| m.starts_with(&format!("downstream peer metadata ignored: {reason}"))),
            "case {i}: {debug:#?}"
        );
        assert_eq!(
            server.metric("metadata_exchange.decode_failures"),
            Some(i as i64 + 1)
        );
    }
    assert_eq!(server.metric("metadata_exchange.peers_decoded"), Some(0));
    assert!(server.failure().is_none());
}

#[test]
fn non_utf8_bytes_in_the_header_do_not_trap() {
    let mut server = start(server_builder(json!({})));
    let ex = server
        .send(
            Request::get("/").header(MD, [0xff, 0xfe, b'A']),
            Response::status(200),
        )
        .unwrap();
    assert!(ex.local_reply.is_none());
    assert_eq!(ex.upstream.unwrap().header(MD), None);
    assert_eq!(server.metric("metadata_exchange.decode_failures"), Some(1));
    assert!(server
        .logs_at(Level::Debug)
        .iter()
        .any(|m| m.starts_with("downstream peer metadata ignored: invalid base64: ")));
    assert!(server.failure().is_none());
}

#[test]
fn depth_at_the_limit_is_accepted() {
    let mut server = start(server_builder(json!({"max_nesting_depth": 3})));
    let (stored, _) = inbound_with(&mut server, &b64(&nested_struct(3)));
    assert!(stored.is_some());
    let (stored, _) = inbound_with(&mut server, &b64(&nested_struct(4)));
    assert_eq!(stored, None);
    assert!(server.logs_at(Level::Debug).contains(
        &"downstream peer metadata ignored: invalid Struct: nesting deeper than 3 levels"
    ));
}

#[test]
fn oversized_values_are_rejected_before_decoding() {
    let mut server = start(server_builder(json!({"max_header_size": 600})));
    // The real 740-byte Istio value is over a 600-byte limit.
    let (stored, app_saw) = inbound_with(&mut server, ISTIO_1_14_REVIEWS);
    assert_eq!(stored, None);
    assert_eq!(app_saw.header(MD), None);
    assert!(server.logs_at(Level::Debug).contains(
        &"downstream peer metadata ignored: value of 740 bytes exceeds the limit of 600 bytes"
    ));
    assert_eq!(server.metric("metadata_exchange.decode_failures"), Some(1));

    // The default limit is 8 KiB: 8193 bytes of valid base64 are refused unread.
    let mut server = start(server_builder(json!({})));
    let big = "A".repeat(8193);
    let (stored, _) = inbound_with(&mut server, &big);
    assert_eq!(stored, None);
    assert!(server.logs_at(Level::Debug).contains(
        &"downstream peer metadata ignored: value of 8193 bytes exceeds the limit of 8192 bytes"
    ));
}

#[test]
fn an_oversized_id_is_not_stored() {
    let mut server = start(server_builder(json!({"max_header_size": 64})));
    let long_id = "x".repeat(65);
    let r = run(&mut server, &[(MD_ID, &long_id)], &[]);
    assert_eq!(r.downstream_peer_id, None);
    assert_eq!(r.upstream.header(MD_ID), None);
    assert!(server
        .logs_at(Level::Debug)
        .contains(&"downstream peer id ignored: value of 65 bytes exceeds the limit of 64 bytes"));
    assert_eq!(server.metric("metadata_exchange.decode_failures"), Some(1));
}

#[test]
fn hostile_deep_nesting_within_the_size_limit_does_not_trap() {
    // ~2,500 nested lists fit in 60 KiB; decoding stops at the depth limit.
    let mut value = vec![0x32, 0x00];
    for _ in 0..2_500 {
        let mut list = vec![0x0a];
        put_varint(&mut list, value.len() as u64);
        list.extend_from_slice(&value);
        value = vec![0x32];
        put_varint(&mut value, list.len() as u64);
        value.extend_from_slice(&list);
    }
    let mut entry = vec![0x0a, 0x01, b'k', 0x12];
    put_varint(&mut entry, value.len() as u64);
    entry.extend_from_slice(&value);
    let mut hostile = vec![0x0a];
    put_varint(&mut hostile, entry.len() as u64);
    hostile.extend_from_slice(&entry);
    let text = b64(&hostile);
    assert!(text.len() < 60 * 1024, "{}", text.len());

    let mut server = start(server_builder(
        json!({"max_header_size": 61440, "max_nesting_depth": 32}),
    ));
    let (stored, _) = inbound_with(&mut server, &text);
    assert_eq!(stored, None);
    assert!(server.logs_at(Level::Debug).contains(
        &"downstream peer metadata ignored: invalid Struct: nesting deeper than 32 levels"
    ));
    assert!(server.failure().is_none());
}

#[test]
fn empty_headers_count_as_absent_but_are_stripped() {
    let mut server = start(server_builder(json!({})));
    let r = run(&mut server, &[(MD, ""), (MD_ID, "")], &[]);
    assert_eq!(r.downstream_peer, None);
    assert_eq!(r.downstream_peer_id, None);
    assert_eq!(r.upstream.header(MD), None);
    assert_eq!(r.upstream.header(MD_ID), None);
    // Nothing was offered, so nothing is answered.
    assert_eq!(r.client.header(MD), None);
    assert_eq!(r.client.header(MD_ID), None);
    assert_eq!(server.metric("metadata_exchange.decode_failures"), Some(0));
}

#[test]
fn a_bad_value_still_gets_an_answer_like_istio() {
    // The peer offered metadata (even if unreadable): the server still introduces itself.
    let mut server = start(server_builder(json!({})));
    let r = run(&mut server, &[(MD, "%%%"), (MD_ID, CLIENT_ID)], &[]);
    assert_eq!(r.client.header(MD), Some(SERVER_MD_B64));
    assert_eq!(r.client.header(MD_ID), Some(SERVER_ID));
    assert_eq!(r.downstream_peer_id.as_deref(), Some(CLIENT_ID.as_bytes()));
    assert_eq!(r.downstream_peer, None);
}

#[test]
fn bad_configurations_are_rejected_with_the_reason() {
    let cases = [
        (json!({"max_header_size": 0}), "invalid configuration: field `max_header_size`: must be between 1 and 61440 bytes, got 0"),
        (json!({"max_nesting_depth": 0}), "invalid configuration: field `max_nesting_depth`: must be between 1 and 32, got 0"),
        (json!({"additional_labels": ["a", "a"]}), "invalid configuration: field `additional_labels[1]`: duplicate of `additional_labels[0]`"),
    ];
    for (config, expected) in cases {
        match client_builder(config).start() {
            Err(harness::Error::ConfigRejected { logs }) => {
                assert!(
                    logs.iter()
                        .any(|l| l.level == Level::Error && l.message == expected),
                    "{logs:#?}"
                );
            }
            Err(e) => panic!("unexpected error {e:?}"),
            Ok(_) => panic!("configuration accepted"),
        }
    }
    match client_builder(json!({"direction": "up"})).start() {
        Err(harness::Error::ConfigRejected { logs }) => assert!(
            logs.iter().any(|l| l
                .message
                .starts_with("invalid configuration: field `direction`: unknown variant, expected one of `auto`, `inbound`, `outbound`")),
            "{logs:#?}"
        ),
        other => panic!("unexpected {:?}", other.err()),
    }
}

#[test]
fn a_bad_upstream_value_is_ignored_on_the_response_side() {
    let mut client = start(client_builder(json!({})));
    let r = run(&mut client, &[], &[(MD, "Cw=="), (MD_ID, SERVER_ID)]);
    assert_eq!(r.upstream_peer, None);
    assert_eq!(r.upstream_peer_id.as_deref(), Some(SERVER_ID.as_bytes()));
    assert_eq!(r.client.header(MD), None);
    assert_eq!(r.client.header(MD_ID), None);
    assert_eq!(r.client.status(), Some(200));
    assert!(client
        .logs_at(Level::Debug)
        .contains(&"upstream peer metadata ignored: invalid Struct: invalid wire type 3"));
    assert_eq!(client.metric("metadata_exchange.decode_failures"), Some(1));
    assert_eq!(client.metric("metadata_exchange.peers_decoded"), Some(0));
}

#[test]
fn repeated_headers_use_the_first_value_and_strip_all() {
    let mut server = start(server_builder(json!({})));
    let r = run(
        &mut server,
        &[
            (MD, CLIENT_MD_B64),
            (MD, ISTIO_1_14_REVIEWS),
            (MD_ID, CLIENT_ID),
            (MD_ID, ISTIO_1_14_REVIEWS_ID),
        ],
        &[],
    );
    assert_eq!(peer(&r.downstream_peer.unwrap()), expected_client_struct());
    assert_eq!(r.downstream_peer_id.as_deref(), Some(CLIENT_ID.as_bytes()));
    assert!(r.upstream.header_all(MD).is_empty());
    assert!(r.upstream.header_all(MD_ID).is_empty());
}

/// The SDK's `String` header getters `unwrap` UTF-8: an id that is not UTF-8 must reach the
/// filter as bytes, be stored byte for byte, and be logged lossily, on both sides.
#[test]
fn non_utf8_peer_ids_are_stored_raw_without_trapping() {
    let id: &[u8] = b"sidecar~\xff\xfe~pod";
    let mut server = start(server_builder(json!({})));
    let mut s = server.http_stream();
    let request: Vec<(&str, &[u8])> = REQUEST
        .iter()
        .map(|(k, v)| (*k, v.as_bytes()))
        .chain([(MD, CLIENT_MD_B64.as_bytes()), (MD_ID, id)])
        .collect();
    assert_eq!(s.request_headers(&request, true).unwrap(), Action::Continue);
    assert_eq!(
        s.filter_state("wasm.downstream_peer_id").as_deref(),
        Some(id)
    );
    assert!(s.filter_state("wasm.downstream_peer").is_some());
    assert_eq!(s.request().header_all(MD_ID), Vec::<&str>::new());
    s.response_headers(&[(":status", "200")], true).unwrap();
    assert_eq!(s.response().header(MD_ID), Some(SERVER_ID));
    s.complete().unwrap();
    drop(s);
    assert!(server.logs_at(Level::Debug).contains(
        &"downstream peer: id=sidecar~\u{fffd}\u{fffd}~pod name=client-5c8d7f6b9-abcde namespace=default workload=client app=client version=v1"
    ));
    assert!(server.failure().is_none());

    let mut client = start(client_builder(json!({})));
    let mut s = client.http_stream();
    s.request_headers(&REQUEST, true).unwrap();
    let response: [(&str, &[u8]); 3] = [
        (":status", b"200"),
        (MD, SERVER_MD_B64.as_bytes()),
        (MD_ID, id),
    ];
    assert_eq!(
        s.response_headers(&response, true).unwrap(),
        Action::Continue
    );
    assert_eq!(s.filter_state("wasm.upstream_peer_id").as_deref(), Some(id));
    assert_eq!(s.response().header_all(MD_ID), Vec::<&str>::new());
    s.complete().unwrap();
    drop(s);
    assert!(client.failure().is_none());
}

/// Peer values are attacker-controlled on inbound: a NAME with a newline must not start a
/// forged log line, spaces must not forge `key=value` fields, and control, C1, DEL, line
/// separator and bidi characters must reach the log escaped.
#[test]
fn peer_values_cannot_forge_log_lines_or_carry_control_characters() {
    let mut labels = Struct::new();
    labels.insert("app", string("a\u{202e}exe.png"));
    labels.insert("version", string("v\u{2028}1\u{85}\u{7f}"));
    let mut md = Struct::new();
    md.insert(
        "NAME",
        string("evil\nwasm log metadata_exchange: downstream peer: id=x name=admin"),
    );
    md.insert("NAMESPACE", string("ns namespace=kube-system"));
    md.insert("WORKLOAD_NAME", string("w\r\u{1b}[31mred"));
    md.insert("LABELS", Value::Struct(labels));
    let value = header::encode(&md);
    // Header values can carry a tab and UTF-8 (bidi controls) through Envoy.
    let id = "sidecar~10.0.0.9~x.ns~ns.svc.cluster.local\t\u{2066}";

    let mut server = start(server_builder(json!({})));
    let r = run(&mut server, &[(MD, &value), (MD_ID, id)], &[]);
    // Stored untouched: only the log rendering is escaped.
    assert_eq!(peer(&r.downstream_peer.unwrap()), md);
    assert_eq!(r.downstream_peer_id.as_deref(), Some(id.as_bytes()));

    let expected = concat!(
        r#"downstream peer: id="sidecar~10.0.0.9~x.ns~ns.svc.cluster.local\t\u{2066}" "#,
        r#"name="evil\nwasm log metadata_exchange: downstream peer: id=x name=admin" "#,
        r#"namespace="ns namespace=kube-system" workload="w\r\u{1b}[31mred" "#,
        r#"app="a\u{202e}exe.png" version="v\u{2028}1\u{85}\u{7f}""#
    );
    let debug = server.logs_at(Level::Debug);
    assert!(debug.contains(&expected), "{debug:#?}");
    for entry in server.logs() {
        assert!(
            !entry.message.chars().any(|c| c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{61c}'
                )
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)),
            "unescaped character in {:?}",
            entry.message
        );
    }
}

/// A value that looks like a missing one (`-`) or is otherwise plain stays readable; only
/// ambiguous values are quoted.
#[test]
fn plain_peer_values_are_logged_as_is_and_a_dash_is_quoted() {
    let mut md = Struct::new();
    md.insert("NAME", string("-"));
    md.insert("NAMESPACE", string("prod"));
    md.insert("WORKLOAD_NAME", string("café"));
    let mut server = start(server_builder(json!({})));
    run(
        &mut server,
        &[(MD, &header::encode(&md)), (MD_ID, CLIENT_ID)],
        &[],
    );
    let expected = format!(
        r#"downstream peer: id={CLIENT_ID} name="-" namespace=prod workload=café app=- version=-"#
    );
    assert!(
        server.logs_at(Level::Debug).contains(&expected.as_str()),
        "{:#?}",
        server.logs_at(Level::Debug)
    );
}
