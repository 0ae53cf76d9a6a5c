//! A hostile message costs time linear in its size: each adversarial shape
//! is parsed at 1 MB and at 10 MB, and the 10 MB parse must take less than
//! 20 times as long (linear is 10x; the slack absorbs cache effects and a
//! busy machine). A quadratic scanner takes 100x and fails.
//!
//! The shapes are the ones that made earlier scanners rescan or copy a
//! whole line per address, a whole text per marker or per recipient: many
//! addresses on one line, many recipient lines, deep MIME nesting, long
//! tokens and long runs of one character.

use std::time::{Duration, Instant};

use rebound_dsn::{ParseOptions, Parsed, parse_with};

const MB: usize = 1_000_000;
const MAX_RATIO: f64 = 20.0;

const BOUNCE_HEAD: &str = "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\n\
To: bounces@lists.example.org\n\
Subject: Undelivered Mail Returned to Sender\n\
Message-ID: <hostile@mx.example.net>\n\n";

/// Repeat `unit(i)` after `head` until the text reaches `size` bytes.
fn fill(head: &str, size: usize, mut unit: impl FnMut(usize) -> String) -> Vec<u8> {
    let mut s = String::with_capacity(size + 256);
    s.push_str(head);
    let mut i = 0;
    while s.len() < size {
        s.push_str(&unit(i));
        i += 1;
    }
    s.truncate(size);
    while !s.is_char_boundary(s.len()) {
        s.pop();
    }
    s.into_bytes()
}

struct Shape {
    name: &'static str,
    make: fn(usize) -> Vec<u8>,
}

const SHAPES: &[Shape] = &[
    Shape {
        // The case of the report: "a1@b.test a2@b.test ..." on one line.
        name: "addresses on one line",
        make: |n| fill(BOUNCE_HEAD, n, |i| format!("a{i}@b.test ")),
    },
    Shape {
        name: "addresses on one line after a lead phrase",
        make: |n| {
            let head = format!("{BOUNCE_HEAD}Delivery to the following recipients failed: ");
            fill(&head, n, |i| format!("<u{i}@example.com>, "))
        },
    },
    Shape {
        name: "addresses after a long line of blanks",
        make: |n| {
            let head = format!("{BOUNCE_HEAD}{}", " ".repeat(n / 2));
            fill(&head, n, |i| format!("a{i}@b.test "))
        },
    },
    Shape {
        name: "one recipient per line",
        make: |n| fill(BOUNCE_HEAD, n, |i| format!("<u{i}@example.com>: 550 5.1.1 user unknown\n")),
    },
    Shape {
        name: "recipient lines under a long line",
        make: |n| {
            let head = format!("{BOUNCE_HEAD}The following addresses failed: {}\n", "x ".repeat(n / 4));
            fill(&head, n, |i| format!("u{i}@example.com\n\n"))
        },
    },
    Shape {
        name: "delivery-status with many recipients and a long notice",
        make: |n| {
            let head = "From: MAILER-DAEMON@mx.example.net\nTo: bounces@lists.example.org\n\
Subject: Delivery Status Notification (Failure)\nMIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n\
--b\nContent-Type: text/plain\n\nYour message could not be delivered to ";
            let mut text = fill(head, n / 2, |i| format!("v{i}@example.com "));
            text.extend_from_slice(
                b"\n--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n",
            );
            let rest = fill("", n - text.len() - 8, |i| {
                format!("Final-Recipient: rfc822; v{i}@example.com\nAction: failed\nStatus: 5.0.0\n\n")
            });
            text.extend_from_slice(&rest);
            text.extend_from_slice(b"\n--b--\n");
            text
        },
    },
    Shape {
        name: "deeply nested multiparts",
        make: |n| {
            fill(
                "From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b0\"\n\n",
                n,
                |i| format!("--b{i}\nContent-Type: multipart/mixed; boundary=\"b{}\"\n\n", i + 1),
            )
        },
    },
    Shape {
        name: "deeply nested returned messages",
        make: |n| {
            fill(BOUNCE_HEAD, n, |i| {
                format!(
                    "--- Below this line is a copy of the message.\nContent-Type: message/rfc822\n\nFrom: MAILER-DAEMON@h{i}.test\nSubject: Undelivered\nContent-Type: message/rfc822\n\n"
                )
            })
        },
    },
    Shape {
        name: "one long token with an at sign",
        make: |n| {
            let mut v = BOUNCE_HEAD.as_bytes().to_vec();
            v.resize(n / 2, b'a');
            v.push(b'@');
            v.resize(n, b'b');
            v
        },
    },
    Shape {
        name: "address literals that never close",
        make: |n| fill(BOUNCE_HEAD, n, |_| "x@[".to_string()),
    },
    Shape {
        name: "reply codes and status codes",
        make: |n| {
            let head = format!("{BOUNCE_HEAD}<u@example.com>: ");
            fill(&head, n, |_| "550 5.1.1 4.".to_string())
        },
    },
    Shape {
        name: "original-message markers on one line",
        make: |n| {
            let head = format!("{BOUNCE_HEAD}x@example.com failed\n{}", "-".repeat(n / 2));
            fill(&head, n, |_| "forwarded message ".to_string())
        },
    },
    Shape {
        name: "header lines",
        make: |n| fill(BOUNCE_HEAD, n, |i| format!("Received: from h{i}.test by x@y.test\n")),
    },
];

fn time(raw: &[u8]) -> Duration {
    let t = Instant::now();
    let p = parse_with(raw, &ParseOptions::default());
    let d = t.elapsed();
    if let Parsed::Bounce(r) = &p {
        assert!(r.recipients.len() <= rebound_dsn::MAX_RECIPIENTS);
    }
    d
}

/// The quickest of three rounds, each parsing the small input then the
/// large one, so that a busy machine slows both alike and a scheduler
/// hiccup does not count.
fn times(small: &[u8], large: &[u8]) -> (Duration, Duration) {
    let mut best = (Duration::MAX, Duration::MAX);
    for _ in 0..3 {
        best.0 = best.0.min(time(small));
        best.1 = best.1.min(time(large));
    }
    best
}

#[test]
fn hostile_inputs_cost_linear_time() {
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for s in SHAPES {
        let small = (s.make)(MB);
        let large = (s.make)(10 * MB);
        assert!(small.len() <= MB && small.len() > MB * 9 / 10, "{}: {} bytes", s.name, small.len());
        // A busy machine can stretch one measurement; a quadratic shape
        // fails every attempt (at 100x), a linear one passes one of three.
        let mut attempts = Vec::new();
        for _ in 0..3 {
            let (t1, t10) = times(&small, &large);
            // Below two milliseconds the scheduler's noise dominates; a
            // quadratic shape still shows, at 10 MB, as 50 times the floor.
            let ratio = t10.as_secs_f64() / t1.as_secs_f64().max(0.002);
            attempts.push((t1, t10, ratio));
            if ratio < MAX_RATIO {
                break;
            }
        }
        let (t1, t10, ratio) = attempts[attempts.len() - 1];
        report.push(format!("{:<58} 1 MB {:>9.1?}  10 MB {:>9.1?}  x{ratio:.1}", s.name, t1, t10));
        if ratio >= MAX_RATIO {
            failures.push(s.name);
        }
    }
    println!("{}", report.join("\n"));
    assert!(failures.is_empty(), "superlinear parse time for {failures:?}:\n{}", report.join("\n"));
}
