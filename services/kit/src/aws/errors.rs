//! Classifying AWS SDK errors, shared by the adapters and by the services' own AWS clients
//! (MediaConvert, Rekognition): each maps a [`Fault`] onto its own error enum, so that
//! `is_retryable()` is true exactly for throttling, 5xx, timeouts and failures to reach the
//! service.
//!
//! The SDK has already retried these (standard retry mode: three attempts with backoff and
//! jitter, unless the client says otherwise) by the time a caller sees them; a transient fault
//! tells the caller that trying again later may work.

use std::error::Error as StdError;
use std::fmt::Write as _;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Error codes AWS services use for throttling (the SDK's own list).
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Error codes for failures on the service's side that go away by themselves.
const TRANSIENT_CODES: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServerErrorException",
    "InternalServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

/// Whether an AWS error code names a condition that retrying can clear.
pub fn is_transient_code(code: &str) -> bool {
    THROTTLING_CODES.contains(&code) || TRANSIENT_CODES.contains(&code)
}

/// One failed SDK call, reduced to what callers decide on: [`Fault::of`] any SDK error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The service's error code (`NoSuchKey`, `ConditionalCheckFailedException`), when it
    /// answered with one.
    pub code: Option<String>,
    /// The HTTP status, when the service answered.
    pub status: Option<u16>,
    /// Throttling, 5xx, a timeout, or the service could not be reached.
    pub transient: bool,
    /// A readable account of the failure, with the operation's name.
    pub message: String,
}

impl Fault {
    /// Classifies the error `operation` (e.g. `GetObject`) returned.
    pub fn of<E>(operation: &str, err: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        let status = err
            .raw_response()
            .map(|response| response.status().as_u16());
        let (code, transient) = match err {
            SdkError::ServiceError(service) => {
                let code = service.err().code().map(str::to_owned);
                let transient = code.as_deref().is_some_and(is_transient_code)
                    || status.is_some_and(|s| s == 429 || s >= 500);
                (code, transient)
            }
            // Could not connect, the connection dropped, or no answer in time.
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => (None, true),
            // An answer the SDK could not read: a proxy's error page, a truncated body.
            SdkError::ResponseError(_) => (None, true),
            // The request could not be built (a bad parameter, no credentials): not transient.
            _ => (None, false),
        };
        let mut message = format!("{operation}: {}", chain(err));
        if let Some(status) = status {
            let _ = write!(message, " (HTTP {status})");
        }
        Self {
            code,
            status,
            transient,
            message,
        }
    }

    /// Whether the service answered with error `code`.
    pub fn code_is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

/// An error and its sources, joined: the SDK's top-level messages alone ("service error",
/// "dispatch failure") say little.
fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            let _ = write!(text, ": {cause_text}");
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_server_codes_are_transient() {
        for code in [
            "SlowDown",
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "InternalError",
        ] {
            assert!(is_transient_code(code), "{code}");
        }
        for code in [
            "AccessDenied",
            "NoSuchKey",
            "ConditionalCheckFailedException",
            "ValidationException",
        ] {
            assert!(!is_transient_code(code), "{code}");
        }
    }
}
