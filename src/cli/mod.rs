//! The command line: `konsign serve | config | migrate | demo | user | token | import | gs1`.
//!
//! Size: about 600 lines, on purpose: every subcommand's arguments and its few lines of work
//! side by side, so `konsign --help` and this file read alike. A new subcommand with more than a
//! call into a service gets a file of its own.

use crate::config::{Config, Overrides};
use crate::domain::auth::Role;
use crate::service::{self, Actor};
use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

mod demo;

pub use demo::DemoCmd;

#[derive(Debug, Parser)]
#[command(
    name = "konsign",
    version,
    about = "Warehouse control for a consignment warehouse of citizen health supplies"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// TOML configuration file.
    #[arg(long, global = true, env = "KONSIGN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL (sqlite://PATH or postgres://...); overrides DATABASE_URL and the file.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// HTTP listen address, for example 0.0.0.0:8080; overrides KONSIGN_LISTEN and the file.
    #[arg(long, global = true)]
    pub listen: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service.
    Serve {
        /// Load the demo dataset first and print the demo logins: only into an empty database and
        /// never when `environment` is `production` (then konsign refuses to start).
        #[arg(long)]
        demo: bool,
    },
    /// Print the effective configuration (secrets masked).
    Config,
    /// Run database migrations and exit.
    Migrate,
    /// Load the demo dataset and print the demo logins (empty database, not in production);
    /// `demo history` adds a generated history for the dashboard's reports and benchmarks.
    Demo {
        #[command(subcommand)]
        what: Option<DemoCmd>,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCmd),
    /// Manage API tokens for machine clients.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Import products or locations from CSV; nothing is imported when any line is invalid.
    #[command(subcommand)]
    Import(ImportCmd),
    /// Parse barcode scans (GS1, EAN/UPC, HIBC, Digital Link); needs no configuration or database.
    #[command(subcommand)]
    Gs1(Gs1Cmd),
    /// Simulate devices for demos and manual tests; needs no configuration or database.
    #[command(subcommand)]
    Simulate(SimulateCmd),
    /// Label templates: list them, render one; needs no configuration or database.
    #[command(subcommand)]
    Label(LabelCmd),
}

#[derive(Debug, Subcommand)]
pub enum LabelCmd {
    /// List the templates in the templates folder (each is checked when loaded).
    List {
        /// The folder of `*.toml` templates (default: ./label-templates, else the built-in ones).
        #[arg(long)]
        templates: Option<PathBuf>,
    },
    /// Render one label (or packing slip) to ZPL, PDF or PNG.
    Render {
        #[arg(long)]
        template: String,
        /// A JSON object with one string per field of the template (and an array of row objects
        /// per table).
        #[arg(long, conflicts_with = "sample", required_unless_present = "sample")]
        data: Option<PathBuf>,
        /// Use the example data the template ships with.
        #[arg(long)]
        sample: bool,
        #[arg(long, default_value = "zpl", value_parser = ["zpl", "pdf", "png"])]
        format: String,
        /// Printer resolution: 203 or 300 (ZPL and PNG).
        #[arg(long, default_value_t = 203, value_parser = clap::value_parser!(u32).range(203..=300))]
        dpi: u32,
        /// Where to write the label; `-` for stdout. A PNG of a document with several pages is
        /// written as PATH, then PATH-2.png, PATH-3.png, ...
        #[arg(long, default_value = "-")]
        out: PathBuf,
        /// The folder of `*.toml` templates (default: ./label-templates, else the built-in ones).
        #[arg(long)]
        templates: Option<PathBuf>,
    },
}

