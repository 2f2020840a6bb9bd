use std::fmt;

/// What went wrong, decided where the error is raised (Vector/Arroyo style), so the runtime and
/// the scheduler never have to guess from a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The configuration is wrong; fix `pipelines.toml` or the environment.
    Config,
    /// Credentials were refused.
    Auth,
    /// The source or warehouse could not be reached, or the connection broke.
    Network,
    /// The input itself is unreadable (not a row-level reject: those go to quarantine).
    Data,
    /// A limit was hit: disk, memory, rate, quota.
    Capacity,
    /// A bug or broken invariant in Satu.
    Internal,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Self::Config => "config",
            Self::Auth => "auth",
            Self::Network => "network",
            Self::Data => "data",
            Self::Capacity => "capacity",
            Self::Internal => "internal",
        };
        f.write_str(s)
    }
}

/// Whether trying again can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Retry {
    /// The same call will fail the same way.
    Never,
    /// A later attempt may succeed (transient network trouble, a busy server).
    Backoff,
}

/// An error raised by a source, naming where it happened (file, line, table, page…).
#[derive(Debug, thiserror::Error)]
#[error("{kind} error at {location}: {message}")]
pub struct SourceError {
    /// The classification of the error.
    pub kind: ErrorKind,
    /// Whether the scheduler may retry.
    pub retry: Retry,
    /// Where: `demo/data/dinkes.csv:14`, `kunjungan_pkm`, `page 3`…
    pub location: String,
    /// What happened, in words a Kominfo engineer can act on.
    pub message: String,
}

impl SourceError {
    /// A new error of `kind`; retryable only for network errors by default.
    pub fn new(kind: ErrorKind, location: impl Into<String>, message: impl Into<String>) -> Self {
        let retry = match kind {
            ErrorKind::Network => Retry::Backoff,
            _ => Retry::Never,
        };
        Self { kind, retry, location: location.into(), message: message.into() }
    }

    /// Unreadable input at `location`.
    pub fn data(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Data, location, message)
    }

    /// Wrong configuration at `location`.
    pub fn config(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, location, message)
    }

    /// An I/O error on `location`, classified by its kind: a missing file or a refused
    /// permission is a config problem that will not go away by itself; anything else may.
    pub fn io(location: impl Into<String>, err: &std::io::Error) -> Self {
        use std::io::ErrorKind as Io;
        let kind = match err.kind() {
            Io::NotFound | Io::PermissionDenied => ErrorKind::Config,
            Io::InvalidData | Io::UnexpectedEof => ErrorKind::Data,
            Io::OutOfMemory | Io::StorageFull => ErrorKind::Capacity,
            _ => ErrorKind::Network,
        };
        Self::new(kind, location, err.to_string())
    }

    /// A broken invariant inside Satu.
    pub fn internal(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, location, message)
    }
}
