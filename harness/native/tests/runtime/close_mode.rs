//! `close_mode::drain_input`, the read-and-discard loop that lets
//! `CloseMode::DrainInput` close with FIN instead of RST (KN-RST-5), on
//! scripted readers: it retries a read interrupted by a signal (EINTR), and
//! stops at the first EAGAIN or other error instead of reading again.

use native::close_mode::drain_input;
use std::collections::VecDeque;
use std::io::{self, Read};

/// A reader that answers each read with the next scripted result and fails
/// the test if read once more after its script ran out.
struct Script(VecDeque<io::Result<usize>>);

impl Script {
    fn new(steps: Vec<io::Result<usize>>) -> Self {
        Script(steps.into())
    }
}

impl Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.pop_front() {
            Some(Ok(n)) => Ok(n.min(buf.len())),
            Some(Err(e)) => Err(e),
            None => panic!("read again after the script's last answer"),
        }
    }
}

fn err(kind: io::ErrorKind) -> io::Result<usize> {
    Err(io::Error::from(kind))
}

/// KN-RST-5: EINTR is not the end of the input; the drain goes on and
/// discards all that was held.
#[test]
fn an_interrupted_read_is_retried() {
    let mut r = Script::new(vec![Ok(100), err(io::ErrorKind::Interrupted), Ok(50)]);
    assert_eq!(drain_input(&mut r, 150), 150);
    assert!(r.0.is_empty());
}

/// KN-RST-5: EAGAIN means drained; any other error (ECONNRESET) leaves
/// nothing to discard. Either ends the drain at once.
#[test]
fn eagain_or_an_error_ends_the_drain() {
    for kind in [io::ErrorKind::WouldBlock, io::ErrorKind::ConnectionReset] {
        let mut r = Script::new(vec![Ok(100), err(kind)]);
        assert_eq!(drain_input(&mut r, 1000), 100, "{kind:?}");
    }
    let mut r = Script::new(vec![Ok(10), Ok(0)]);
    assert_eq!(drain_input(&mut r, 1000), 10, "EOF");
}
