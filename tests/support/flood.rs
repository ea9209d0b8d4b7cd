//! Back-to-back sends for the log tests: a core with 200 conversations (one per number) and
//! messages spread over them, so that writes touch many pages, as a live server's do.

use std::path::Path;

use darkchat::input::{ConversationName, PhoneNumber};
use darkchat::{ConversationId, Darkchat, Limits, Store};

pub struct Flood {
    dc: Darkchat,
    ids: Vec<ConversationId>,
    sends: usize,
}

fn number(i: usize) -> PhoneNumber {
    PhoneNumber::parse(&format!("555{i:04}")).unwrap()
}

impl Flood {
    pub fn new(store: Store) -> Self {
        let mut dc = Darkchat::new(store, Limits::default(), [1; 32]);
        let name = ConversationName::parse("flood").unwrap();
        let ids = (0..200).map(|i| dc.create_conversation(&number(i), &name, None, 1).unwrap().id);
        Flood { ids: ids.collect(), dc, sends: 0 }
    }

    /// One short message, in the next conversation of the spread (each send still logs whole
    /// pages, ~20 KB, while the database itself grows little).
    pub fn send(&mut self) {
        let i = (self.sends * 7919) % self.ids.len();
        self.dc.send_message(&number(i), self.ids[i], "hello", 2).unwrap();
        self.sends += 1;
    }
}

/// The size of the log file at `wal` (0 when there is none).
pub fn log_size(wal: &Path) -> u64 {
    std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
}

/// Counts the frames written through a log, across its restarts, from the outside: the
/// wal-index's `mxFrame` (the `-shm` file: a 48-byte header written twice, native byte order,
/// `mxFrame` at byte 16) and the checkpoint sequence number in the log file's header (byte 12,
/// big-endian), which every restart of the log changes.
pub struct LogWatch {
    shm: std::path::PathBuf,
    wal: std::path::PathBuf,
    frames: u32,
    sequence: Option<u32>,
    /// Frames written since the watch began.
    pub through: u64,
    /// Restarts of the log seen since the watch began.
    pub restarts: u64,
}

impl LogWatch {
    pub fn new(db: &Path) -> Self {
        let shm = db.with_extension("db-shm");
        let wal = db.with_extension("db-wal");
        let mut watch = LogWatch { shm, wal, frames: 0, sequence: None, through: 0, restarts: 0 };
        watch.look();
        (watch.through, watch.restarts) = (0, 0);
        watch
    }

    /// Takes note of what was written since the last look: call it after every write, so that
    /// no restart and regrowth past the old position falls between two looks.
    pub fn look(&mut self) {
        let (Some(frames), Some(sequence)) = (self.index_frames(), self.log_sequence()) else {
            return;
        };
        if self.sequence.is_some_and(|seen| seen != sequence) || frames < self.frames {
            self.restarts += 1;
            self.through += u64::from(frames);
        } else {
            self.through += u64::from(frames - self.frames);
        }
        (self.frames, self.sequence) = (frames, Some(sequence));
    }

    /// `mxFrame`, when both copies of the wal-index header agree (a read may race a write).
    fn index_frames(&self) -> Option<u32> {
        let bytes: [u8; 96] = read_start(&self.shm)?;
        let (first, second) = bytes.split_at(48);
        (first == second).then(|| u32::from_ne_bytes(first[16..20].try_into().unwrap()))
    }

    fn log_sequence(&self) -> Option<u32> {
        let header: [u8; 16] = read_start(&self.wal)?;
        Some(u32::from_be_bytes(header[12..16].try_into().unwrap()))
    }
}

/// The first `N` bytes of the file at `path`, if it has that many.
fn read_start<const N: usize>(path: &Path) -> Option<[u8; N]> {
    use std::io::Read;
    let mut bytes = [0u8; N];
    std::fs::File::open(path).ok()?.read_exact(&mut bytes).ok()?;
    Some(bytes)
}
