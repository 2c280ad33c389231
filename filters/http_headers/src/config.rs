//! Configuration: what to set, add and remove on each side, checked and compiled once per
//! plugin configuration so that requests only render and apply.

use crate::template::{self, Part, Var};
use filter_common::config::OrderedMap;
use filter_common::headers::{is_pseudo, validate_name, validate_value};
use serde::Deserialize;

/// The plugin configuration, as JSON.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub request: Mutations,
    pub response: Mutations,
}

/// Header changes for one direction.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mutations {
    /// name -> value: replaces every existing value (or adds the header).
    pub set: OrderedMap<String>,
    /// name -> value: appends a value, keeping existing ones.
    pub add: OrderedMap<String>,
    /// names to remove entirely.
    pub remove: Vec<String>,
}

/// A header value: literal pieces and slots filled from request data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Literal(String),
    /// Index into [`Compiled::vars`].
    Slot(usize),
}

/// Header changes for one direction, ready to apply: remove, then set, then add.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rules {
    pub remove: Vec<String>,
    pub set: Vec<(String, Vec<Piece>)>,
    pub add: Vec<(String, Vec<Piece>)>,
}

impl Rules {
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty() && self.set.is_empty() && self.add.is_empty()
    }
}

/// The validated configuration (the default changes nothing).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Compiled {
    pub request: Rules,
    pub response: Rules,
    /// The request data the templates need, fetched once per request.
    pub vars: Vec<Var>,
}

#[derive(Clone, Copy)]
enum Side {
    Request,
    Response,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Request => "request",
            Side::Response => "response",
        }
    }

    /// Pseudo-headers that exist on this side (and so may be set).
    fn pseudo_headers(self) -> &'static [&'static str] {
        match self {
            Side::Request => &[":method", ":path", ":authority", ":scheme"],
            Side::Response => &[":status"],
        }
    }
}

impl Config {
    /// Validates and compiles. `plugin_name` fills `%PLUGIN_NAME%` now, as it never changes.
    pub fn compile(self, plugin_name: &str) -> Result<Compiled, String> {
        let mut vars = Vec::new();
        let mut request = compile_side(self.request, Side::Request, plugin_name, &mut vars)?;
        let response = compile_side(self.response, Side::Response, plugin_name, &mut vars)?;
        if request.is_empty() && response.is_empty() {
            // The classic demo: an empty configuration still shows the filter at work.
            request = Rules::default();
            let hello = vec![Piece::Literal("world".to_string())];
            return Ok(Compiled {
                request,
                response: Rules {
                    set: vec![("hello".to_string(), hello)],
                    ..Rules::default()
                },
                vars,
            });
        }
        Ok(Compiled {
            request,
            response,
            vars,
        })
    }
}

fn compile_side(
    m: Mutations,
    side: Side,
    plugin_name: &str,
    vars: &mut Vec<Var>,
) -> Result<Rules, String> {
    let at = |op: &str, name: &str| format!("{}.{op}.{name}", side.name());
    for name in &m.remove {
        check_name(name, side).map_err(|e| format!("{}.remove: {e}", side.name()))?;
        if is_pseudo(name) {
            return Err(format!(
                "{}.remove: pseudo-header `{name}` cannot be removed",
                side.name()
            ));
        }
        if m.set.iter().any(|(n, _)| n == name) {
            return Err(format!(
                "{}.remove: `{name}` is also in {}.set; keep one",
                side.name(),
                side.name()
            ));
        }
    }
    let mut compile = |op: &str, pairs: OrderedMap<String>| -> Result<_, String> {
        let mut out = Vec::with_capacity(pairs.len());
        for (name, value) in pairs.0 {
            check_name(&name, side).map_err(|e| format!("{}: {e}", at(op, &name)))?;
            if op == "add" && is_pseudo(&name) {
                return Err(format!(
                    "{}: pseudo-header `{name}` can only be set, not added",
                    at(op, &name)
                ));
            }
            validate_value(&name, &value).map_err(|e| format!("{}: {e}", at(op, &name)))?;
            let parts = template::parse(&value).map_err(|e| format!("{}: {e}", at(op, &name)))?;
            out.push((name, pieces(parts, plugin_name, vars)));
        }
        Ok(out)
    };
    let set = compile("set", m.set)?;
    let add = compile("add", m.add)?;
    Ok(Rules {
        remove: m.remove,
        set,
        add,
    })
}

fn check_name(name: &str, side: Side) -> Result<(), String> {
    validate_name(name)?;
    if is_pseudo(name) && !side.pseudo_headers().contains(&name) {
        return Err(format!(
            "unknown pseudo-header `{name}` for the {} (known: {})",
            side.name(),
            side.pseudo_headers().join(", ")
        ));
    }
    Ok(())
}

