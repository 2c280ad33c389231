//! Scenario files through the library API: parsing rules, callout answers and failures, log and
//! metric expectations with readable failures.
use harness::scenario;

fn run(yaml: &str) -> scenario::Outcome {
    let s = scenario::parse(yaml, false).expect("scenario parses");
    let mut p = s
        .builder(s.filter.as_deref().unwrap_or("abi-probe"), None)
        .start()
        .expect("plugin starts");
    scenario::run(&s, &mut p)
}

const CALLOUT: &str = r#"
plugin:
  config:
    on:
      request_headers:
        - {call: proxy_http_call, cluster: auth, headers: [[":method", GET], [":path", /c], [":authority", a]], timeout: 100}
        - {let: {stream: "$ctx"}}
        - {return: pause}
      http_call_response:
        - {call: proxy_set_effective_context, context: "$stream"}
        - {call: proxy_add_header_map_value, map: 0, key: x-answer, value: "$headers"}
        - {call: proxy_continue_stream, stream: 0}
"#;

#[test]
fn answered_and_failed_callouts() {
    // headers=4: :status, x-u, the upstream's content-length and x-envoy-upstream-service-time.
    let ok = run(&format!(
        "{CALLOUT}callouts:\n  - {{cluster: auth, response: {{status: 200, headers: {{x-u: '1'}}}}}}\nrequests:\n  - expect:\n      upstream: {{reached: true, headers: {{present: [x-answer]}}}}\n      logs: [{{level: info, contains: 'headers=4'}}]\n"
    ));
    assert!(ok.passed(), "{ok:#?}");
    // `fail: true` is a refused connection: Envoy's router answers 503 with its text body.
    let failed = run(&format!(
        "{CALLOUT}callouts:\n  - {{cluster: auth, fail: true}}\nrequests:\n  - expect:\n      logs: [{{contains: 'headers=3 body=98 trailers=0'}}]\n      client: {{status: 200}}\n"
    ));
    assert!(failed.passed(), "{failed:#?}");
}

#[test]
fn failures_say_what_differs() {
    let o = run(
        "plugin: {config: {on: {}}}\nrequests:\n  - name: one\n    headers: [[x-a, '1'], [x-a, 2]]\n    response: {status: 201, body: made}\n    expect:\n      upstream: {headers: {equal: {x-a: '2'}, absent: [x-a]}}\n      client: {status: 200, body_contains: nope}\n      logs: [{absent: callback}]\n      metrics: [{name: m, value: 1}]\n",
    );
    assert!(!o.passed());
    assert_eq!(
        o.requests[0].failures,
        [
            r#"upstream header x-a: expected absent, got "1""#,
            r#"upstream header x-a: expected "2", got "1""#,
            "client status: expected 200, got \"201\"",
            "client body: expected to contain \"nope\", got \"made\"",
            "logs: expected no line containing \"callback\", got \"callback proxy_on_context_create ctx=2 parent=1\"",
            "metric m: expected 1, got undefined",
        ]
    );
}

#[test]
fn bad_scenarios_are_rejected_with_the_reason() {
    let err = |y: &str| scenario::parse(y, false).err().unwrap_or_default();
    assert!(err("requests: [{pth: /}]").contains("unknown field `pth`"));
    assert!(err("properties: [{path: [a], int: 1, string: x}]")
        .contains("exactly one of string, int, bool, double"));
    assert!(err("callouts: [{cluster: a}]").contains("either response or fail"));
    assert!(
        err("requests: [{expect: {logs: [{level: loud, contains: x}]}}]")
            .contains("unknown log level 'loud'")
    );
    assert!(err("requests: [{headers: {x: [1]}}]").contains("header values must be strings"));
    assert!(scenario::parse(r#"{"requests": [{"path": "/j"}]}"#, true).is_ok());
}

#[test]
fn json_equal_checks_a_subset_of_the_body_fields() {
    let yaml = |want: &str| {
        format!(
            "plugin: {{config: {{on: {{}}}}}}\nrequests:\n  - response: {{status: 200, body: '{{\"user\": {{\"name\": \"ann\", \"id\": 7}}, \"tags\": [1, 2], \"ok\": true}}'}}\n    expect:\n      client: {{json_equal: {want}}}\n"
        )
    };
    assert!(run(&yaml("{user: {name: ann}, ok: true}")).passed());
    assert!(run(&yaml("{tags: [1, 2]}")).passed());
    let o = run(&yaml("{user: {name: bob, role: x}, tags: [1]}"));
    assert_eq!(
        o.requests[0].failures,
        [
            r#"client body.tags: expected [1], got [1,2]"#,
            r#"client body.user.name: expected "bob", got "ann""#,
            r#"client body.user.role: expected "x", got no such field"#,
        ]
    );
    let o = run(
        "plugin: {config: {on: {}}}\nrequests:\n  - response: {body: 'not json'}\n    expect:\n      client: {json_equal: {a: 1}}\n",
    );
    assert!(
        o.requests[0].failures[0].starts_with(r#"client body: expected JSON, got "not json""#),
        "{:?}",
        o.requests[0].failures
    );
}

#[test]
fn several_plugins_make_one_scenario_each() {
    let s = scenario::parse(
        "plugins:\n  - {name: a, config: x}\n  - {config: y, fail_open: true}\nrequests: [{}]\n",
        false,
    )
    .unwrap();
    let runs = s.per_plugin();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].plugin.name.as_deref(), Some("a"));
    assert!(runs[1].plugin.fail_open);
    assert_eq!(runs[1].requests.len(), 1);
    assert_eq!(s.plugin_label(0), "plugin 'a'");
    assert_eq!(s.plugin_label(1), "plugins[1]");
    let err = scenario::parse("plugin: {name: a}\nplugins: [{name: b}]\n", false)
        .err()
        .unwrap_or_default();
    assert!(err.contains("either `plugin` or `plugins`"), "{err}");
}
