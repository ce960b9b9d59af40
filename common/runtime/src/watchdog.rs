//! One timer per connection for all of its deadlines: the socket timeout
//! of each read and write (`client_socket_timeout`, eventlet's per-socket
//! timeout) and hyper's deadline for reading a request head (what cuts a
//! slowloris client that sends a byte now and then).
//!
//! The socket timeout bounds how long the server waits on the client: for
//! a request head, for the body a handler asks for, for the next request of
//! a kept-alive connection, for the client to take the bytes of an answer.
//! It never bounds a handler at work. hyper keeps a read pending on the
//! socket while a request is handled (to notice a client that goes away);
//! that read is not timed while a [`Handling`] guard is held, and the body
//! the handler reads is timed by [`BodyTimeout`] instead. A read left
//! pending while an answer is being written is not idle as long as the
//! writes progress.
//!
//! Re-arming a tokio timer on every read, and giving hyper a fresh timer
//! for every request head, costs a timer-wheel insert and removal per
//! request, and often a wake-up of the runtime's driver (an `eventfd`
//! write) because the new deadline is earlier than the one the driver last
//! slept towards. The watchdog instead keeps one timer armed at the
//! earliest deadline anyone asked for and never moves it later: when it
//! fires early (its requester has since finished), whoever still waits
//! re-arms it for their own deadline. A connection then touches the timer
//! wheel about once per timeout period, not once per request.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// The shared timer of one connection.
#[derive(Clone)]
pub struct Watchdog {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// Whether a request's handler is running (see [`Handling`]).
    handling: AtomicBool,
}

struct State {
    sleep: Pin<Box<Sleep>>,
    /// When `sleep` fires; `None` before its first use.
    armed: Option<Instant>,
    /// The waker `sleep` was last polled with: while the deadline and the
    /// waker stay and it has not fired, polling it again would register
    /// the same wake-up.
    registered: Option<Waker>,
}

impl Watchdog {
    /// A watchdog with nothing to watch yet. Must be made inside a tokio
    /// runtime with its time driver.
    pub fn new() -> Self {
        let far = Instant::now() + Duration::from_secs(86_400 * 365);
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    sleep: Box::pin(tokio::time::sleep_until(far)),
                    armed: None,
                    registered: None,
                }),
                handling: AtomicBool::new(false),
            }),
        }
    }

    /// Marks a request's handler as running until the guard is dropped:
    /// meanwhile the connection's socket reads are not timed.
    ///
    /// One flag serves the connection: hyper's HTTP/1 connection runs one
    /// handler at a time (it reads the next request head only once the
    /// answer to the last one is written).
    pub fn handling(&self) -> Handling {
        self.shared.handling.store(true, Ordering::Relaxed);
        Handling(self.clone())
    }

    fn is_handling(&self) -> bool {
        self.shared.handling.load(Ordering::Relaxed)
    }

    /// Ready once `deadline` has passed; otherwise makes sure the task is
    /// woken at `deadline` or earlier.
    pub fn poll_expired(&self, deadline: Instant, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_expired_at(Instant::now(), deadline, cx)
    }

    /// [`Watchdog::poll_expired`] when the caller has just read the clock.
    fn poll_expired_at(&self, now: Instant, deadline: Instant, cx: &mut Context<'_>) -> Poll<()> {
        if now >= deadline {
            return Poll::Ready(());
        }
        let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        let keep = matches!(state.armed, Some(at) if at > now && at <= deadline);
        if keep
            && !state.sleep.is_elapsed()
            && state
                .registered
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
        {
            return Poll::Pending;
        }
        if !keep {
            state.sleep.as_mut().reset(deadline);
            state.armed = Some(deadline);
        }
        if state.sleep.as_mut().poll(cx).is_ready() {
            // It fired between the check above and now: look again soon.
            state.armed = None;
            state.registered = None;
            cx.waker().wake_by_ref();
        } else {
            match &mut state.registered {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
        }
        Poll::Pending
    }

    /// hyper's timer on top of this watchdog.
    pub fn timer(&self) -> WatchdogTimer {
        WatchdogTimer(self.clone())
    }
}

