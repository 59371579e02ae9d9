//! Signals for the daemon: SIGTERM and SIGINT stop it gracefully, SIGHUP reloads the
//! manifest. They are blocked in every thread and taken by one thread with `sigwait`, so no
//! handler ever runs in the middle of VRRP or kernel work.

use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use super::Event;
use super::error::DaemonError;
use super::instance::{Control, ControlTx};

/// The running instances' control channels, so a stop signal reaches them directly, even
/// while the main thread is busy applying a plan.
pub type Stoppers = Arc<Mutex<Vec<ControlTx>>>;

fn set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a sigset_t we own.
    unsafe {
        let mut s: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut s);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&raw mut s, sig);
        }
        s
    }
}

/// Blocks the daemon's signals in this thread and every thread it starts afterwards.
pub fn block() {
    let s = set();
    // SAFETY: s is a valid, initialised signal set; no old mask is requested.
    unsafe {
        libc::pthread_sigmask(libc::SIG_BLOCK, &raw const s, std::ptr::null_mut());
    }
}

/// Starts the thread that turns signals into events; a stop signal first tells every
/// instance to stop (each sends its priority-0 advert at once).
pub fn listen(tx: Sender<Event>, stoppers: Stoppers) -> Result<(), DaemonError> {
    let listen = move || {
        let s = set();
        loop {
            let mut sig: libc::c_int = 0;
            // SAFETY: s is a valid signal set blocked in this thread; sig is a valid out pointer.
            if unsafe { libc::sigwait(&raw const s, &raw mut sig) } != 0 {
                continue;
            }
            let stop = sig != libc::SIGHUP;
            let event = if stop { Event::Stop } else { Event::Reload };
            if stop {
                let list = stoppers.lock().unwrap_or_else(|e| e.into_inner());
                list.iter().for_each(|c| c.send(Control::Stop));
            }
            if tx.send(event).is_err() {
                return;
            }
        }
    };
    super::spawn("signals".into(), listen).map(drop)
}
