//! The file system behind a trait, so tests can simulate power loss and
//! inject I/O errors at every call site.
//!
//! * `RealFs`: std::fs, memmap2 for reading whole files.
//! * `SimFs` (tests and fault injection): an in-memory file system that keeps
//!   a *live* image (what a running process sees) and a *durable* image
//!   (what survives a power cut). `sync_data` makes a file's bytes durable;
//!   `sync_dir` makes names (creates, renames, removes) durable. `crash()`
//!   returns the durable image, optionally with a torn, garbage or
//!   zero-filled piece of the unsynced tail, as real disks leave it.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Durably replace the small file `path` with `data`: a temp file beside
/// it (`<name>.tmp`) written and synced, renamed over it, the directory
/// synced. A crash at any point leaves the old file or the new one.
pub fn replace_file(fs: &dyn Fs, path: &Path, data: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = fs.create(&tmp)?;
    f.write_all(data)?;
    f.sync_data()?;
    drop(f);
    fs.rename(&tmp, path)?;
    fs.sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// An open file, written sequentially: each write goes at the position
/// where the previous one ended (over preallocated zeros, if any).
pub trait FsFile: Send {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()>;
    /// Write `len` zero bytes at `at` (the file's end), leaving the write
    /// position where it is: space the next writes overwrite. A sync after
    /// an overwrite inside the file's length has no size change to commit
    /// to the file system's journal (figures at `log::PREALLOC_STEP`). A
    /// no-op by default (the writes then extend the file).
    fn preallocate(&mut self, _at: u64, _len: u64) -> io::Result<()> {
        Ok(())
    }
    /// fdatasync: the bytes written so far survive a power cut once this
    /// returns Ok.
    fn sync_data(&mut self) -> io::Result<()>;
    /// Cut the file to `len` bytes (after a failed write or sync).
    fn truncate(&mut self, len: u64) -> io::Result<()>;
    /// Start writing `len` bytes at `offset` back to the disk now, and with
    /// `wait`, wait until they are written. Not a sync (no metadata, no
    /// device cache flush): it only spreads a big file's writeback over its
    /// writing, in the writer's thread, instead of leaving it to the
    /// kernel's flusher threads and one long sync at the end. Redis does the
    /// same while it writes an RDB (`rdb_fsync_range`). A no-op by default.
    fn write_behind(&mut self, _offset: u64, _len: u64, _wait: bool) -> io::Result<()> {
        Ok(())
    }
}

/// Bytes of a whole file, mapped or copied.
pub type FileBytes = Box<dyn std::ops::Deref<Target = [u8]> + Send>;

pub trait Fs: Send + Sync {
    /// Create (or truncate) a file for writing.
    fn create(&self, path: &Path) -> io::Result<Box<dyn FsFile>>;
    /// Open an existing file to write on at its end.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FsFile>>;
    /// All bytes of a file.
    fn read(&self, path: &Path) -> io::Result<FileBytes>;
    /// A file's length.
    fn len(&self, path: &Path) -> io::Result<u64> {
        self.read(path).map(|b| b.len() as u64)
    }
    fn exists(&self, path: &Path) -> bool;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    fn remove(&self, path: &Path) -> io::Result<()>;
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// File names (not paths) in a directory.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// fsync the directory: its entries (creates, renames, removes) survive
    /// a power cut once this returns Ok.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Set a closed file's length (torn-tail repair).
    fn set_len(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Give the file `from` a second name `to` (a hard link: same bytes,
    /// no copy). Fails if `to` exists. Like a create, the new name
    /// survives a power cut once `to`'s directory is synced.
    fn link(&self, from: &Path, to: &Path) -> io::Result<()>;
}

// ------------------------------------------------------------------ real

pub struct RealFs;

struct RealFile(std::fs::File);

impl FsFile for RealFile {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        io::Write::write_all(&mut self.0, data)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
    fn preallocate(&mut self, at: u64, len: u64) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        static ZEROS: [u8; 64 << 10] = [0; 64 << 10];
        let mut done = 0u64;
        while done < len {
            let n = (len - done).min(ZEROS.len() as u64) as usize;
            self.0.write_all_at(&ZEROS[..n], at + done)?;
            done += n as u64;
        }
        Ok(())
    }
    #[cfg(target_os = "linux")]
    fn write_behind(&mut self, offset: u64, len: u64, wait: bool) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let flags = if wait {
            libc::SYNC_FILE_RANGE_WAIT_BEFORE
                | libc::SYNC_FILE_RANGE_WRITE
                | libc::SYNC_FILE_RANGE_WAIT_AFTER
        } else {
            libc::SYNC_FILE_RANGE_WRITE
        };
        // `sync_file_range` reads a length of 0 as "to the end of the
        // file": an empty range must stay a no-op, not a whole-file wait.
        let (Ok(off), Ok(n @ 1..)) = (i64::try_from(offset), i64::try_from(len)) else {
            return Ok(());
        };
        // SAFETY: a plain syscall on a file descriptor this value owns.
        if unsafe { libc::sync_file_range(self.0.as_raw_fd(), off, n, flags) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            // A file system or file kind without it: the final sync does
            // all the work, as it would without write-behind.
            Some(libc::EINVAL | libc::ESPIPE | libc::ENOSYS | libc::EOPNOTSUPP) => Ok(()),
            // An I/O error: the final sync would fail too; say it now.
            _ => Err(e),
        }
    }
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)?;
        io::Seek::seek(&mut self.0, io::SeekFrom::Start(len))?;
        Ok(())
    }
}