impl Default for Watchdog {
    fn default() -> Self {
        Self::new()
    }
}

/// A request's handler at work, from [`Watchdog::handling`]: the socket
/// timeout does not run against the server's own time.
pub struct Handling(Watchdog);

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.shared.handling.store(false, Ordering::Relaxed);
    }
}

/// hyper's [`Timer`](hyper::rt::Timer) whose sleeps are deadlines on one
/// [`Watchdog`]: a request head's deadline costs no timer of its own.
#[derive(Clone)]
pub struct WatchdogTimer(Watchdog);

// hyper speaks std's `Instant`; the watchdog tokio's, which tests can pause.
impl hyper::rt::Timer for WatchdogTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until((Instant::now() + duration).into_std())
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(Deadline {
            deadline: Instant::from_std(deadline),
            watchdog: self.0.clone(),
        })
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: std::time::Instant) {
        match sleep.as_mut().downcast_mut_pin::<Deadline>() {
            Some(mut ours) => ours.deadline = Instant::from_std(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }

    fn now(&self) -> std::time::Instant {
        Instant::now().into_std()
    }
}

/// One deadline on a watchdog, as a future.
struct Deadline {
    deadline: Instant,
    watchdog: Watchdog,
}

impl Future for Deadline {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.watchdog.poll_expired(self.deadline, cx)
    }
}

impl hyper::rt::Sleep for Deadline {}

/// A socket whose reads and writes fail with `TimedOut` after `timeout`
/// without progress, as eventlet's socket timeout does; reads only while
/// no handler runs (see [`Watchdog::handling`]).
pub struct IdleTimeout<IO> {
    io: IO,
    timeout: Option<Duration>,
    watchdog: Watchdog,
    read_waiting_since: Option<Instant>,
    write_waiting_since: Option<Instant>,
}

impl<IO> IdleTimeout<IO> {
    /// Wraps `io`; `None` waits forever.
    pub fn new(io: IO, timeout: Option<Duration>, watchdog: Watchdog) -> Self {
        Self {
            io,
            timeout,
            watchdog,
            read_waiting_since: None,
            write_waiting_since: None,
        }
    }
}

/// What a pending operation does: times out once it has waited `timeout`
/// since `waiting_since`, which its first pending poll sets; a completed
/// operation clears it.
fn check<T>(
    poll: Poll<io::Result<T>>,
    waiting_since: &mut Option<Instant>,
    timeout: Option<Duration>,
    watchdog: &Watchdog,
    cx: &mut Context<'_>,
) -> Poll<io::Result<T>> {
    match poll {
        Poll::Ready(result) => {
            *waiting_since = None;
            Poll::Ready(result)
        }
        Poll::Pending => match timeout {
            Some(timeout) => match wait(waiting_since, timeout, watchdog, cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::ErrorKind::TimedOut.into())),
                Poll::Pending => Poll::Pending,
            },
            None => Poll::Pending,
        },
    }
}

/// One more pending poll of a wait that began at `waiting_since` (now, if
/// it is the first): ready once the wait has lasted `timeout`, and then
/// over.
fn wait(
    waiting_since: &mut Option<Instant>,
    timeout: Duration,
    watchdog: &Watchdog,
    cx: &mut Context<'_>,
) -> Poll<()> {
    let now = Instant::now();
    let since = *waiting_since.get_or_insert(now);
    let expired = watchdog.poll_expired_at(now, since + timeout, cx);
    if expired.is_ready() {
        *waiting_since = None;
    }
    expired
}

impl<IO: AsyncRead + Unpin> AsyncRead for IdleTimeout<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_read(cx, buf);
        if poll.is_pending() && this.watchdog.is_handling() {
            // hyper only watches for the client going away while the
            // handler works; the body the handler awaits is timed by
            // `BodyTimeout`. The wait starts afresh once the handler is done.
            this.read_waiting_since = None;
            return Poll::Pending;
        }
        check(
            poll,
            &mut this.read_waiting_since,
            this.timeout,
            &this.watchdog,
            cx,
        )
    }
}

