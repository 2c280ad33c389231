//! Golden vectors for the Struct codec and the header format.
//!
//! Hand-computed vectors check the deterministic layout byte by byte; values captured from
//! real Istio proxies check that decoding and re-encoding reproduces Istio's bytes exactly.

use crate::header::{self, Limits};
use crate::structpb::{Struct, Value};
use crate::wire::{put_len, DecodeError};

const LIMITS: Limits = Limits {
    max_header_size: 8192,
    max_depth: 8,
};

fn obj(pairs: &[(&str, Value)]) -> Struct {
    let mut s = Struct::new();
    for (k, v) in pairs {
        s.insert(*k, v.clone());
    }
    s
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn unhex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect()
}

/// Encodes, compares with the expected bytes, and decodes back to the same value.
fn golden(value: &Struct, expected: &str) {
    let bytes = value.encode();
    assert_eq!(hex(&bytes), hex(&unhex(expected)));
    assert_eq!(&Struct::decode(&bytes, 8).unwrap(), value);
}

// x-envoy-peer-metadata sent by the bookinfo reviews-v3 sidecar (Istio 1.14.5), from
// "Istio metrics deep dive" (zhaohuabing.com, 2023-02-14). 555 bytes: no padding needed.
const ISTIO_1_14_REVIEWS: &str = "ChsKDkFQUF9DT05UQUlORVJTEgkaB3Jldmlld3MKGgoKQ0xVU1RFUl9JRBIMGgpLdWJlcm5ldGVzCh4KDElOU1RBTkNFX0lQUxIOGgwxNzIuMTYuMC4xMzMKGQoNSVNUSU9fVkVSU0lPThIIGgYxLjE0LjUK0wEKBkxBQkVMUxLIASrFAQoQCgNhcHASCRoHcmV2aWV3cwofChFwb2QtdGVtcGxhdGUtaGFzaBIKGgg1OGI2NDc5YgokChlzZWN1cml0eS5pc3Rpby5pby90bHNNb2RlEgcaBWlzdGlvCiwKH3NlcnZpY2UuaXN0aW8uaW8vY2Fub25pY2FsLW5hbWUSCRoHcmV2aWV3cworCiNzZXJ2aWNlLmlzdGlvLmlvL2Nhbm9uaWNhbC1yZXZpc2lvbhIEGgJ2MwoPCgd2ZXJzaW9uEgQaAnYzChoKB01FU0hfSUQSDxoNY2x1c3Rlci5sb2NhbAojCgROQU1FEhsaGXJldmlld3MtdjMtNThiNjQ3OWItNjJydjUKFgoJTkFNRVNQQUNFEgkaB2RlZmF1bHQKTgoFT1dORVISRRpDa3ViZXJuZXRlczovL2FwaXMvYXBwcy92MS9uYW1lc3BhY2VzL2RlZmF1bHQvZGVwbG95bWVudHMvcmV2aWV3cy12MwoXChFQTEFURk9STV9NRVRBREFUQRICKgAKHQoNV09SS0xPQURfTkFNRRIMGgpyZXZpZXdzLXYz";

// The ratings-v1 sidecar's answer in the same capture.
const ISTIO_1_14_RATINGS: &str = "ChsKDkFQUF9DT05UQUlORVJTEgkaB3JhdGluZ3MKGgoKQ0xVU1RFUl9JRBIMGgpLdWJlcm5ldGVzCh0KDElOU1RBTkNFX0lQUxINGgsxNzIuMTYuMC42OQoZCg1JU1RJT19WRVJTSU9OEggaBjEuMTQuNQrVAQoGTEFCRUxTEsoBKscBChAKA2FwcBIJGgdyYXRpbmdzCiEKEXBvZC10ZW1wbGF0ZS1oYXNoEgwaCjg1Y2M0NmI2ZDQKJAoZc2VjdXJpdHkuaXN0aW8uaW8vdGxzTW9kZRIHGgVpc3RpbwosCh9zZXJ2aWNlLmlzdGlvLmlvL2Nhbm9uaWNhbC1uYW1lEgkaB3JhdGluZ3MKKwojc2VydmljZS5pc3Rpby5pby9jYW5vbmljYWwtcmV2aXNpb24SBBoCdjEKDwoHdmVyc2lvbhIEGgJ2MQoaCgdNRVNIX0lEEg8aDWNsdXN0ZXIubG9jYWwKJQoETkFNRRIdGhtyYXRpbmdzLXYxLTg1Y2M0NmI2ZDQtbjdxZGcKFgoJTkFNRVNQQUNFEgkaB2RlZmF1bHQKTgoFT1dORVISRRpDa3ViZXJuZXRlczovL2FwaXMvYXBwcy92MS9uYW1lc3BhY2VzL2RlZmF1bHQvZGVwbG95bWVudHMvcmF0aW5ncy12MQoXChFQTEFURk9STV9NRVRBREFUQRICKgAKHQoNV09SS0xPQURfTkFNRRIMGgpyYXRpbmdzLXYx";