impl Fs for RealFs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(Box::new(RealFile(f)))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        // Not O_APPEND: `preallocate` writes past the write position, and
        // Linux appends every `pwrite` to an O_APPEND file.
        let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
        io::Seek::seek(&mut f, io::SeekFrom::End(0))?;
        Ok(Box::new(RealFile(f)))
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        Ok(std::fs::metadata(path)?.len())
    }

    fn read(&self, path: &Path) -> io::Result<FileBytes> {
        let f = std::fs::File::open(path)?;
        if f.metadata()?.len() == 0 {
            return Ok(Box::new(Vec::new()));
        }
        // SAFETY: the server owns the data dir; files are not truncated
        // by others while mapped (the README says so).
        let m = unsafe { memmap2::Mmap::map(&f)? };
        Ok(Box::new(m))
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(dir)? {
            v.push(e?.file_name().to_string_lossy().into_owned());
        }
        v.sort();
        Ok(v)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        std::fs::File::open(dir)?.sync_all()
    }

    fn set_len(&self, path: &Path, len: u64) -> io::Result<()> {
        let f = std::fs::OpenOptions::new().write(true).open(path)?;
        f.set_len(len)?;
        f.sync_all()
    }

    fn link(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::hard_link(from, to)
    }
}

// ------------------------------------------------------------------ simulated

/// What a simulated power cut does to bytes written but not synced.
#[derive(Clone, Copy, Debug)]
pub enum Tear {
    /// Drop all unsynced bytes.
    Drop,
    /// Keep the first `n` unsynced bytes of each file (a torn write).
    Keep(usize),
    /// Keep `n` unsynced bytes, then append `m` garbage bytes.
    Garbage(usize, usize),
    /// Keep `n` unsynced bytes, then `m` zero bytes (preallocated blocks).
    Zeros(usize, usize),
}

/// Injected failure for a simulated call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The next `write_all` fails with this error kind (raw OS error).
    Write(i32),
    /// The next `sync_data` fails.
    Sync(i32),
    /// Writes fail with ENOSPC once the total live bytes exceed the limit.
    DiskFull(usize),
}

#[derive(Default, Clone)]
struct Inode {
    live: Vec<u8>,
    durable: Vec<u8>,
}

