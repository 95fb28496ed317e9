//! The `konsign` binary: configuration, users, tokens and CSV import from the command line.

use std::io::Write;
use std::process::{Command, Stdio};

fn konsign(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_konsign"));
    c.current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("KONSIGN_LISTEN")
        .env_remove("KONSIGN_CONFIG")
        .env_remove("KONSIGN_ENVIRONMENT")
        .env("RUST_LOG", "warn");
    c
}

#[test]
fn config_prints_the_effective_configuration_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let out = konsign(dir.path())
        .args(["config", "--listen", "0.0.0.0:9999"])
        .env(
            "DATABASE_URL",
            "postgres://app:topsecret@db.local:5432/konsign",
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("listen = \"0.0.0.0:9999\""), "{text}");
    assert!(
        text.contains("postgres://app:***@db.local:5432/konsign"),
        "{text}"
    );
    assert!(!text.contains("topsecret"));
    // Defaults need no file: SQLite under ./data/.
    let out = konsign(dir.path()).arg("config").output().unwrap();
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("sqlite://data/konsign.db"));
}

#[test]
fn invalid_configuration_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = konsign(dir.path())
        .args(["serve"])
        .env("KONSIGN_LISTEN", "nonsense")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("listen"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = konsign(dir.path())
        .args(["serve", "--database-url", "mysql://x/y"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("database.url"));
    std::fs::write(
        dir.path().join("k.toml"),
        "[database]\nmax_connections = 0\n",
    )
    .unwrap();
    let out = konsign(dir.path())
        .args(["serve", "--config", "k.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("database.max_connections"));
}

#[test]
fn users_tokens_and_imports_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = konsign(dir.path())
        .args(["user", "add", "--role", "admin", "Birgit"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a-long-password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("user birgit created with role admin"));
    // A short password is refused with the rule.
    let mut child = konsign(dir.path())
        .args(["user", "add", "--role", "picker", "per"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10 characters"));
    let out = konsign(dir.path())
        .args(["user", "add", "--role", "boss", "x"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("role: must be one of"));

    let out = konsign(dir.path())
        .args(["token", "create", "--role", "integration", "webshop"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap();
    assert!(
        token.trim().starts_with("ks_") && token.trim().len() == 67,
        "{token}"
    );

    std::fs::write(
        dir.path().join("loc.csv"),
        "code,zone,kind,walk_seq\nA-01-1,A,pick,1\nA-01-2,A,pick,x\n",
    )
    .unwrap();
    let out = konsign(dir.path())
        .args(["import", "locations", "loc.csv"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loc.csv:3: walk_seq"), "{err}");
    assert!(err.contains("nothing was imported"));
    std::fs::write(
        dir.path().join("loc.csv"),
        "code,zone,kind,walk_seq\nA-01-1,A,pick,1\nA-01-2,A,pick,2\n",
    )
    .unwrap();
    let out = konsign(dir.path())
        .args(["import", "locations", "loc.csv"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 2 locations: 2 created"));
}

#[test]
fn demo_loads_a_realistic_dataset_once() {
    let dir = tempfile::tempdir().unwrap();
    let demo = || {
        let mut c = konsign(dir.path());
        c.arg("demo").env("KONSIGN_ENVIRONMENT", "development");
        c
    };
    let out = demo().output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("5 producers, 65 products, 317 locations"),
        "{text}"
    );
    for role in [
        "admin",
        "lead",
        "picker",
        "packer",
        "operator",
        "finance",
        "integration",
    ] {
        assert!(
            text.contains(&format!("password: konsign-{role}")),
            "{text}"
        );
    }
    let again = demo().output().unwrap();
    assert!(again.status.success());
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(text.contains("already present"), "{text}");
    assert!(!text.contains("password: konsign-"), "{text}");
}

/// Runs `konsign` to its end, or kills it after a minute (a `serve` that does not refuse).
#[test]
fn demo_history_shows_its_progress_and_adds_nothing_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let history = || {
        let mut c = konsign(dir.path());
        c.args(["demo", "history", "--days", "5", "--orders-per-day", "30"])
            .env("KONSIGN_ENVIRONMENT", "development");
        c
    };
    let out = history().output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("demo history: 5 days written (0 there already)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the demo data was loaded first"),
        "{stdout}"
    );
    // Not a terminal here: one progress line per tenth, the last at 5/5.
    assert!(stderr.contains("] day 5/5, "), "{stderr}");
    // Then the last step is named, so a long pause after 100 % does not look like a hang.
    assert!(stderr.contains("making the database ready"), "{stderr}");
    let again = history().output().unwrap();
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success());
    assert!(
        !String::from_utf8_lossy(&again.stderr).contains("making the database ready"),
        "nothing written, nothing to make ready"
    );
    assert!(
        stdout.contains("0 days written (5 there already), 0 orders"),
        "{stdout}"
    );
    let mut prod = konsign(dir.path());
    prod.args(["demo", "history"])
        .env("KONSIGN_ENVIRONMENT", "production");
    let out = prod.output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("production"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn finishes(mut c: Command) -> std::process::Output {
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(60) {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after a minute: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn demo_data_is_refused_in_production_and_on_a_database_in_use() {
    let dir = tempfile::tempdir().unwrap();
    // Production is the default: no demo users, on an empty database too, and no start.
    for args in [
        &["demo"][..],
        &["serve", "--demo", "--listen", "127.0.0.1:0"],
    ] {
        let mut c = konsign(dir.path());
        c.args(args);
        let out = finishes(c);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {err}");
        assert!(
            err.contains("refusing to load demo data: environment is production"),
            "{err}"
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("konsign-admin"));
    }
    // A database with a user of its own: refused in development too.
    let mut child = konsign(dir.path())
        .args(["user", "add", "--role", "admin", "birgit"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a-long-password\n")
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    for args in [
        &["demo"][..],
        &["serve", "--demo", "--listen", "127.0.0.1:0"],
    ] {
        let mut c = konsign(dir.path());
        c.args(args).env("KONSIGN_ENVIRONMENT", "development");
        let out = finishes(c);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: {err}");
        assert!(
            err.contains(
                "the database is not empty (users 1, API tokens 0, producers 0, products 0)"
            ),
            "{err}"
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains("konsign-admin"));
    }
}

#[test]
fn labels_are_listed_and_rendered_to_zpl_from_the_shipped_templates() {
    let dir = tempfile::tempdir().unwrap();
    let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/label-templates");
    let out = konsign(dir.path())
        .args(["label", "list", "--templates", templates])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for name in ["cut-sticker", "location", "shipping"] {
        assert!(text.contains(name), "{text}");
    }
    let data = dir.path().join("label.json");
    std::fs::write(&data, r#"{"location": "TOTE-017"}"#).unwrap();
    let zpl = dir.path().join("label.zpl");
    let out = konsign(dir.path())
        .args([
            "label",
            "render",
            "--template",
            "location",
            "--templates",
            templates,
            "--dpi",
            "300",
        ])
        .arg("--data")
        .arg(&data)
        .arg("--out")
        .arg(&zpl)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let label = std::fs::read_to_string(&zpl).unwrap();
    assert!(label.starts_with("^XA\n^CI28\n^FX job cli-"), "{label}");
    assert!(label.contains("^FD>:TOTE-017^FS"), "{label}");
    assert!(label.ends_with("^PQ1\n^XZ\n"), "{label}");
    // Missing data, unknown templates and broken templates are refused with the reason.
    std::fs::write(&data, r#"{"lokation": "A-1"}"#).unwrap();
    let out = konsign(dir.path())
        .args([
            "label",
            "render",
            "--template",
            "location",
            "--templates",
            templates,
        ])
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("location: is missing from the label data")
    );
    let out = konsign(dir.path())
        .args([
            "label",
            "render",
            "--template",
            "nope",
            "--sample",
            "--templates",
            templates,
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "no template nope; there are: cut-sticker, handover-list, location, packing-slip, shipping"
    ));
    // PDF and PNG from the command line, without a templates folder (the built-in ones).
    for (format, magic) in [("pdf", &b"%PDF-"[..]), ("png", &b"\x89PNG"[..])] {
        let file = dir.path().join(format!("slip.{format}"));
        let out = konsign(dir.path())
            .args([
                "label",
                "render",
                "--template",
                "packing-slip",
                "--sample",
                "--format",
                format,
            ])
            .arg("--out")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(std::fs::read(&file).unwrap().starts_with(magic), "{format}");
    }
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    let text = std::fs::read_to_string(format!("{templates}/location.toml")).unwrap();
    std::fs::write(
        broken.join("location.toml"),
        text.replace("y_mm = 17", "y_mm = 25"),
    )
    .unwrap();
    let out = konsign(dir.path())
        .args(["label", "list", "--templates"])
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("location.toml: element 2 (barcode): reaches"),
        "{err}"
    );
}

/// `konsign simulate printer` stops on Ctrl-C (SIGINT) even while it waits for a command on its
/// terminal, as the README says.
#[test]
fn the_printer_simulator_stops_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = konsign(dir.path())
        .args([
            "simulate",
            "printer",
            "--listen",
            "127.0.0.1:0",
            "--out",
            "labels",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for it to listen (its first line on stderr).
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut err, &mut first).unwrap();
    assert!(first.contains("simulated printer on"), "{first}");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still running 5 s after Ctrl-C"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(child.stdin.take());
}