// A response header from an Istio 1.6-era sidecar (website-api, namespace production), quoted in
// HackerOne report #902733 (2020-06-19). 487 bytes: padded with "==".
const ISTIO_1_6_WEBSITE_API: &str = "Ch4KDElOU1RBTkNFX0lQUxIOGgwxMC4wLjE1Mi4yMDEK0AEKBkxBQkVMUxLFASrCAQoUCgNhcHASDRoLd2Vic2l0ZS1hcGkKIQoRcG9kLXRlbXBsYXRlLWhhc2gSDBoKN2Q5NzRmNTQ3NQokChlzZWN1cml0eS5pc3Rpby5pby90bHNNb2RlEgcaBWlzdGlvCjAKH3NlcnZpY2UuaXN0aW8uaW8vY2Fub25pY2FsLW5hbWUSDRoLd2Vic2l0ZS1hcGkKLwojc2VydmljZS5pc3Rpby5pby9jYW5vbmljYWwtcmV2aXNpb24SCBoGbGF0ZXN0ChoKB01FU0hfSUQSDxoNY2x1c3Rlci5sb2NhbAomCgROQU1FEh4aHHdlYnNpdGUtYXBpLTdkOTc0ZjU0NzUtZHRuZzgKGQoJTkFNRVNQQUNFEgwaCnByb2R1Y3Rpb24KUgoFT1dORVISSRpHa3ViZXJuZXRlczovL2FwaXMvYXBwcy92MS9uYW1lc3BhY2VzL3Byb2R1Y3Rpb24vZGVwbG95bWVudHMvd2Vic2l0ZS1hcGkKHwoPU0VSVklDRV9BQ0NPVU5UEgwaCnZhdWx0LWF1dGgKHgoNV09SS0xPQURfTkFNRRINGgt3ZWJzaXRlLWFwaQ==";

#[test]
fn empty_struct_is_no_bytes() {
    golden(&Struct::new(), "");
    assert_eq!(header::encode(&Struct::new()), "");
}

#[test]
fn one_string_field() {
    // entry { key "a" (0a 01 61), value { string_value "b" (1a 01 62) } (12 03 ..) }
    golden(&obj(&[("a", s("b"))]), "0a 08 0a 01 61 12 03 1a 01 62");
}

#[test]
fn keys_are_sorted_by_bytes() {
    // Inserted out of order; "B" (0x42) < "a" (0x61) < "ab" < "b".
    let value = obj(&[
        ("b", Value::Bool(true)),
        ("ab", Value::Null),
        ("a", Value::Bool(false)),
        ("B", s("")),
    ]);
    golden(
        &value,
        "0a 07 0a 01 42 12 02 1a 00 \
         0a 07 0a 01 61 12 02 20 00 \
         0a 08 0a 02 61 62 12 02 08 00 \
         0a 07 0a 01 62 12 02 20 01",
    );
    let keys: Vec<&str> = value.keys().collect();
    assert_eq!(keys, ["B", "a", "ab", "b"]);
}

#[test]
fn non_ascii_keys_sort_after_ascii() {
    // "é" is c3 a9 in UTF-8: after "z" (7a) in byte order.
    golden(
        &obj(&[("\u{e9}", Value::Null), ("z", Value::Null)]),
        "0a 07 0a 01 7a 12 02 08 00 0a 08 0a 02 c3 a9 12 02 08 00",
    );
}

