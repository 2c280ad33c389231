//! Shared data (compare-and-swap) and shared queues through the ABI probe, within one VM and
//! across two VMs of one `Host` (as Envoy shares them between worker VMs).

mod abi_support;

use abi_support::{after, calls, probe};
use harness::Host;
use serde_json::json;

#[test]
fn shared_data_compare_and_swap() {
    let p = probe(json!({"on": {"configure": [
        {"call": "proxy_get_shared_data", "key": "k"},
        {"call": "proxy_set_shared_data", "key": "k", "value": "v1"},
        {"call": "proxy_get_shared_data", "key": "k", "save": "cas"},
        {"call": "proxy_set_shared_data", "key": "k", "value": "lost", "cas": 12345},
        {"call": "proxy_set_shared_data", "key": "k", "value": "v2", "cas": "$cas"},
        {"call": "proxy_set_shared_data", "key": "k", "value": "stale", "cas": "$cas"},
        {"call": "proxy_get_shared_data", "key": "k"}
    ]}}))
    .start()
    .unwrap();
    assert_eq!(
        calls(&p),
        [
            "call proxy_get_shared_data -> status 1",
            "call proxy_set_shared_data -> status 0",
            "call proxy_get_shared_data -> status 0 value \"v1\" cas 1",
            "call proxy_set_shared_data -> status 8",
            "call proxy_set_shared_data -> status 0",
            "call proxy_set_shared_data -> status 8",
            "call proxy_get_shared_data -> status 0 value \"v2\" cas 2",
        ]
    );
}

#[test]
fn shared_data_is_shared_by_the_vms_of_one_host() {
    let host = Host::new();
    let _a = host
        .plugin("abi-probe")
        .config_json(json!({"on": {"configure": [{"call": "proxy_set_shared_data", "key": "k", "value": "from-a"}]}}))
        .start()
        .unwrap();
    let b = host
        .plugin("abi-probe")
        .config_json(json!({"on": {"configure": [{"call": "proxy_get_shared_data", "key": "k"}]}}))
        .start()
        .unwrap();
    assert_eq!(
        calls(&b),
        ["call proxy_get_shared_data -> status 0 value \"from-a\" cas 1"]
    );
    assert_eq!(host.shared_data("k"), Some((b"from-a".to_vec(), 1)));
    // A VM of another host does not see it.
    let c = probe(json!({"on": {"configure": [{"call": "proxy_get_shared_data", "key": "k"}]}}))
        .start()
        .unwrap();
    assert_eq!(calls(&c), ["call proxy_get_shared_data -> status 1"]);
}

#[test]
fn queue_registration_resolution_and_errors() {
    let p = probe(json!({"on": {"configure": [
        {"call": "proxy_register_shared_queue", "name": "q", "save": "q"},
        {"call": "proxy_register_shared_queue", "name": "q"},
        {"call": "proxy_resolve_shared_queue", "vm_id": "vm", "name": "q"},
        {"call": "proxy_resolve_shared_queue", "vm_id": "", "name": "q"},
        {"call": "proxy_resolve_shared_queue", "vm_id": "vm", "name": "nope"},
        {"call": "proxy_resolve_shared_queue", "vm_id": "other", "name": "q"},
        {"call": "proxy_dequeue_shared_queue", "queue": "$q"},
        {"call": "proxy_dequeue_shared_queue", "queue": 999},
        {"call": "proxy_enqueue_shared_queue", "queue": 999, "value": "x"}
    ]}}))
    .vm_id("vm")
    .start()
    .unwrap();
    let got = calls(&p);
    let id = got[0]
        .strip_prefix("call proxy_register_shared_queue -> status 0 queue ")
        .unwrap();
    assert_eq!(
        got[1..],
        [
            // Registering again opens the same queue.
            format!("call proxy_register_shared_queue -> status 0 queue {id}"),
            format!("call proxy_resolve_shared_queue -> status 0 queue {id}"),
            // Envoy resolves an empty vm_id in the caller's own VM id.
            format!("call proxy_resolve_shared_queue -> status 0 queue {id}"),
            "call proxy_resolve_shared_queue -> status 1".into(),
            "call proxy_resolve_shared_queue -> status 1".into(),
            "call proxy_dequeue_shared_queue -> status 7".into(),
            "call proxy_dequeue_shared_queue -> status 1".into(),
            "call proxy_enqueue_shared_queue -> status 1".into(),
        ]
    );
}

#[test]
fn a_queue_carries_items_between_two_vms_and_wakes_its_owner() {
    let host = Host::new();
    let mut owner = host
        .plugin("abi-probe")
        .vm_id("collector")
        .config_json(json!({"on": {
            "configure": [{"call": "proxy_register_shared_queue", "name": "events"}],
            "queue_ready": [
                {"call": "proxy_dequeue_shared_queue", "queue": "$queue"},
                {"call": "proxy_dequeue_shared_queue", "queue": "$queue"}
            ]
        }}))
        .start()
        .unwrap();
    let sender = host
        .plugin("abi-probe")
        .vm_id("worker")
        .config_json(json!({"on": {"configure": [
            {"call": "proxy_resolve_shared_queue", "vm_id": "collector", "name": "events", "save": "q"},
            {"call": "proxy_enqueue_shared_queue", "queue": "$q", "value": "event-1"}
        ]}}))
        .start()
        .unwrap();
    assert_eq!(
        calls(&sender)[1],
        "call proxy_enqueue_shared_queue -> status 0"
    );
    assert_eq!(
        host.queue_items("collector", "events"),
        [b"event-1".to_vec()]
    );
    owner.deliver_queue_ready().unwrap();
    let id = calls(&owner)[0].rsplit(' ').next().unwrap().to_string();
    assert_eq!(
        after(&owner, &calls(&owner)[0]),
        [
            format!("callback proxy_on_queue_ready ctx=1 queue={id}"),
            "call proxy_dequeue_shared_queue -> status 0 value \"event-1\"".into(),
            "call proxy_dequeue_shared_queue -> status 7".into(),
        ]
    );
    assert!(host.queue_items("collector", "events").is_empty());
}
