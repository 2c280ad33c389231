//! The built-in fields of a log line, by the names used both in `fields` and as JSON keys.

/// One built-in field. The JSON key is [`Field::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    StartTime,
    Method,
    Authority,
    Path,
    Protocol,
    Status,
    ResponseFlags,
    ResponseCodeDetails,
    RequestBytes,
    ResponseBytes,
    DurationMs,
    UpstreamCluster,
    UpstreamHost,
    RequestId,
    DownstreamAddress,
    UserAgent,
    Plugin,
}

/// Every field, in the default order.
pub const ALL: [Field; 17] = [
    Field::StartTime,
    Field::Method,
    Field::Authority,
    Field::Path,
    Field::Protocol,
    Field::Status,
    Field::ResponseFlags,
    Field::ResponseCodeDetails,
    Field::RequestBytes,
    Field::ResponseBytes,
    Field::DurationMs,
    Field::UpstreamCluster,
    Field::UpstreamHost,
    Field::RequestId,
    Field::DownstreamAddress,
    Field::UserAgent,
    Field::Plugin,
];

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::StartTime => "start_time",
            Field::Method => "method",
            Field::Authority => "authority",
            Field::Path => "path",
            Field::Protocol => "protocol",
            Field::Status => "status",
            Field::ResponseFlags => "response_flags",
            Field::ResponseCodeDetails => "response_code_details",
            Field::RequestBytes => "request_bytes",
            Field::ResponseBytes => "response_bytes",
            Field::DurationMs => "duration_ms",
            Field::UpstreamCluster => "upstream_cluster",
            Field::UpstreamHost => "upstream_host",
            Field::RequestId => "request_id",
            Field::DownstreamAddress => "downstream_address",
            Field::UserAgent => "user_agent",
            Field::Plugin => "plugin",
        }
    }

    pub fn from_name(name: &str) -> Option<Field> {
        ALL.into_iter().find(|f| f.name() == name)
    }
}

/// The valid names, for error messages (checked against [`ALL`] by a test).
pub const NAMES: &str = "start_time, method, authority, path, protocol, status, \
     response_flags, response_code_details, request_bytes, response_bytes, duration_ms, \
     upstream_cluster, upstream_host, request_id, downstream_address, user_agent, plugin";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for f in ALL {
            assert_eq!(Field::from_name(f.name()), Some(f));
        }
        let mut names: Vec<_> = ALL.iter().map(|f| f.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert_eq!(Field::from_name("Method"), None);
        assert_eq!(NAMES, ALL.map(Field::name).join(", "));
    }
}