#[derive(Default)]
struct SimInner {
    inodes: Vec<Inode>,
    /// Names a running process sees.
    live_names: BTreeMap<PathBuf, usize>,
    /// Names that survive a power cut (updated by `sync_dir`).
    durable_names: BTreeMap<PathBuf, usize>,
    dirs: Vec<PathBuf>,
    faults: Vec<Fault>,
    /// Count of operations, for failpoints by position.
    ops: u64,
    /// Fail every operation after this many (simulated crash point).
    crash_after_ops: Option<u64>,
    /// How long each `sync_data` takes (a slow disk widens the window in
    /// which written bytes are not yet durable).
    sync_delay: std::time::Duration,
}

/// Simulated file system (see the module docs).
#[derive(Clone, Default)]
pub struct SimFs {
    inner: Arc<Mutex<SimInner>>,
}

struct SimFile {
    fs: SimFs,
    inode: usize,
    /// Where the next write goes.
    pos: usize,
}

/// Write `data` into `buf` at `at`, growing it as needed.
fn put_at(buf: &mut Vec<u8>, at: usize, data: &[u8]) {
    if buf.len() < at + data.len() {
        buf.resize(at + data.len(), 0);
    }
    buf[at..at + data.len()].copy_from_slice(data);
}

fn os_err(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code)
}

impl SimInner {
    /// With a `DiskFull` fault, if growing the live files by `grow` bytes
    /// would pass the limit: the room left (None: it fits).
    fn full_after(&self, grow: usize) -> Option<usize> {
        let total: usize = self
            .live_names
            .values()
            .map(|&i| self.inodes[i].live.len())
            .sum();
        match self.faults.iter().find(|f| matches!(f, Fault::DiskFull(_))) {
            Some(&Fault::DiskFull(limit)) if total + grow > limit => {
                Some(limit.saturating_sub(total))
            }
            _ => None,
        }
    }

    fn inode_of(&mut self, path: &Path) -> io::Result<&mut Inode> {
        let i = *self.live_names.get(path).ok_or_else(|| os_err(2))?;
        Ok(&mut self.inodes[i])
    }
}

impl SimFs {
    pub fn new() -> SimFs {
        SimFs::default()
    }

    pub fn inject(&self, f: Fault) {
        self.inner.lock().unwrap().faults.push(f);
    }

    /// Make every `sync_data` take this long.
    pub fn set_sync_delay(&self, d: std::time::Duration) {
        self.inner.lock().unwrap().sync_delay = d;
    }

    pub fn clear_faults(&self) {
        self.inner.lock().unwrap().faults.clear();
    }

    /// Every operation after the next `n` fails with EIO (the process is
    /// considered dead from then on; call `crash` to get the disk image).
    pub fn crash_after(&self, n: u64) {
        let mut g = self.inner.lock().unwrap();
        g.crash_after_ops = Some(g.ops + n);
    }

    pub fn ops(&self) -> u64 {
        self.inner.lock().unwrap().ops
    }

    fn tick(g: &mut SimInner) -> io::Result<()> {
        g.ops += 1;
        if let Some(n) = g.crash_after_ops
            && g.ops > n
        {
            return Err(os_err(5));
        }
        Ok(())
    }

