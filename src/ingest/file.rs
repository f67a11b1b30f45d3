//! Opening and reading user files safely: exports, plate maps and the config.
//!
//! Owns what a path can be besides a regular file (a folder, a named pipe, a device, a socket,
//! a symbolic link that loops) and the message for each, and reading with a size cap that
//! holds for every kind of file: at most `limit + 1` bytes are ever read, so `/dev/zero` or a
//! pipe fed 300 MB stops at the cap. Files are opened without blocking (`O_NONBLOCK` on Unix),
//! so a named pipe nobody writes to reads as empty instead of hanging.
//!
//! Does not own decoding or formats (see [`crate::ingest`]).

use std::io::Read;
use std::path::Path;

/// What a path is when it is not a regular file, as a phrase for messages (`is a named pipe
/// (FIFO)`); `None` for a regular file and for a path that does not exist (callers say that
/// in their own words).
#[must_use]
pub fn not_a_file(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(m) => kind_of(&m.file_type()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A dangling symbolic link: the link exists, what it points to does not.
            std::fs::symlink_metadata(path)
                .ok()
                .filter(|m| m.file_type().is_symlink())
                .map(|_| "is a symbolic link to a file that does not exist".to_string())
        }
        Err(e) if is_loop(&e) => {
            Some("is a symbolic link that loops (too many levels of symbolic links)".to_string())
        }
        Err(e) => Some(format!("cannot be read: {e}")),
    }
}

/// The phrase for a file type other than a regular file.
fn kind_of(t: &std::fs::FileType) -> Option<String> {
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("is a folder".to_string());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("is a named pipe (FIFO), not a file".to_string());
        }
        if t.is_char_device() || t.is_block_device() {
            return Some("is a device (like /dev/zero), not a file".to_string());
        }
        if t.is_socket() {
            return Some("is a socket, not a file".to_string());
        }
    }
    Some("is not a regular file".to_string())
}

/// True for "too many levels of symbolic links" (ELOOP).
fn is_loop(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(libc::ELOOP)
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// Opens `path` for reading without blocking on a named pipe that has no writer.
fn open(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NONBLOCK);
    }
    o.open(path)
}

/// Reads at most `limit + 1` bytes of `path`: `Ok(Ok(bytes))` when the whole content fits in
/// `limit`, `Ok(Err(size))` when it does not (`size` is the file size for a regular file, or
/// `limit + 1` for a pipe or device, where more was available).
///
/// Any kind of file can be read (a regular file, `/dev/stdin`, a pipe); a named pipe with no
/// writer reads as empty.
///
/// # Errors
/// When the path cannot be opened or read; a symbolic link loop says so.
pub fn read_limited(path: &Path, limit: u64) -> std::io::Result<Result<Vec<u8>, u64>> {
    let file = open(path).map_err(|e| {
        if is_loop(&e) {
            std::io::Error::other("a symbolic link that loops (too many levels of symbolic links)")
        } else {
            e
        }
    })?;
    if file.metadata()?.is_dir() {
        return Err(std::io::Error::other("it is a folder"));
    }
    read_open(file, limit)
}

/// Reads an open file up to `limit + 1` bytes (see [`read_limited`]).
fn read_open(file: std::fs::File, limit: u64) -> std::io::Result<Result<Vec<u8>, u64>> {
    let meta = file.metadata()?;
    if meta.is_file() && meta.len() > limit {
        return Ok(Err(meta.len()));
    }
    let mut bytes = Vec::new();
    let mut taken = file.take(limit + 1);
    let mut buf = [0u8; 64 * 1024];
    loop {
        match taken.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            // A pipe or terminal opened without blocking whose writer has not written yet.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if bytes.len() as u64 > limit {
        return Ok(Err(bytes.len() as u64));
    }
    Ok(Ok(bytes))
}

/// Reads a regular file of at most `limit` bytes. Anything else (a pipe, a device, a folder, a
/// socket) is refused with what it is, before a byte is read; nothing blocks.
///
/// # Errors
/// An I/O error whose message says what the path is or how large it is.
pub fn read_regular(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    if let Some(kind) = not_a_file(path) {
        return Err(std::io::Error::other(format!("it {kind}; give an export file")));
    }
    let file = open(path)?;
    // The path may have changed since the check above: look at what was opened.
    if let Some(kind) = kind_of(&file.metadata()?.file_type()) {
        return Err(std::io::Error::other(format!("it {kind}; give an export file")));
    }
    match read_open(file, limit)? {
        Ok(bytes) => Ok(bytes),
        Err(size) => Err(std::io::Error::other(format!(
            "file is {size} bytes, more than the {limit}-byte limit for a plate export; split it \
             into smaller files"
        ))),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn special_files_are_named() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(not_a_file(&tmp.path().join("nope")), None);
        assert_eq!(not_a_file(tmp.path()).as_deref(), Some("is a folder"));
        assert!(not_a_file(Path::new("/dev/null")).unwrap().contains("device"));
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        assert!(not_a_file(&a).unwrap().contains("loops"), "{:?}", not_a_file(&a));
    }

    #[test]
    fn the_cap_holds_for_devices() {
        assert_eq!(read_limited(Path::new("/dev/zero"), 1000).unwrap(), Err(1001));
        assert_eq!(read_limited(Path::new("/dev/null"), 1000).unwrap(), Ok(Vec::new()));
        let err = read_regular(Path::new("/dev/zero"), 1000).unwrap_err();
        assert!(err.to_string().contains("device"), "{err}");
    }
}
