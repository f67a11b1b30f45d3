//! The well and plate tables of a run in batches, appended on a thread of their own: a
//! batch's rows are handed over as columns and written (CSV and Parquet) while the next batch
//! is read, normalised and fitted.
//!
//! At most one batch waits to be written, so memory stays bounded by two batches' rows. The
//! tables are the same as when written in line: the batches arrive in order on one channel.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use anyhow::{Result, anyhow};

use crate::report::tables::{Col, TableSink};

/// One batch's rows: the height and columns of `wells`, then of `plates`.
type Rows = ((usize, Vec<Col>), (usize, Vec<Col>));

/// The `wells` and `plates` tables being written on their own thread.
pub(crate) struct Writer {
    send: Option<SyncSender<Rows>>,
    thread: Option<JoinHandle<Result<()>>>,
}

impl Writer {
    /// Starts the thread that appends to `wells` and `plates`.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub(crate) fn start(wells: TableSink, plates: TableSink) -> Result<Writer> {
        let (send, receive) = sync_channel::<Rows>(1);
        let thread = std::thread::Builder::new()
            .name("tables".into())
            .spawn(move || write(wells, plates, &receive))
            .map_err(|e| anyhow!("starting the table writer: {e}"))?;
        Ok(Writer { send: Some(send), thread: Some(thread) })
    }

    /// Hands one batch's rows to the writer (waits while an earlier batch is still queued).
    ///
    /// # Errors
    /// The writer stopped on an error: that error.
    pub(crate) fn append(
        &mut self,
        wells: (usize, Vec<Col>),
        plates: (usize, Vec<Col>),
    ) -> Result<()> {
        let sent = self.send.as_ref().is_some_and(|s| s.send((wells, plates)).is_ok());
        if sent {
            return Ok(());
        }
        // The thread ended early: only on an error, which joining returns.
        self.finish()?;
        Err(anyhow!("the table writer stopped"))
    }

    /// Writes what is queued, finishes both tables (Parquet footers, CSV flushed) and ends the
    /// thread.
    ///
    /// # Errors
    /// The first error writing either table.
    pub(crate) fn finish(&mut self) -> Result<()> {
        drop(self.send.take());
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| anyhow!("the table writer panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // A run that fails part-way still ends the thread (its staging directory is removed).
        let _ = self.finish();
    }
}

fn write(mut wells: TableSink, mut plates: TableSink, receive: &Receiver<Rows>) -> Result<()> {
    for ((wh, wc), (ph, pc)) in receive {
        wells.append(wh, &wc)?;
        plates.append(ph, &pc)?;
    }
    wells.finish()?;
    plates.finish()
}
