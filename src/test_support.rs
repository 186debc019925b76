//! Helpers for the crate's own unit tests.

/// Polls `future` to completion on this thread: the in-memory store's futures are always
/// ready, so nothing ever waits.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// `seconds` after the instant the store tests start from (2023-11-14 22:13:20 UTC).
pub(crate) fn at(seconds: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(1_700_000_000 + seconds).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}