#[test]
fn numbers_are_fixed64_doubles() {
    // 1.0 = 0x3ff0000000000000, little-endian after tag 0x11 (field 2, wire type 1).
    golden(
        &obj(&[("n", Value::Number(1.0))]),
        "0a 0e 0a 01 6e 12 09 11 00 00 00 00 00 00 f0 3f",
    );
    // Zero is still written: a set oneof member is always serialized.
    golden(
        &obj(&[("z", Value::Number(0.0))]),
        "0a 0e 0a 01 7a 12 09 11 00 00 00 00 00 00 00 00",
    );
    // -2.5 = 0xc004000000000000; 15092.5 = 0x40cd7a4000000000.
    assert_eq!(
        hex(&Value::Number(-2.5).encode()),
        "11 00 00 00 00 00 00 04 c0"
    );
    assert_eq!(
        hex(&Value::Number(15092.5).encode()),
        "11 00 00 00 00 40 7a cd 40"
    );
}

#[test]
fn empty_values_are_written() {
    assert_eq!(hex(&s("").encode()), "1a 00");
    assert_eq!(hex(&Value::Bool(false).encode()), "20 00");
    assert_eq!(hex(&Value::Null.encode()), "08 00");
    assert_eq!(hex(&Value::Struct(Struct::new()).encode()), "2a 00");
    assert_eq!(hex(&Value::List(vec![]).encode()), "32 00");
    // Empty key and empty string: both still present in the entry.
    golden(&obj(&[("", s(""))]), "0a 06 0a 00 12 02 1a 00");
}

#[test]
fn nested_structs() {
    // LABELS { x: "y" }: inner struct is 10 bytes, value 12, entry 17.
    let inner = obj(&[("x", s("y"))]);
    golden(
        &obj(&[("L", Value::Struct(inner))]),
        "0a 11 0a 01 4c 12 0c 2a 0a 0a 08 0a 01 78 12 03 1a 01 79",
    );
}

#[test]
fn lists_of_every_kind() {
    let list = Value::List(vec![
        s("a"),
        Value::Number(1.0),
        Value::Bool(true),
        Value::Null,
        Value::List(vec![]),
        Value::Struct(Struct::new()),
    ]);
    golden(
        &obj(&[("l", list)]),
        "0a 27 0a 01 6c 12 22 32 20 \
         0a 03 1a 01 61 \
         0a 09 11 00 00 00 00 00 00 f0 3f \
         0a 02 20 01 \
         0a 02 08 00 \
         0a 02 32 00 \
         0a 02 2a 00",
    );
}

#[test]
fn long_strings_use_multi_byte_lengths() {
    let long = "x".repeat(200);
    let bytes = obj(&[("k", s(&long))]).encode();
    // value = 1a c8 01 + 200 bytes (203); entry = 0a 01 6b 12 cb 01 + 203 (209 = d1 01).
    assert_eq!(hex(&bytes[..10]), "0a d1 01 0a 01 6b 12 cb 01 1a");
    assert_eq!(bytes[10], 0xc8);
    assert_eq!(bytes.len(), 3 + 209);
}

