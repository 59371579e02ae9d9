//! VRRP tracked processes (keepalived's `vrrp_track_process`): the process table is read
//! once at start, which gives every tracked process its state at once, then one thread
//! follows the process events ([`Processes`]: the kernel's connector, or a /proc scan where
//! it cannot be had; the log says which), feeds them to the pure [`Table`] and sends each
//! tracked process that changed state. Lost events make it read the whole table again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::error::DaemonError;
use crate::kernel::Processes;
use crate::vrrp::procs::{Change, Spec, Table};

/// How long the thread waits for events before it looks at its stop flag and its delays.
const TICK: Duration = Duration::from_millis(100);

/// The tracked processes, counted once: their table and where the events come from.
pub struct Watch {
    table: Table,
    source: Box<dyn Processes + Send>,
}

impl Watch {
    /// Counts the processes running now for `specs`. A table that cannot be read leaves
    /// every tracked process out of quorum (logged).
    pub fn new(specs: BTreeMap<String, Spec>, mut source: Box<dyn Processes + Send>) -> Watch {
        let mut table = Table::new(specs);
        match source.processes() {
            Ok(procs) => table.seed(&procs),
            Err(e) => tracing::error!(error = %e, "processes not read; tracked processes count none"),
        }
        for (name, up, count) in table.states() {
            tracing::info!(track_process = name, count, in_quorum = up, source = %source.events_source(), "tracked process counted");
        }
        Watch { table, source }
    }

    /// Each tracked process's state now (true: in quorum).
    pub fn states(&self) -> BTreeMap<String, bool> {
        self.table.states().map(|(n, up, _)| (n.to_string(), up)).collect()
    }
}

/// Starts the thread that follows the events and sends each change, until `stop`.
pub fn start(watch: Watch, tx: Sender<Change>, stop: Arc<AtomicBool>) -> Result<JoinHandle<()>, DaemonError> {
    super::spawn("track-processes".into(), move || follow(watch, &tx, &stop))
}

fn follow(mut w: Watch, tx: &Sender<Change>, stop: &AtomicBool) {
    let epoch = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let changes = match w.source.process_events(TICK) {
            Ok(Some(events)) => {
                let now = epoch.elapsed();
                events.iter().flat_map(|e| w.table.event(e, now)).collect()
            }
            Ok(None) => {
                tracing::warn!("process events were lost; processes read again");
                match w.source.processes() {
                    Ok(procs) => w.table.resync(&procs, epoch.elapsed()),
                    Err(e) => {
                        tracing::warn!(error = %e, "processes not read");
                        Vec::new()
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "process events not read");
                std::thread::sleep(TICK);
                Vec::new()
            }
        };
        for c in changes.into_iter().chain(w.table.tick(epoch.elapsed())) {
            if tx.send(c).is_err() {
                return;
            }
        }
    }
}
