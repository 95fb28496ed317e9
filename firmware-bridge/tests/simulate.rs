//! `konsign-bridge simulate` as a program: it prints its pseudo-terminal, and a bridge that
//! opens it gets answers in the line protocol.

use firmware_bridge::line::{Frame, Verb};
use std::io::{BufRead, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn the_simulated_machine_answers_on_its_pseudo_terminal() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_konsign-bridge"))
        .args(["simulate", "--cut-ms", "20"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let path = first
        .strip_prefix("simulated cutting machine at ")
        .and_then(|r| r.split(';').next())
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    let mut port = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    // The slave side is raw (set by the simulator): what we write arrives unchanged.
    port.write_all(
        Frame::new(Verb::Load, 1, &["cj-9", "R", "320", "0", "1"])
            .encode()
            .as_bytes(),
    )
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut r = port.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        let mut line = Vec::new();
        while let Ok(n) = r.read(&mut buf) {
            for b in &buf[..n] {
                if *b == b'\n' {
                    let _ = tx.send(String::from_utf8_lossy(&line).to_string());
                    line.clear();
                } else {
                    line.push(*b);
                }
            }
        }
    });
    let answer = rx.recv_timeout(Duration::from_secs(5)).expect("an answer");
    let f = Frame::decode(&answer).unwrap();
    assert_eq!((f.verb, f.args.clone()), (Verb::Ack, vec!["1".to_string()]));
    child.kill().unwrap();
    let _ = child.wait();
}
