//! Independent barcode decoding for the label tests: the ZPL renderer `zpl-renderer-js` (npm)
//! and Debian's `ZXingReader`, `dmtxread`, `pdftoppm` and `pdftotext`. Missing tools skip a test
//! with the reason printed, unless `TEST_REQUIRE_SERVICES=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn required() -> bool {
    std::env::var("TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// The folder holding `node_modules/zpl-renderer-js`, or `None` with the reason printed.
pub fn tools() -> Option<PathBuf> {
    let node_modules = std::env::var("ZPL_RENDERER_JS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            let target = std::env::var("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
            target.join("npm/node_modules")
        });
    let mut missing = Vec::new();
    for (tool, arg) in [
        ("node", "--version"),
        ("ZXingReader", "-help"),
        ("dmtxread", "--help"),
        ("pdftoppm", "-v"),
        ("pdftotext", "-v"),
    ] {
        if Command::new(tool).arg(arg).output().is_err() {
            missing.push(tool.to_string());
        }
    }
    if !node_modules.join("zpl-renderer-js").exists() {
        missing.push(format!("zpl-renderer-js in {}", node_modules.display()));
    }
    if missing.is_empty() {
        return Some(node_modules);
    }
    assert!(
        !required(),
        "the label decode tests need: {}",
        missing.join(", ")
    );
    eprintln!(
        "skipped: the label decode tests need {}",
        missing.join(", ")
    );
    None
}

pub fn to_png(node_modules: &Path, zpl: &str, w: f64, h: f64, dir: &Path, name: &str) -> PathBuf {
    let zpl_file = dir.join(format!("{name}.zpl"));
    let png = dir.join(format!("{name}.png"));
    std::fs::write(&zpl_file, zpl).unwrap();
    let out = Command::new("node")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tools/zpl-render.cjs"))
        .arg(w.to_string())
        .arg(h.to_string())
        .arg(&zpl_file)
        .arg(&png)
        .env("NODE_PATH", node_modules)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zpl-renderer-js: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    png
}

pub fn zxing(png: &Path) -> (String, String) {
    // Without rotated and scaled passes: ZXingReader 1.4 aborts on an assertion when it finds
    // one symbol twice.
    let out = Command::new("ZXingReader")
        .args(["-escape", "-norotate", "-noscale"])
        .arg(png)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().trim_matches('"').to_string())
            .unwrap_or_else(|| panic!("ZXingReader found no barcode in {}: {text}", png.display()))
    };
    (field("Text:"), field("Identifier:"))
}
