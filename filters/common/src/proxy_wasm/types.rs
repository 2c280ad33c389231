//! ABI enums and statuses, with the SDK's names and the spec's values.

/// Bytes as returned by the host.
pub type Bytes = Vec<u8>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
    Critical = 5,
}

impl LogLevel {
    pub(crate) fn from_u32(v: u32) -> Option<Self> {
        Some(match v {
            0 => LogLevel::Trace,
            1 => LogLevel::Debug,
            2 => LogLevel::Info,
            3 => LogLevel::Warn,
            4 => LogLevel::Error,
            5 => LogLevel::Critical,
            _ => return None,
        })
    }
}

/// What a callback tells the host to do with the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Continue = 0,
    Pause = 1,
}

/// Host call results other than OK. Unknown codes map to `InternalFailure` rather than to
/// undefined behaviour (the SDK transmutes the raw value into its enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    NotFound = 1,
    BadArgument = 2,
    SerializationFailure = 3,
    ParseFailure = 4,
    InvalidMemoryAccess = 6,
    Empty = 7,
    CasMismatch = 8,
    InternalFailure = 10,
    Unimplemented = 12,
}

impl Status {
    /// `Ok(())` for status 0, the error otherwise.
    pub(crate) fn check(raw: u32) -> Result<(), Status> {
        Err(match raw {
            0 => return Ok(()),
            1 => Status::NotFound,
            2 => Status::BadArgument,
            3 => Status::SerializationFailure,
            4 => Status::ParseFailure,
            6 => Status::InvalidMemoryAccess,
            7 => Status::Empty,
            8 => Status::CasMismatch,
            12 => Status::Unimplemented,
            _ => Status::InternalFailure,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferType {
    HttpRequestBody = 0,
    HttpResponseBody = 1,
    DownstreamData = 2,
    UpstreamData = 3,
    HttpCallResponseBody = 4,
    GrpcReceiveBuffer = 5,
    VmConfiguration = 6,
    PluginConfiguration = 7,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapType {
    HttpRequestHeaders = 0,
    HttpRequestTrailers = 1,
    HttpResponseHeaders = 2,
    HttpResponseTrailers = 3,
    GrpcReceiveInitialMetadata = 4,
    GrpcReceiveTrailingMetadata = 5,
    HttpCallResponseHeaders = 6,
    HttpCallResponseTrailers = 7,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter = 0,
    Gauge = 1,
    Histogram = 2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextType {
    HttpContext = 0,
    StreamContext = 1,
}

/// Which half of an HTTP stream `proxy_continue_stream` / `proxy_close_stream` act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamType {
    HttpRequest = 0,
    HttpResponse = 1,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_follow_the_spec() {
        assert_eq!(Status::check(0), Ok(()));
        assert_eq!(Status::check(1), Err(Status::NotFound));
        assert_eq!(Status::check(2), Err(Status::BadArgument));
        assert_eq!(Status::check(8), Err(Status::CasMismatch));
        assert_eq!(Status::check(12), Err(Status::Unimplemented));
        assert_eq!(Status::check(99), Err(Status::InternalFailure));
    }

    #[test]
    fn log_levels_round_trip() {
        for l in 0..6 {
            assert_eq!(LogLevel::from_u32(l).map(|v| v as u32), Some(l));
        }
        assert_eq!(LogLevel::from_u32(6), None);
    }
}