/// Turns parsed parts into pieces, giving each distinct variable one slot. Adjacent literals
/// (`%PLUGIN_NAME%` is one) are joined, so a value without request data is one literal.
fn pieces(parts: Vec<Part>, plugin_name: &str, vars: &mut Vec<Var>) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::with_capacity(parts.len());
    for part in parts {
        let piece = match part {
            Part::Literal(s) => Piece::Literal(s),
            Part::Var(Var::PluginName) => Piece::Literal(plugin_name.to_string()),
            Part::Var(var) => Piece::Slot(match vars.iter().position(|v| *v == var) {
                Some(i) => i,
                None => {
                    vars.push(var);
                    vars.len() - 1
                }
            }),
        };
        match (out.last_mut(), piece) {
            (Some(Piece::Literal(last)), Piece::Literal(next)) => last.push_str(&next),
            (_, piece) => out.push(piece),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use filter_common::config::parse;

    fn compile(json: &str) -> Result<Compiled, String> {
        parse::<Config>(json.as_bytes())
            .map_err(|e| e.to_string())?
            .compile("my-plugin")
    }

    fn lit(s: &str) -> Vec<Piece> {
        vec![Piece::Literal(s.to_string())]
    }

    #[test]
    fn empty_config_says_hello() {
        for json in ["", "{}", r#"{"request":{},"response":{"set":{}}}"#] {
            let c = compile(json).unwrap();
            assert!(c.request.is_empty());
            assert_eq!(c.response.set, vec![("hello".to_string(), lit("world"))]);
            assert!(c.response.add.is_empty() && c.response.remove.is_empty());
        }
    }

    #[test]
    fn every_operation_both_sides_in_order() {
        let c = compile(
            r#"{"request":{"set":{"x-b":"1","x-a":"2"},"add":{"x-c":"3"},"remove":["x-d"]},
                "response":{"set":{":status":"201"},"add":{"x-e":"4"},"remove":["server"]}}"#,
        )
        .unwrap();
        assert_eq!(
            c.request,
            Rules {
                remove: vec!["x-d".into()],
                set: vec![("x-b".into(), lit("1")), ("x-a".into(), lit("2"))],
                add: vec![("x-c".into(), lit("3"))],
            }
        );
        assert_eq!(c.response.set, vec![(":status".into(), lit("201"))]);
        assert_eq!(c.response.add, vec![("x-e".into(), lit("4"))]);
        assert_eq!(c.response.remove, vec!["server".to_string()]);
        assert!(c.vars.is_empty());
    }

    #[test]
    fn templates_share_slots_and_inline_plugin_name() {
        let c = compile(
            r#"{"request":{"set":{"x-id":"%REQUEST_ID%","x-by":"%PLUGIN_NAME%"}},
                "response":{"add":{"x-echo-id":"id=%REQUEST_ID% from %DOWNSTREAM_REMOTE_ADDRESS%"}}}"#,
        )
        .unwrap();
        assert_eq!(
            c.vars,
            vec![
                Var::RequestHeader("x-request-id".into()),
                Var::DownstreamAddress
            ]
        );
        assert_eq!(c.request.set[0].1, vec![Piece::Slot(0)]);
        assert_eq!(c.request.set[1].1, lit("my-plugin"));
        assert_eq!(
            c.response.add[0].1,
            vec![
                Piece::Literal("id=".into()),
                Piece::Slot(0),
                Piece::Literal(" from ".into()),
                Piece::Slot(1)
            ]
        );
    }

    #[test]
    fn adjacent_literals_are_one_piece() {
        let c = compile(r#"{"request":{"set":{"x-by":"by %PLUGIN_NAME%!","x-p":"%%%PATH%"}}}"#)
            .unwrap();
        assert_eq!(c.request.set[0].1, lit("by my-plugin!"));
        assert_eq!(
            c.request.set[1].1,
            vec![Piece::Literal("%".into()), Piece::Slot(0)]
        );
    }

    #[test]
    fn config_errors_name_the_problem() {
        let cases = [
            (r#"{"requests":{}}"#, "field `requests`: unknown field `requests`, expected `request` or `response`"),
            (r#"{"request":{"set":{"x":1}}}"#, "field `request.set.x`: invalid type: integer, expected a string"),
            (r#"{"request":{"set":[]}}"#, "field `request.set`: invalid type: sequence, expected an object"),
            (r#"{"request":{"remove":"x"}}"#, "field `request.remove`: invalid type: string, expected a sequence"),
            (r#"{"request":{"sett":{}}}"#, "field `request.sett`: unknown field `sett`, expected one of `set`, `add`, `remove`"),
            (r#"{"request":{"set":{"X-Up":"v"}}}"#, "request.set.X-Up: invalid header name `X-Up`: must be lower-case"),
            (r#"{"response":{"add":{"a b":"v"}}}"#, "response.add.a b: invalid header name `a b`: contains ' '"),
            (r#"{"request":{"remove":["Bad"]}}"#, "request.remove: invalid header name `Bad`: must be lower-case"),
            (r#"{"request":{"add":{":path":"/x"}}}"#, "request.add.:path: pseudo-header `:path` can only be set, not added"),
            (r#"{"response":{"remove":[":status"]}}"#, "response.remove: pseudo-header `:status` cannot be removed"),
            (r#"{"response":{"set":{":path":"/"}}}"#, "response.set.:path: unknown pseudo-header `:path` for the response (known: :status)"),
            (r#"{"request":{"set":{":status":"1"}}}"#, "request.set.:status: unknown pseudo-header `:status` for the request (known: :method, :path, :authority, :scheme)"),
            (r#"{"request":{"set":{"x":"a\r\nb"}}}"#, "request.set.x: invalid value for header `x`: contains CR, LF or NUL"),
            (r#"{"request":{"set":{"x":"%NOPE%"}}}"#, "request.set.x: unknown template variable at byte 0"),
            (r#"{"response":{"add":{"x":"50% off"}}}"#, "response.add.x: unterminated variable: the `%` at byte 2 has no closing `%`"),
            (r#"{"request":{"set":{"x":"1"},"remove":["x"]}}"#, "request.remove: `x` is also in request.set; keep one"),
            (r#"{"request":{"set":{"x":"1","x":"2"}}}"#, "field `request.set`: duplicate key `x`"),
            ("[]", "the configuration must be a JSON object"),
            ("{", "EOF while parsing an object at line 1 column 1"),
        ];
        for (json, want) in cases {
            let err = compile(json).expect_err(json);
            assert!(
                err.starts_with(want),
                "config {json}\n got: {err}\nwant: {want}"
            );
        }
    }
}