    /// The disk after a power cut: only durable names and bytes, plus what
    /// `tear` keeps of each file's unsynced tail.
    pub fn crash(&self, tear: Tear) -> SimFs {
        let g = self.inner.lock().unwrap();
        let mut out = SimInner {
            dirs: g.dirs.clone(),
            ..Default::default()
        };
        for (name, &ino) in &g.durable_names {
            let st = &g.inodes[ino];
            // The unsynced bytes: from the first byte where the live file
            // differs from the durable one (writes over preallocated zeros
            // change bytes inside the durable length) to the live end.
            let d = st
                .live
                .iter()
                .zip(&st.durable)
                .position(|(a, b)| a != b)
                .unwrap_or(st.live.len().min(st.durable.len()));
            let unsynced = if st.live.len() > d {
                &st.live[d..]
            } else {
                &[][..]
            };
            // What was durable stays, except where the tear lands on it.
            // Each tear keeps a prefix of the unsynced bytes, then (if there
            // were any) what the device left after it.
            let (keep, after): (usize, Vec<u8>) = match tear {
                Tear::Drop => (0, Vec::new()),
                Tear::Keep(n) => (n, Vec::new()),
                Tear::Garbage(n, m) => (
                    n,
                    (0..m)
                        .map(|i| (i as u8).wrapping_mul(151).wrapping_add(7))
                        .collect(),
                ),
                Tear::Zeros(n, m) => (n, vec![0u8; m]),
            };
            let mut bytes = st.durable.clone();
            let k = keep.min(unsynced.len());
            put_at(&mut bytes, d, &unsynced[..k]);
            if !unsynced.is_empty() {
                put_at(&mut bytes, d + k, &after);
            }
            out.inodes.push(Inode {
                live: bytes.clone(),
                durable: bytes,
            });
            let i = out.inodes.len() - 1;
            out.live_names.insert(name.clone(), i);
            out.durable_names.insert(name.clone(), i);
        }
        SimFs {
            inner: Arc::new(Mutex::new(out)),
        }
    }

    /// Replace a file's bytes (live and durable, name durable) — for
    /// corruption tests.
    pub fn put(&self, path: &Path, bytes: Vec<u8>) {
        let mut g = self.inner.lock().unwrap();
        g.inodes.push(Inode {
            live: bytes.clone(),
            durable: bytes,
        });
        let i = g.inodes.len() - 1;
        g.live_names.insert(path.to_path_buf(), i);
        g.durable_names.insert(path.to_path_buf(), i);
    }

    /// Live bytes of a file.
    pub fn get(&self, path: &Path) -> Option<Vec<u8>> {
        let g = self.inner.lock().unwrap();
        g.live_names.get(path).map(|&i| g.inodes[i].live.clone())
    }
}

impl FsFile for SimFile {
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        let mut g = self.fs.inner.lock().unwrap();
        SimFs::tick(&mut g)?;
        if let Some(i) = g.faults.iter().position(|f| matches!(f, Fault::Write(_))) {
            let Fault::Write(code) = g.faults.remove(i) else {
                unreachable!()
            };
            // A failed write may still have written a prefix.
            let half = data.len() / 2;
            put_at(&mut g.inodes[self.inode].live, self.pos, &data[..half]);
            self.pos += half;
            return Err(os_err(code));
        }
        let len = g.inodes[self.inode].live.len();
        if let Some(room) = g.full_after((self.pos + data.len()).saturating_sub(len)) {
            let n = (len - self.pos.min(len) + room).min(data.len());
            put_at(&mut g.inodes[self.inode].live, self.pos, &data[..n]);
            self.pos += n;
            return Err(os_err(28));
        }
        put_at(&mut g.inodes[self.inode].live, self.pos, data);
        self.pos += data.len();
        Ok(())
    }

    fn preallocate(&mut self, at: u64, len: u64) -> io::Result<()> {
        let mut g = self.fs.inner.lock().unwrap();
        SimFs::tick(&mut g)?;
        let grow = (at + len).saturating_sub(g.inodes[self.inode].live.len() as u64);
        if g.full_after(grow as usize).is_some() {
            return Err(os_err(28));
        }
        let live = &mut g.inodes[self.inode].live;
        let (at, end) = (at as usize, (at + len) as usize);
        if live.len() < end {
            live.resize(end, 0);
        }
        live[at..end].fill(0);
        Ok(())
    }

    fn sync_data(&mut self) -> io::Result<()> {
        // What reaches the disk is what was written when the sync started.
        let (delay, snapshot) = {
            let g = self.fs.inner.lock().unwrap();
            (g.sync_delay, g.inodes[self.inode].live.clone())
        };
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let mut g = self.fs.inner.lock().unwrap();
        SimFs::tick(&mut g)?;
        let fault = g.faults.iter().position(|f| matches!(f, Fault::Sync(_)));
        if let Some(i) = fault {
            let Fault::Sync(code) = g.faults.remove(i) else {
                unreachable!()
            };
            // fsyncgate: after a failed fsync the dirty pages may be gone.
            let f = &mut g.inodes[self.inode];
            f.live = f.durable.clone();
            return Err(os_err(code));
        }
        // (A truncate during the sync shortened the file since.)
        let f = &mut g.inodes[self.inode];
        let n = snapshot.len().min(f.live.len());
        f.durable = snapshot[..n].to_vec();
        Ok(())
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        let mut g = self.fs.inner.lock().unwrap();
        SimFs::tick(&mut g)?;
        let f = &mut g.inodes[self.inode];
        f.live.truncate(len as usize);
        if f.durable.len() > len as usize {
            f.durable.truncate(len as usize);
        }
        self.pos = len as usize;
        Ok(())
    }
}

