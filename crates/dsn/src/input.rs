//! Inputs of `rebound parse PATH...`: files, directories (walked
//! recursively in sorted order) and mbox files (RFC 4155 "From " lines),
//! yielding one message at a time so an archive of any size streams.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::Error;

/// One message to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputMessage {
    /// The path as given, joined with names found below a directory. The
    /// corpus scorer matches this on its suffix ("bsd/x.eml").
    pub path: String,
    /// 1-based index within an mbox file, when the file is an mbox.
    pub index: Option<usize>,
    pub bytes: Vec<u8>,
}

/// Walk `paths` in order. Errors (unreadable file or directory) are yielded
/// in place and the walk goes on.
pub fn walk<P: AsRef<Path>>(paths: &[P]) -> Walk {
    Walk { pending: paths.iter().map(|p| p.as_ref().to_path_buf()).collect(), mbox: None }
}

pub struct Walk {
    pending: VecDeque<PathBuf>,
    mbox: Option<Mbox>,
}

impl Iterator for Walk {
    type Item = Result<InputMessage, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(m) = self.mbox.as_mut() {
                match m.next_message() {
                    Ok(Some(msg)) => return Some(Ok(msg)),
                    Ok(None) => self.mbox = None,
                    Err(e) => {
                        let path = m.path.clone();
                        self.mbox = None;
                        return Some(Err(Error::Io { path, source: e }));
                    }
                }
            }
            let p = self.pending.pop_front()?;
            let shown = p.to_string_lossy().into_owned();
            let meta = match std::fs::metadata(&p) {
                Ok(m) => m,
                Err(e) => return Some(Err(Error::Io { path: shown, source: e })),
            };
            if meta.is_dir() {
                let mut entries: Vec<PathBuf> = match std::fs::read_dir(&p) {
                    Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
                    Err(e) => return Some(Err(Error::Io { path: shown, source: e })),
                };
                entries.sort();
                for e in entries.into_iter().rev() {
                    self.pending.push_front(e);
                }
                continue;
            }
            match open(&p, shown) {
                Ok(Opened::Single(m)) => return Some(Ok(m)),
                Ok(Opened::Mbox(m)) => self.mbox = Some(m),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

enum Opened {
    Single(InputMessage),
    Mbox(Mbox),
}

fn open(p: &Path, shown: String) -> Result<Opened, Error> {
    let io = |e| Error::Io { path: shown.clone(), source: e };
    let mut f = BufReader::new(File::open(p).map_err(io)?);
    let head = f.fill_buf().map_err(io)?;
    if head.starts_with(b"From ") {
        return Ok(Opened::Mbox(Mbox {
            path: shown,
            reader: Box::new(f),
            count: 0,
            pending_from: None,
            done: false,
        }));
    }
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes).map_err(io)?;
    Ok(Opened::Single(InputMessage { path: shown, index: None, bytes }))
}

/// Split an mbox (RFC 4155) stream: a message starts at a "From " line that
/// follows a blank line (or starts the file). Requiring the blank line keeps
/// an unescaped "From " inside a body from splitting a message.
pub struct Mbox {
    path: String,
    reader: Box<dyn BufRead>,
    count: usize,
    pending_from: Option<Vec<u8>>,
    done: bool,
}

impl Mbox {
    pub fn new(path: impl Into<String>, reader: Box<dyn BufRead>) -> Self {
        Mbox { path: path.into(), reader, count: 0, pending_from: None, done: false }
    }

    pub fn next_message(&mut self) -> std::io::Result<Option<InputMessage>> {
        if self.done {
            return Ok(None);
        }
        let mut msg: Vec<u8> = Vec::new();
        let mut started = self.pending_from.take().is_some();
        let mut prev_blank = true;
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = self.reader.read_until(b'\n', &mut line)?;
            if n == 0 {
                self.done = true;
                break;
            }
            let is_from = line.starts_with(b"From ") && prev_blank && is_separator(&line);
            if is_from {
                if started && !msg.iter().all(u8::is_ascii_whitespace) {
                    self.pending_from = Some(line.clone());
                    break;
                }
                started = true;
                prev_blank = false;
                continue;
            }
            started = true;
            prev_blank = line.iter().all(|c| *c == b'\n' || *c == b'\r');
            msg.extend_from_slice(&line);
        }
        if msg.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        self.count += 1;
        Ok(Some(InputMessage { path: self.path.clone(), index: Some(self.count), bytes: msg }))
    }
}

impl Iterator for Mbox {
    type Item = std::io::Result<InputMessage>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_message().transpose()
    }
}

/// "From sender date": at least a sender and something date-like after it.
fn is_separator(line: &[u8]) -> bool {
    let s = String::from_utf8_lossy(line);
    let mut words = s.split_whitespace();
    words.next(); // "From"
    let sender = words.next();
    let rest: Vec<&str> = words.collect();
    sender.is_some()
        && rest.len() >= 3
        && rest.iter().any(|w| w.contains(':') && w.bytes().any(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_mbox_on_from_lines_after_blank_lines() {
        let data = b"From a@b Sat Oct  4 08:00:09 2025\nSubject: one\n\nbody\nFrom here on it is text\n\nFrom c@d Sat Oct  4 08:00:10 2025\nSubject: two\n\nx\n";
        let m = Mbox::new("x.mbox", Box::new(&data[..]));
        let msgs: Vec<_> = m.map(Result::unwrap).collect();
        assert_eq!(msgs.len(), 2);
        assert!(msgs[0].bytes.starts_with(b"Subject: one"));
        assert!(String::from_utf8_lossy(&msgs[0].bytes).contains("From here on"));
        assert_eq!(msgs[1].index, Some(2));
    }
}