#[test]
fn decoding_accepts_any_field_order_unknown_fields_and_last_wins() {
    // Entry with value before key, an unknown varint field 7, and a duplicate key "a".
    let bytes = unhex(
        "0a 0a 12 03 1a 01 31 38 05 0a 01 61 \
         0a 08 0a 01 61 12 03 1a 01 32",
    );
    let decoded = Struct::decode(&bytes, 8).unwrap();
    assert_eq!(decoded, obj(&[("a", s("2"))]));
    // Two oneof members: the last one wins; a kind-less Value reads as null.
    let bytes = unhex("0a 0a 0a 01 61 12 05 1a 01 78 20 01 0a 05 0a 01 62 12 00");
    let decoded = Struct::decode(&bytes, 8).unwrap();
    assert_eq!(
        decoded,
        obj(&[("a", Value::Bool(true)), ("b", Value::Null)])
    );
    // Unsorted keys with a duplicate: sorted on decode, the later duplicate wins.
    let mut bytes = Vec::new();
    for (k, v) in [("b", "1"), ("a", "2"), ("c", "3"), ("b", "4")] {
        bytes.extend_from_slice(&obj(&[(k, s(v))]).encode());
    }
    let decoded = Struct::decode(&bytes, 8).unwrap();
    assert_eq!(decoded.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
    assert_eq!(decoded.get_str("b"), Some("4"));
    assert_eq!(
        decoded.encode(),
        obj(&[("a", s("2")), ("b", s("4")), ("c", s("3"))]).encode()
    );
    // A known field with the wrong wire type is an unknown field (string_value as varint).
    let bytes = unhex("0a 07 0a 01 61 12 02 18 05");
    assert_eq!(
        Struct::decode(&bytes, 8).unwrap(),
        obj(&[("a", Value::Null)])
    );
}

#[test]
fn decoding_rejects_malformed_input() {
    let cases: [(&str, DecodeError); 6] = [
        ("0a 08 0a 01 61 12 03 1a 01", DecodeError::Truncated),
        ("0a 05 0a 01 61 12 05", DecodeError::Truncated),
        ("0a", DecodeError::Truncated),
        ("0b", DecodeError::InvalidWireType(3)),
        ("00 00", DecodeError::InvalidFieldNumber(0)),
        ("0a 07 0a 01 61 12 02 1a 01", DecodeError::Truncated),
    ];
    for (input, expected) in cases {
        assert_eq!(Struct::decode(&unhex(input), 8), Err(expected), "{input}");
    }
    // Invalid UTF-8 in a key and in a string value.
    let bad_key = unhex("0a 06 0a 02 c3 28 12 00");
    assert_eq!(Struct::decode(&bad_key, 8), Err(DecodeError::InvalidUtf8));
    let bad_value = unhex("0a 07 0a 01 61 12 02 1a 01 ff");
    // The inner length says 1 byte of string but the value field is cut: truncated first.
    assert!(Struct::decode(&bad_value, 8).is_err());
    let bad_value = unhex("0a 08 0a 01 61 12 03 1a 01 ff");
    assert_eq!(Struct::decode(&bad_value, 8), Err(DecodeError::InvalidUtf8));
}

/// `depth` structs nested in one another, innermost holding a string.
fn nested(depth: usize) -> Struct {
    let mut value = obj(&[("leaf", s("x"))]);
    for _ in 1..depth {
        value = obj(&[("n", Value::Struct(value))]);
    }
    value
}

#[test]
fn nesting_limit_applies_to_structs_and_lists() {
    let bytes = nested(8).encode();
    assert!(Struct::decode(&bytes, 8).is_ok());
    assert_eq!(Struct::decode(&bytes, 7), Err(DecodeError::TooDeep(7)));
    // Lists count as a level too: struct > list > struct is depth 3.
    let value = obj(&[("l", Value::List(vec![Value::Struct(obj(&[("k", s("v"))]))]))]);
    let bytes = value.encode();
    assert!(Struct::decode(&bytes, 3).is_ok());
    assert_eq!(Struct::decode(&bytes, 2), Err(DecodeError::TooDeep(2)));
    // A hostile chain of 10,000 nested lists stops at the limit without deep recursion.
    let mut value = unhex("32 00");
    for _ in 0..10_000 {
        let mut list = Vec::new();
        put_len(&mut list, 1, &value);
        value = Vec::new();
        put_len(&mut value, 6, &list);
    }
    let mut entry = Vec::new();
    put_len(&mut entry, 1, b"k");
    put_len(&mut entry, 2, &value);
    let mut hostile = Vec::new();
    put_len(&mut hostile, 1, &entry);
    assert_eq!(Struct::decode(&hostile, 32), Err(DecodeError::TooDeep(32)));
}

fn labels(s: &Struct) -> &Struct {
    s.get_struct("LABELS").unwrap()
}

#[test]
fn decodes_a_real_istio_1_14_request_header_byte_for_byte() {
    let peer = header::decode(ISTIO_1_14_REVIEWS.as_bytes(), LIMITS).unwrap();
    let md = &peer.metadata();
    let keys: Vec<&str> = md.keys().collect();
    assert_eq!(
        keys,
        [
            "APP_CONTAINERS",
            "CLUSTER_ID",
            "INSTANCE_IPS",
            "ISTIO_VERSION",
            "LABELS",
            "MESH_ID",
            "NAME",
            "NAMESPACE",
            "OWNER",
            "PLATFORM_METADATA",
            "WORKLOAD_NAME"
        ]
    );
    assert_eq!(md.get_str("APP_CONTAINERS"), Some("reviews"));
    assert_eq!(md.get_str("CLUSTER_ID"), Some("Kubernetes"));
    assert_eq!(md.get_str("INSTANCE_IPS"), Some("172.16.0.133"));
    assert_eq!(md.get_str("ISTIO_VERSION"), Some("1.14.5"));
    assert_eq!(md.get_str("MESH_ID"), Some("cluster.local"));
    assert_eq!(md.get_str("NAME"), Some("reviews-v3-58b6479b-62rv5"));
    assert_eq!(md.get_str("NAMESPACE"), Some("default"));
    assert_eq!(
        md.get_str("OWNER"),
        Some("kubernetes://apis/apps/v1/namespaces/default/deployments/reviews-v3")
    );
    assert_eq!(md.get_struct("PLATFORM_METADATA"), Some(&Struct::new()));
    assert_eq!(md.get_str("WORKLOAD_NAME"), Some("reviews-v3"));
    let expected_labels = obj(&[
        ("app", s("reviews")),
        ("pod-template-hash", s("58b6479b")),
        ("security.istio.io/tlsMode", s("istio")),
        ("service.istio.io/canonical-name", s("reviews")),
        ("service.istio.io/canonical-revision", s("v3")),
        ("version", s("v3")),
    ]);
    assert_eq!(labels(md), &expected_labels);
    // Our deterministic encoding reproduces Istio's bytes and header exactly.
    assert_eq!(md.encode(), peer.bytes);
    assert_eq!(header::encode(md), ISTIO_1_14_REVIEWS);
}

#[test]
fn decodes_a_real_istio_response_header_byte_for_byte() {
    let peer = header::decode(ISTIO_1_14_RATINGS.as_bytes(), LIMITS).unwrap();
    let md = peer.metadata();
    assert_eq!(md.get_str("NAME"), Some("ratings-v1-85cc46b6d4-n7qdg"));
    assert_eq!(labels(&md).get_str("version"), Some("v1"));
    assert_eq!(header::encode(&md), ISTIO_1_14_RATINGS);
}

#[test]
fn decodes_real_padded_values_with_and_without_padding() {
    assert!(ISTIO_1_6_WEBSITE_API.ends_with("=="));
    let padded = header::decode(ISTIO_1_6_WEBSITE_API.as_bytes(), LIMITS).unwrap();
    let unpadded_text = ISTIO_1_6_WEBSITE_API.trim_end_matches('=');
    let unpadded = header::decode(unpadded_text.as_bytes(), LIMITS).unwrap();
    assert_eq!(padded, unpadded);
    let md = &padded.metadata();
    assert_eq!(md.get_str("NAME"), Some("website-api-7d974f5475-dtng8"));
    assert_eq!(md.get_str("NAMESPACE"), Some("production"));
    assert_eq!(md.get_str("SERVICE_ACCOUNT"), Some("vault-auth"));
    assert_eq!(md.get_str("WORKLOAD_NAME"), Some("website-api"));
    assert_eq!(labels(md).get_str("app"), Some("website-api"));
    assert_eq!(
        labels(md).get_str("service.istio.io/canonical-revision"),
        Some("latest")
    );
    assert_eq!(padded.bytes.len(), 487);
    // Encoders pad: re-encoding gives the padded original back.
    assert_eq!(header::encode(md), ISTIO_1_6_WEBSITE_API);
}

#[test]
fn encodes_a_current_istio_peer_as_hand_computed() {
    // The Struct a current Istio sidecar builds (convertWorkloadMetadataToStruct), small enough
    // to check by hand: CLUSTER_ID, LABELS { app }, NAME.
    let md = obj(&[
        ("NAME", s("p")),
        ("CLUSTER_ID", s("c")),
        ("LABELS", Value::Struct(obj(&[("app", s("a"))]))),
    ]);
    golden(
        &md,
        "0a 11 0a 0a 43 4c 55 53 54 45 52 5f 49 44 12 03 1a 01 63 \
         0a 18 0a 06 4c 41 42 45 4c 53 12 0e 2a 0c 0a 0a 0a 03 61 70 70 12 03 1a 01 61 \
         0a 0b 0a 04 4e 41 4d 45 12 03 1a 01 70",
    );
}