impl Fs for SimFs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let mut g = self.inner.lock().unwrap();
        SimFs::tick(&mut g)?;
        g.inodes.push(Inode::default());
        let inode = g.inodes.len() - 1;
        g.live_names.insert(path.to_path_buf(), inode);
        Ok(Box::new(SimFile {
            fs: self.clone(),
            inode,
            pos: 0,
        }))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let mut g = self.inner.lock().unwrap();
        SimFs::tick(&mut g)?;
        let inode = *g.live_names.get(path).ok_or_else(|| os_err(2))?;
        let pos = g.inodes[inode].live.len();
        Ok(Box::new(SimFile {
            fs: self.clone(),
            inode,
            pos,
        }))
    }

    fn read(&self, path: &Path) -> io::Result<FileBytes> {
        let mut g = self.inner.lock().unwrap();
        Ok(Box::new(g.inode_of(path)?.live.clone()))
    }

    fn exists(&self, path: &Path) -> bool {
        self.inner.lock().unwrap().live_names.contains_key(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut g = self.inner.lock().unwrap();
        SimFs::tick(&mut g)?;
        let i = g.live_names.remove(from).ok_or_else(|| os_err(2))?;
        g.live_names.insert(to.to_path_buf(), i);
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut g = self.inner.lock().unwrap();
        SimFs::tick(&mut g)?;
        g.live_names.remove(path).ok_or_else(|| os_err(2))?;
        Ok(())
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut g = self.inner.lock().unwrap();
        if !g.dirs.iter().any(|d| d == path) {
            g.dirs.push(path.to_path_buf());
        }
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let g = self.inner.lock().unwrap();
        Ok(g.live_names
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut g = self.inner.lock().unwrap();
        SimFs::tick(&mut g)?;
        let live: Vec<(PathBuf, usize)> = g
            .live_names
            .iter()
            .filter(|(p, _)| p.parent() == Some(dir))
            .map(|(p, i)| (p.clone(), *i))
            .collect();
        g.durable_names.retain(|n, _| n.parent() != Some(dir));
        g.durable_names.extend(live);
        Ok(())
    }

    fn set_len(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut g = self.inner.lock().unwrap();
        SimFs::tick(&mut g)?;
        let f = g.inode_of(path)?;
        f.live.truncate(len as usize);
        f.durable = f.live.clone();
        Ok(())
    }

    fn link(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut g = self.inner.lock().unwrap();
        SimFs::tick(&mut g)?;
        let i = *g.live_names.get(from).ok_or_else(|| os_err(2))?;
        if g.live_names.contains_key(to) {
            return Err(os_err(17));
        }
        g.live_names.insert(to.to_path_buf(), i);
        Ok(())
    }
}
