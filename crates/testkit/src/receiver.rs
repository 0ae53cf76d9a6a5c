//! A webhook receiver in Python (scripts/webhook-receiver) that verifies
//! every delivery with the PyPI `standardwebhooks` package and checks its
//! body against the WebhookEvent schema rebound publishes: the tests of
//! outgoing event webhooks check rebound against someone else's code, not
//! its own. The venv is made on first use (scripts/webhook-receiver/venv).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's python, made if needed (needs python3 and PyPI).
pub fn python() -> PathBuf {
    let out = Command::new(repo_root().join("scripts/webhook-receiver/venv"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/webhook-receiver/venv");
    assert!(out.status.success(), "scripts/webhook-receiver/venv failed");
    PathBuf::from(String::from_utf8(out.stdout).expect("a path").trim())
}

/// The running receiver; killed when dropped.
pub struct PyReceiver {
    pub url: String,
    child: Child,
    out: PathBuf,
    _dir: tempfile::TempDir,
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub webhook_id: String,
    /// The standardwebhooks package accepted the signature.
    pub verified: bool,
    pub error: Option<String>,
    /// Where the body does not match the published WebhookEvent schema.
    pub schema_errors: Vec<String>,
    pub event: Value,
}

impl PyReceiver {
    /// Starts it with the endpoint's secret and the OpenAPI document;
    /// the first `fail_first` requests are answered 500.
    pub fn start(secret: &str, openapi: &Value, fail_first: usize) -> PyReceiver {
        let dir = tempfile::tempdir().expect("temp dir");
        let spec = dir.path().join("openapi.json");
        std::fs::write(&spec, serde_json::to_vec(openapi).unwrap()).unwrap();
        let out = dir.path().join("deliveries.jsonl");
        let port_file = dir.path().join("port");
        let child = Command::new(python())
            .arg(repo_root().join("scripts/webhook-receiver/receiver.py"))
            .args(["--secret", secret, "--fail-first", &fail_first.to_string()])
            .arg("--openapi")
            .arg(&spec)
            .arg("--out")
            .arg(&out)
            .arg("--port-file")
            .arg(&port_file)
            .stdin(Stdio::null())
            .spawn()
            .expect("start the python receiver");
        let start = Instant::now();
        let port = loop {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                break p.trim().to_string();
            }
            assert!(start.elapsed() < Duration::from_secs(30), "the python receiver did not start");
            std::thread::sleep(Duration::from_millis(50));
        };
        PyReceiver { url: format!("http://127.0.0.1:{port}/hook"), child, out, _dir: dir }
    }

    /// Every request so far, in arrival order.
    pub fn delivered(&self) -> Vec<Delivered> {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("a JSON line");
                Delivered {
                    webhook_id: v["webhook_id"].as_str().unwrap_or_default().to_string(),
                    verified: v["verified"].as_bool().unwrap_or(false),
                    error: v["error"].as_str().map(str::to_string),
                    schema_errors: v["schema_errors"]
                        .as_array()
                        .map(|a| a.iter().map(|e| e.as_str().unwrap_or_default().to_string()).collect())
                        .unwrap_or_default(),
                    event: v["event"].clone(),
                }
            })
            .collect()
    }
}

impl Drop for PyReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