/// `konsign label ...`: templates and rendering need no configuration or database.
fn run_label(cmd: LabelCmd) -> anyhow::Result<()> {
    use crate::labels::template::Template;
    use crate::labels::zpl;
    match cmd {
        LabelCmd::List { templates } => {
            for t in Template::load(templates.as_deref())? {
                println!(
                    "{:<14} {:>3} x {:<3} mm  {}  fields: {}",
                    t.name,
                    t.width_mm,
                    t.height_mm,
                    t.description,
                    t.fields
                        .keys()
                        .chain(t.tables.keys())
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        LabelCmd::Render {
            template,
            data,
            sample: _,
            format,
            dpi,
            out,
            templates,
        } => {
            let all = Template::load(templates.as_deref())?;
            let names: Vec<&str> = all.iter().map(|t| t.name.as_str()).collect();
            let t = all.iter().find(|t| t.name == template).ok_or_else(|| {
                anyhow::anyhow!("no template {template}; there are: {}", names.join(", "))
            })?;
            let values = match data {
                None => t.sample.clone(),
                Some(file) => {
                    let text = std::fs::read_to_string(&file)
                        .with_context(|| format!("cannot read {}", file.display()))?;
                    let json: serde_json::Value = serde_json::from_str(&text)
                        .with_context(|| format!("{}: not JSON", file.display()))?;
                    crate::labels::template::LabelData::from_json(&json)
                        .with_context(|| format!("{}", file.display()))?
                }
            };
            let dpi = zpl::Dpi::parse(dpi).context("--dpi must be 203 or 300")?;
            let job = format!("cli-{}", chrono::Utc::now().format("%Y%m%dT%H%M%S"));
            let today = crate::domain::time::business_day(chrono::Utc::now());
            let layout = crate::labels::layout::layout(t, &values, today)?;
            let write = |path: &std::path::Path, bytes: &[u8]| -> anyhow::Result<()> {
                if path.as_os_str() == "-" {
                    use std::io::Write as _;
                    std::io::stdout().write_all(bytes)?;
                    Ok(())
                } else {
                    std::fs::write(path, bytes)
                        .with_context(|| format!("cannot write {}", path.display()))
                }
            };
            match crate::labels::Format::parse(&format).context("--format is zpl, pdf or png")? {
                crate::labels::Format::Zpl => {
                    let label = zpl::from_layout(&layout, &t.name, dpi, &job, today)?;
                    write(&out, label.as_bytes())?;
                }
                crate::labels::Format::Pdf => {
                    write(&out, &crate::labels::pdf::render(&layout, &t.name)?)?;
                }
                crate::labels::Format::Png => {
                    let dots = if dpi == zpl::Dpi::D300 { 300 } else { 203 };
                    for page in 0..layout.pages.len() {
                        let png = crate::labels::png::render(&layout, page, dots)?;
                        if page == 0 {
                            write(&out, &png)?;
                        } else if out.as_os_str() == "-" {
                            break;
                        } else {
                            let stem = out.with_extension("");
                            let path =
                                PathBuf::from(format!("{}-{}.png", stem.display(), page + 1));
                            write(&path, &png)?;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum SimulateCmd {
    /// Play a serial barcode scanner on a new pseudo-terminal (or an existing device path).
    Scanner {
        /// Write to this existing device instead of creating a pseudo-terminal.
        #[arg(long)]
        path: Option<PathBuf>,
        /// Also create this symlink to the new pseudo-terminal (a stable path to configure).
        #[arg(long)]
        link: Option<PathBuf>,
        /// AIM symbology identifier sent before each scan; empty for none.
        #[arg(long, default_value = "]d2")]
        aim: String,
        /// cr, lf or crlf.
        #[arg(long, default_value = "crlf")]
        terminator: String,
        /// Read scans from this file, one per line, instead of the prompt.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Wait before the first scan, in milliseconds.
        #[arg(long, default_value_t = 0)]
        start_delay_ms: u64,
        /// Pause between scans from a file, in milliseconds.
        #[arg(long, default_value_t = 200)]
        interval_ms: u64,
        /// Keep the device open after the last scan, in milliseconds.
        #[arg(long, default_value_t = 1000)]
        hold_ms: u64,
    },
    /// Play a ZPL label printer on a raw TCP socket: answers `~HS`, saves each label it
    /// receives (the ZPL, and a PNG preview when zpl-renderer-js is installed). Runs until
    /// Ctrl-C; type `paper`, `pause`, `head`, `silent` to toggle a fault, `status` to see it.
    Printer {
        /// Address to listen on (a printer listens on 9100).
        #[arg(long, default_value = "127.0.0.1:9100")]
        listen: String,
        /// Folder for the received labels.
        #[arg(long, default_value = "printed-labels")]
        out: PathBuf,
        /// Start with the paper out.
        #[arg(long)]
        paper_out: bool,
        /// Start paused.
        #[arg(long)]
        paused: bool,
        /// Start with the print head open.
        #[arg(long)]
        head_open: bool,
        /// Never answer `~HS`.
        #[arg(long)]
        no_status: bool,
        /// How long each label takes to print, in milliseconds.
        #[arg(long, default_value_t = 0)]
        print_ms: u64,
    },
    /// Play PostNord's booking and track-and-trace APIs over HTTP (the test double), until
    /// Ctrl-C. Configure `[carrier.postnord] base_url` to its address. Type `down`, `up`,
    /// `fault`, `slow`, `deliver <sscc>` or `status`.
    Carrier {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9300")]
        listen: String,
        /// The API key it takes (`carrier.postnord.api_key`).
        #[arg(long, default_value = "konsign-demo-key")]
        api_key: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create a user; the password is prompted for, or read from stdin when it is not a terminal.
    Add {
        #[arg(long)]
        role: String,
        name: String,
    },
    /// Set a user's password and lift a lockout.
    SetPassword { name: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Create a token; its secret is printed once.
    Create {
        #[arg(long)]
        role: String,
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum Gs1Cmd {
    /// Parse one scan and print it as JSON; an invalid scan is an error on stderr.
    Parse {
        /// The bracketed human-readable form, for example '(01)05708932000017(10)ABC'.
        #[arg(long)]
        hri: Option<String>,
        /// The scan as text, or `-` to read one scan as raw bytes from stdin (a trailing CR, LF or
        /// CRLF is dropped).
        input: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportCmd {
    Products { file: PathBuf },
    Locations { file: PathBuf },
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password("password: ").context("cannot read the password")?;
        let again = rpassword::prompt_password("again: ").context("cannot read the password")?;
        anyhow::ensure!(p == again, "the passwords differ");
        Ok(p)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

/// Longest scan read from stdin; real scans are a few hundred bytes at most.
const MAX_SCAN_BYTES: u64 = 64 * 1024;

/// Reads one scan from stdin as raw bytes and drops one CR, LF or CRLF terminator.
fn read_scan_from_stdin() -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(MAX_SCAN_BYTES + 1)
        .read_to_end(&mut bytes)
        .context("cannot read the scan from stdin")?;
    anyhow::ensure!(
        bytes.len() as u64 <= MAX_SCAN_BYTES,
        "the scan on stdin is longer than {MAX_SCAN_BYTES} bytes"
    );
    if bytes.ends_with(b"\r\n") {
        bytes.truncate(bytes.len() - 2);
    } else if bytes.ends_with(b"\n") || bytes.ends_with(b"\r") {
        bytes.truncate(bytes.len() - 1);
    }
    Ok(bytes)
}

/// `konsign gs1 ...`: pure parsing, so it runs before (and without) configuration and database.
fn run_gs1(cmd: Gs1Cmd) -> anyhow::Result<()> {
    use crate::domain::gs1;
    let Gs1Cmd::Parse { hri, input } = cmd;
    let today = crate::domain::time::business_day(chrono::Utc::now());
    let scan = match (hri, input) {
        (Some(hri), None) => gs1::parse_hri(&hri, today)?,
        (None, Some(input)) if input == "-" => gs1::parse(&read_scan_from_stdin()?, today)?,
        (None, Some(input)) => gs1::parse(input.as_bytes(), today)?,
        (Some(_), Some(_)) => anyhow::bail!("give either --hri or a scan, not both"),
        (None, None) => anyhow::bail!("give a scan, `-` to read it from stdin, or --hri"),
    };
    println!("{}", serde_json::to_string_pretty(&scan)?);
    Ok(())
}

/// `konsign simulate printer`: a simulated label printer until Ctrl-C, with faults toggled
/// from stdin.
async fn run_printer_simulator(cmd: SimulateCmd) -> anyhow::Result<()> {
    use crate::devices::printer::sim::{Preview, Simulator};
    let SimulateCmd::Printer {
        listen,
        out,
        paper_out,
        paused,
        head_open,
        no_status,
        print_ms,
    } = cmd
    else {
        anyhow::bail!("not the printer simulator");
    };
    // Ctrl-C is caught from here on (the handler is in place before the first line is printed).
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let preview = Preview::find();
    let sim = Simulator::start(&listen, Some(out.clone()), preview.clone())
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    sim.set(|s| {
        s.paper_out = paper_out;
        s.paused = paused;
        s.head_open = head_open;
        s.no_status = no_status;
        s.print_time = std::time::Duration::from_millis(print_ms);
    });
    eprintln!(
        "simulated printer on {} saving labels in {}{}; type paper, pause, head, silent or status",
        sim.addr(),
        out.display(),
        if preview.is_some() {
            " with PNG previews"
        } else {
            " (no PNG previews: zpl-renderer-js not found)"
        }
    );
    let mut lines =
        tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(tokio::io::stdin()));
    loop {
        tokio::select! {
            _ = interrupt.recv() => break,
            line = lines.next_line() => {
                let Ok(Some(line)) = line else {
                    // stdin closed: keep serving until Ctrl-C.
                    interrupt.recv().await;
                    break;
                };
                match line.trim() {
                    "paper" => sim.set(|s| s.paper_out = !s.paper_out),
                    "pause" => sim.set(|s| s.paused = !s.paused),
                    "head" => sim.set(|s| s.head_open = !s.head_open),
                    "silent" => sim.set(|s| s.no_status = !s.no_status),
                    "status" | "" => {}
                    other => eprintln!("unknown command {other:?}: paper, pause, head, silent, status"),
                }
                eprintln!(
                    "printed {}, waiting {}, status queries {}",
                    sim.printed().len(),
                    sim.buffered(),
                    sim.status_queries()
                );
            }
        }
    }
    sim.stop();
    eprintln!("simulated printer stopped");
    // Tokio's stdin reader is a blocking thread that the runtime would wait for at shutdown
    // (until the next Enter): Ctrl-C ends the process here.
    std::process::exit(0);
}

fn run_simulate(cmd: SimulateCmd) -> anyhow::Result<()> {
    use crate::devices::scanner::{simulator, Terminator};
    let SimulateCmd::Scanner {
        path,
        link,
        aim,
        terminator,
        file,
        start_delay_ms,
        interval_ms,
        hold_ms,
    } = cmd
    else {
        anyhow::bail!("not the scanner simulator");
    };
    let terminator = match terminator.as_str() {
        "cr" => Terminator::Cr,
        "lf" => Terminator::Lf,
        "crlf" => Terminator::CrLf,
        other => anyhow::bail!("--terminator must be cr, lf or crlf, not {other:?}"),
    };
    let opts = simulator::SimOptions {
        path,
        link,
        aim,
        terminator,
        file,
        start_delay: std::time::Duration::from_millis(start_delay_ms),
        interval: std::time::Duration::from_millis(interval_ms),
        hold: std::time::Duration::from_millis(hold_ms),
    };
    simulator::run(&opts)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = match cli.command {
        Command::Gs1(cmd) => return run_gs1(cmd),
        Command::Label(cmd) => return run_label(cmd),
        Command::Simulate(cmd @ SimulateCmd::Printer { .. }) => {
            return run_printer_simulator(cmd).await;
        }
        Command::Simulate(SimulateCmd::Carrier { listen, api_key }) => {
            return crate::carrier::double::run_interactive(&listen, &api_key).await;
        }
        Command::Simulate(cmd) => {
            return tokio::task::spawn_blocking(move || run_simulate(cmd)).await?;
        }
        other => other,
    };
    let overrides = Overrides {
        listen: cli.global.listen.clone(),
        database_url: cli.global.database_url.clone(),
    };
    let config = Config::load(cli.global.config.as_deref(), &overrides)?;
    crate::telemetry::init(&config.log);
    match command {
        Command::Config => {
            print!("{}", config.to_masked_toml()?);
        }
        Command::Migrate => {
            crate::startup::context(config).await?;
            println!("migrations applied");
        }
        Command::Serve { demo } => {
            let app = crate::startup::App::build(config).await?;
            if demo {
                demo::print_demo(&service::demo::load(&app.ctx).await?);
            }
            println!("konsign listening on http://{}", app.addr());
            app.run_until(crate::startup::shutdown_signal()).await?;
        }
        Command::Demo { what: None } => {
            let ctx = crate::startup::context(config).await?;
            demo::print_demo(&service::demo::load(&ctx).await?);
        }
        Command::Demo {
            what:
                Some(DemoCmd::History {
                    days,
                    orders_per_day,
                    seed,
                }),
        } => {
            let ctx = crate::startup::context(config).await?;
            demo::history(&ctx, days, orders_per_day, seed).await?;
        }
        Command::User(UserCmd::Add { role, name }) => {
            let role = Role::parse(&role)?;
            crate::domain::auth::username(&name)?;
            let ctx = crate::startup::context(config).await?;
            let password = read_password()?;
            service::auth::create_user(&ctx, &Actor::cli(), &name, role, &password).await?;
            println!(
                "user {} created with role {}",
                name.to_ascii_lowercase(),
                role.as_str()
            );
        }
        Command::User(UserCmd::SetPassword { name }) => {
            let ctx = crate::startup::context(config).await?;
            let password = read_password()?;
            service::auth::set_password(&ctx, &Actor::cli(), &name, &password).await?;
            println!("password set for {name}");
        }
        Command::Token(TokenCmd::Create { role, name }) => {
            let role = Role::parse(&role)?;
            let ctx = crate::startup::context(config).await?;
            let (_, secret) =
                service::auth::create_token(&ctx, &Actor::cli(), &name, role, None).await?;
            eprintln!(
                "token {name} created with role {}; it is shown only now:",
                role.as_str()
            );
            println!("{secret}");
        }
        // Handled before the configuration is loaded, above.
        Command::Gs1(_) | Command::Simulate(_) | Command::Label(_) => {}
        Command::Import(cmd) => {
            let ctx = crate::startup::context(config).await?;
            let (file, products) = match &cmd {
                ImportCmd::Products { file } => (file, true),
                ImportCmd::Locations { file } => (file, false),
            };
            let bytes =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let result = if products {
                service::import::import_products(&ctx, &Actor::cli(), &bytes).await
            } else {
                service::import::import_locations(&ctx, &Actor::cli(), &bytes).await
            };
            match result {
                Ok(r) => println!(
                    "imported {} {}: {} created, {} updated",
                    r.rows, r.what, r.created, r.updated
                ),
                Err(crate::error::Error::InvalidMany(problems)) => {
                    for p in &problems {
                        eprintln!("{}:{}: {}: {}", file.display(), p.line, p.field, p.message);
                    }
                    anyhow::bail!("{} problem(s); nothing was imported", problems.len());
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}
