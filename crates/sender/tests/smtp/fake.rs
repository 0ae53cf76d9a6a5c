//! A scriptable SMTP server on an ephemeral loopback port (RFC 5321's
//! commands, no TLS): each recipient's replies to RCPT TO and to the end
//! of DATA are given in order (the last one repeats), so tests can make a
//! server refuse, refuse for a while, or close connections.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt: String,
    pub data: String,
}

#[derive(Default)]
pub struct State {
    pub connections: usize,
    pub commands: Vec<String>,
    pub messages: Vec<Received>,
    rcpt: HashMap<String, VecDeque<String>>,
    data_end: HashMap<String, VecDeque<String>>,
    mail: VecDeque<String>,
    close_after_message: bool,
    data_delay: Duration,
}

pub struct FakeSmtp {
    pub port: u16,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

fn next(q: Option<&mut VecDeque<String>>, default: &str) -> String {
    match q {
        Some(q) if q.len() > 1 => q.pop_front().unwrap_or_default(),
        Some(q) if q.len() == 1 => q[0].clone(),
        _ => default.to_string(),
    }
}

fn angle(arg: &str) -> String {
    let a = arg.find('<').map_or(arg, |i| &arg[i + 1..]);
    a.split('>').next().unwrap_or("").to_ascii_lowercase()
}

impl FakeSmtp {
    pub async fn start() -> FakeSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else { return };
                st.lock().unwrap().connections += 1;
                tokio::spawn(session(sock, st.clone()));
            }
        });
        FakeSmtp { port, state, task }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    /// Replies to RCPT TO:<addr>, in order; the last repeats.
    pub fn rcpt(&self, addr: &str, replies: &[&str]) {
        self.with(|s| s.rcpt.insert(addr.to_string(), replies.iter().map(|r| r.to_string()).collect()));
    }

    /// Replies to the end of DATA for a message to `addr`.
    pub fn data_end(&self, addr: &str, replies: &[&str]) {
        self.with(|s| s.data_end.insert(addr.to_string(), replies.iter().map(|r| r.to_string()).collect()));
    }

    pub fn mail_from(&self, replies: &[&str]) {
        self.with(|s| s.mail = replies.iter().map(|r| r.to_string()).collect());
    }

    /// Close the connection after each message, as a server with a short
    /// idle timeout does.
    pub fn close_after_message(&self) {
        self.with(|s| s.close_after_message = true);
    }

    pub fn slow_data(&self, delay: Duration) {
        self.with(|s| s.data_delay = delay);
    }

    pub fn connections(&self) -> usize {
        self.with(|s| s.connections)
    }

    pub fn commands(&self) -> Vec<String> {
        self.with(|s| s.commands.clone())
    }

    pub fn messages(&self) -> Vec<Received> {
        self.with(|s| s.messages.clone())
    }
}

impl Drop for FakeSmtp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn say(w: &mut tokio::net::tcp::OwnedWriteHalf, s: &str) {
    let _ = w.write_all(format!("{s}\r\n").as_bytes()).await;
}

async fn session(sock: tokio::net::TcpStream, st: Arc<Mutex<State>>) {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    say(&mut w, "220 fake.test ESMTP").await;
    let (mut from, mut rcpt) = (String::new(), String::new());
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let cmd = line.trim_end().to_string();
        st.lock().unwrap().commands.push(cmd.clone());
        let verb = cmd.split([' ', ':']).next().unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => say(&mut w, "250-fake.test\r\n250-8BITMIME\r\n250 SIZE 10240000").await,
            "HELO" | "NOOP" => say(&mut w, "250 2.0.0 Ok").await,
            "RSET" => {
                from.clear();
                rcpt.clear();
                say(&mut w, "250 2.0.0 Ok").await;
            }
            "MAIL" => {
                let reply = next(Some(&mut st.lock().unwrap().mail), "250 2.1.0 Ok");
                if reply.starts_with('2') {
                    from = angle(&cmd);
                }
                say(&mut w, &reply).await;
            }
            "RCPT" => {
                let to = angle(&cmd);
                let reply = next(st.lock().unwrap().rcpt.get_mut(&to), "250 2.1.5 Ok");
                if reply.starts_with('2') {
                    rcpt = to;
                }
                say(&mut w, &reply).await;
            }
            "DATA" => {
                if rcpt.is_empty() {
                    say(&mut w, "554 5.5.1 Error: no valid recipients").await;
                    continue;
                }
                say(&mut w, "354 End data with <CR><LF>.<CR><LF>").await;
                let mut data = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    data.push_str(&line);
                }
                let (reply, close, delay) = {
                    let mut s = st.lock().unwrap();
                    let reply = next(s.data_end.get_mut(&rcpt), "250 2.0.0 Ok: queued as FAKE");
                    if reply.starts_with('2') {
                        s.messages.push(Received { mail_from: from.clone(), rcpt: rcpt.clone(), data });
                    }
                    (reply, s.close_after_message, s.data_delay)
                };
                tokio::time::sleep(delay).await;
                say(&mut w, &reply).await;
                from.clear();
                rcpt.clear();
                if close {
                    return;
                }
            }
            "QUIT" => {
                say(&mut w, "221 2.0.0 Bye").await;
                return;
            }
            _ => say(&mut w, "502 5.5.2 Error: command not recognized").await,
        }
    }
}
