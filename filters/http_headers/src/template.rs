//! Header value templates: literal text with `%VARIABLE%` references to request data, in the
//! spirit of Envoy's `%REQ(...)%` command operators. `%%` is a literal percent sign.

/// A piece of request data a template can refer to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    /// A request header, first value (`%REQ(name)%`, `%REQUEST_ID%`, `%PATH%`, ...).
    RequestHeader(String),
    /// The downstream peer's `ip:port` (`%DOWNSTREAM_REMOTE_ADDRESS%`).
    DownstreamAddress,
    /// The plugin's configured name (`%PLUGIN_NAME%`).
    PluginName,
}

/// One parsed piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Literal(String),
    Var(Var),
}

/// The variables a template may use, for error messages.
pub const VARIABLES: &str = "%REQUEST_ID%, %PATH%, %METHOD%, %AUTHORITY%, %SCHEME%, \
%DOWNSTREAM_REMOTE_ADDRESS%, %PLUGIN_NAME%, %REQ(header-name)%";

/// Parses a template. An error says what is wrong and where (a byte offset), never the text
/// itself: a header value can be a credential.
pub fn parse(template: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = template;
    while let Some((before, after)) = rest.split_once('%') {
        let at = template.len() - rest.len() + before.len();
        literal.push_str(before);
        if let Some(stripped) = after.strip_prefix('%') {
            literal.push('%');
            rest = stripped;
            continue;
        }
        let Some((name, after_var)) = after.split_once('%') else {
            return Err(format!(
                "unterminated variable: the `%` at byte {at} has no closing `%` (write %% for a literal %)"
            ));
        };
        if !literal.is_empty() {
            parts.push(Part::Literal(std::mem::take(&mut literal)));
        }
        let var = variable(name).ok_or_else(|| match name.starts_with("REQ(") {
            true => format!("invalid header name in %REQ(...)% at byte {at}"),
            false => format!("unknown template variable at byte {at} (known: {VARIABLES})"),
        })?;
        parts.push(Part::Var(var));
        rest = after_var;
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    Ok(parts)
}

fn variable(name: &str) -> Option<Var> {
    let header = |h: &str| Some(Var::RequestHeader(h.to_string()));
    match name {
        "REQUEST_ID" => header("x-request-id"),
        "PATH" => header(":path"),
        "METHOD" => header(":method"),
        "AUTHORITY" => header(":authority"),
        "SCHEME" => header(":scheme"),
        "DOWNSTREAM_REMOTE_ADDRESS" => Some(Var::DownstreamAddress),
        "PLUGIN_NAME" => Some(Var::PluginName),
        _ => {
            // Envoy matches header names case-insensitively here; the host map is lower-case.
            let h = name
                .strip_prefix("REQ(")?
                .strip_suffix(')')?
                .to_ascii_lowercase();
            filter_common::headers::validate_name(&h).ok()?;
            header(&h)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Part {
        Part::Literal(s.to_string())
    }
    fn hdr(s: &str) -> Part {
        Part::Var(Var::RequestHeader(s.to_string()))
    }

    #[test]
    fn literal_only() {
        assert_eq!(parse("world").unwrap(), vec![lit("world")]);
        assert_eq!(parse("").unwrap(), vec![]);
    }

    #[test]
    fn variables_and_literals() {
        assert_eq!(
            parse("id=%REQUEST_ID%;p=%PATH%").unwrap(),
            vec![lit("id="), hdr("x-request-id"), lit(";p="), hdr(":path")]
        );
        assert_eq!(
            parse("%METHOD% %AUTHORITY% %SCHEME%").unwrap(),
            vec![
                hdr(":method"),
                lit(" "),
                hdr(":authority"),
                lit(" "),
                hdr(":scheme")
            ]
        );
        assert_eq!(
            parse("%DOWNSTREAM_REMOTE_ADDRESS%/%PLUGIN_NAME%").unwrap(),
            vec![
                Part::Var(Var::DownstreamAddress),
                lit("/"),
                Part::Var(Var::PluginName)
            ]
        );
    }

    #[test]
    fn req_operator_lowercases() {
        assert_eq!(parse("%REQ(User-Agent)%").unwrap(), vec![hdr("user-agent")]);
    }

    #[test]
    fn escaped_percent() {
        assert_eq!(parse("100%%").unwrap(), vec![lit("100%")]);
        assert_eq!(
            parse("%%%PATH%%%").unwrap(),
            vec![lit("%"), hdr(":path"), lit("%")]
        );
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(
            parse("x %NOPE%").unwrap_err(),
            format!("unknown template variable at byte 2 (known: {VARIABLES})")
        );
        assert_eq!(
            parse("50% off").unwrap_err(),
            "unterminated variable: the `%` at byte 2 has no closing `%` (write %% for a literal %)"
        );
        assert_eq!(
            parse("%REQ(bad name)%").unwrap_err(),
            "invalid header name in %REQ(...)% at byte 0"
        );
        assert!(parse("%REQ()%").is_err());
    }
}