impl<IO: AsyncWrite + Unpin> IdleTimeout<IO> {
    /// Runs one write-side operation under the write timeout. Its progress
    /// is progress for a pending read too: while an answer is being
    /// written hyper keeps a read pending, and a client taking the answer
    /// is not idle.
    fn write_side<T>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut IO>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        let this = self.get_mut();
        let poll = op(Pin::new(&mut this.io), cx);
        if matches!(poll, Poll::Ready(Ok(_))) && this.read_waiting_since.is_some() {
            this.read_waiting_since = Some(Instant::now());
        }
        check(
            poll,
            &mut this.write_waiting_since,
            this.timeout,
            &this.watchdog,
            cx,
        )
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_side(cx, |io, cx| io.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.write_side(cx, |io, cx| io.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.write_side(cx, |io, cx| io.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.write_side(cx, |io, cx| io.poll_shutdown(cx))
    }
}

/// The client sent none of the request body a handler waited for within
/// the socket timeout.
#[derive(Debug, thiserror::Error)]
#[error("no request body data arrived within {0:?}")]
pub struct BodyTimedOut(pub Duration);

/// A request body whose every wait for data fails with [`BodyTimedOut`]
/// after the socket timeout: the read side of the socket timeout while a
/// handler runs (when [`IdleTimeout`] does not time reads).
pub struct BodyTimeout<B> {
    body: B,
    timeout: Duration,
    watchdog: Watchdog,
    waiting_since: Option<Instant>,
}

impl<B> BodyTimeout<B> {
    /// Wraps `body`; its waits are deadlines on `watchdog`.
    pub fn new(body: B, timeout: Duration, watchdog: Watchdog) -> Self {
        Self {
            body,
            timeout,
            watchdog,
            waiting_since: None,
        }
    }
}

impl<B> HttpBody for BodyTimeout<B>
where
    B: HttpBody + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = B::Data;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.waiting_since = None;
                Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
            }
            Poll::Pending => {
                match wait(&mut this.waiting_since, this.timeout, &this.watchdog, cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(BodyTimedOut(this.timeout).into()))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn a_read_without_data_times_out_after_the_timeout() {
        let (ours, _theirs) = tokio::io::duplex(64);
        let mut io = IdleTimeout::new(ours, Some(Duration::from_secs(3)), Watchdog::new());
        let started = tokio::time::Instant::now();
        let mut buf = [0u8; 8];
        let err = io.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed().as_secs(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn data_arriving_before_the_timeout_is_read() {
        let (ours, mut theirs) = tokio::io::duplex(64);
        let mut io = IdleTimeout::new(ours, Some(Duration::from_secs(3)), Watchdog::new());
        tokio::spawn(async move {
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_secs(2)).await;
                theirs.write_all(b"x").await.unwrap();
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        });
        let mut buf = [0u8; 1];
        // Three reads, each 2 s apart: each is within the 3 s timeout even
        // though together they take 6 s.
        for _ in 0..3 {
            io.read_exact(&mut buf).await.unwrap();
        }
        let started = tokio::time::Instant::now();
        let err = io.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed().as_secs(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_is_not_timed_while_a_handler_runs_and_is_timed_again_after() {
        let (ours, _theirs) = tokio::io::duplex(64);
        let watchdog = Watchdog::new();
        let mut io = IdleTimeout::new(ours, Some(Duration::from_secs(3)), watchdog.clone());
        let mut buf = [0u8; 1];

        let handling = watchdog.handling();
        let during = tokio::time::timeout(Duration::from_secs(60), io.read(&mut buf)).await;
        assert!(
            during.is_err(),
            "the read ended while the handler ran: {during:?}"
        );
        drop(handling);

        let started = tokio::time::Instant::now();
        let err = io.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed().as_secs(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_left_pending_while_a_client_slowly_takes_an_answer_waits_from_its_last_byte() {
        let (ours, mut theirs) = tokio::io::duplex(1);
        let mut io = IdleTimeout::new(ours, Some(Duration::from_secs(3)), Watchdog::new());
        // The client takes one byte a second of an eight-byte answer.
        tokio::spawn(async move {
            let mut byte = [0u8; 1];
            for _ in 0..8 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                theirs.read_exact(&mut byte).await.unwrap();
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        });
        let started = tokio::time::Instant::now();
        let answer = b"8 bytes!";
        let mut written = 0;
        let mut buf = [0u8; 1];
        // As hyper does: a read stays pending while the answer is written.
        let ended = std::future::poll_fn(|cx| {
            let mut read = ReadBuf::new(&mut buf);
            if let Poll::Ready(read) = Pin::new(&mut io).poll_read(cx, &mut read) {
                return Poll::Ready(read.map(|()| written));
            }
            while written < answer.len() {
                match Pin::new(&mut io).poll_write(cx, &answer[written..]) {
                    Poll::Ready(Ok(n)) => written += n,
                    Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                    Poll::Pending => return Poll::Pending,
                }
            }
            Poll::Pending
        })
        .await;

        // Its last byte was taken at 8 s; then the read waited 3 s more.
        assert_eq!(ended.unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert_eq!(written, 8);
        assert_eq!(started.elapsed().as_secs(), 10);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_the_client_stops_sending_fails_after_the_timeout() {
        use http_body_util::BodyExt;
        let (mut pieces, rx) =
            futures::channel::mpsc::channel::<io::Result<Frame<bytes::Bytes>>>(4);
        let mut body = BodyTimeout::new(
            http_body_util::StreamBody::new(rx),
            Duration::from_secs(3),
            Watchdog::new(),
        );
        tokio::spawn(async move {
            use futures::SinkExt;
            for _ in 0..3 {
                tokio::time::sleep(Duration::from_secs(2)).await;
                let piece = Frame::data(bytes::Bytes::from_static(b"x"));
                pieces.send(Ok(piece)).await.unwrap();
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        });

        // Three pieces 2 s apart: each within the timeout, 6 s together.
        for _ in 0..3 {
            let frame = body.frame().await.unwrap().unwrap();
            assert_eq!(frame.into_data().unwrap(), "x");
        }
        let started = tokio::time::Instant::now();
        let err = body.frame().await.unwrap().unwrap_err();
        assert!(err.is::<BodyTimedOut>(), "{err}");
        assert_eq!(started.elapsed().as_secs(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn no_timeout_waits_forever() {
        let (ours, _theirs) = tokio::io::duplex(64);
        let mut io = IdleTimeout::new(ours, None, Watchdog::new());
        let mut buf = [0u8; 1];
        let waited = tokio::time::timeout(Duration::from_secs(3600), io.read(&mut buf)).await;
        assert!(waited.is_err(), "the read ended: {waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_earliest_deadline_wins_and_a_later_one_still_fires() {
        let watchdog = Watchdog::new();
        let timer = watchdog.timer();
        let started = tokio::time::Instant::now();
        let late = hyper::rt::Timer::sleep(&timer, Duration::from_secs(10));
        let early = hyper::rt::Timer::sleep(&timer, Duration::from_secs(2));
        early.await;
        assert_eq!(started.elapsed().as_secs(), 2);
        // The timer was armed for 2 s; the 10 s deadline re-arms it.
        late.await;
        assert_eq!(started.elapsed().as_secs(), 10);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_first_polled_in_one_task_fires_in_the_task_that_awaits_it() {
        let watchdog = Watchdog::new();
        let timer = watchdog.timer();
        let started = tokio::time::Instant::now();
        let mut sleep = hyper::rt::Timer::sleep(&timer, Duration::from_secs(4));
        // Polled (and its wake-up registered) by this task for one second.
        let early = tokio::time::timeout(Duration::from_secs(1), &mut sleep).await;
        assert!(early.is_err(), "fired after one second");
        // Then awaited by another task: the wake-up must follow it there.
        tokio::spawn(sleep).await.unwrap();
        assert_eq!(started.elapsed().as_secs(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_reset_deadline_moves() {
        let watchdog = Watchdog::new();
        let timer = watchdog.timer();
        let started = tokio::time::Instant::now();
        let mut sleep = hyper::rt::Timer::sleep(&timer, Duration::from_secs(2));
        hyper::rt::Timer::reset(
            &timer,
            &mut sleep,
            (Instant::now() + Duration::from_secs(5)).into_std(),
        );
        sleep.await;
        assert_eq!(started.elapsed().as_secs(), 5);
    }
}
