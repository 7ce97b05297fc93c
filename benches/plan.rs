//! Load, validate and plan a generated runbook of 10,000 steps.
//!
//! Goal (issue 2): under 100 ms and under 50 MB peak. Printed beside a baseline measured in
//! the same run: parsing the same YAML into an untyped value (what any YAML tool must pay).
//! Run: `cargo bench --bench plan`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use deployctl::engine::{Plan, ProbeMode};
use deployctl::runbook::{LoadOptions, load};

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const STEPS: usize = 10_000;
const RUNS: usize = 15;

/// The same runbook in block style (how people write runbooks) or flow style (`{ id: .. }`).
#[derive(Clone, Copy, Debug)]
enum Style {
    Block,
    Flow,
}

fn runbook(style: Style) -> String {
    let flow = runbook_flow();
    match style {
        Style::Flow => flow,
        Style::Block => to_block(&flow),
    }
}

/// Rewrites each `- { id: x, kind: .. }` step line as a block mapping with the same content.
fn to_block(flow: &str) -> String {
    flow.lines()
        .map(|line| match line.strip_prefix("      - { id: ") {
            Some(rest) => {
                let rest = rest.strip_suffix(" }").unwrap_or(rest);
                let (id, body) = rest.split_once(", ").unwrap_or((rest, ""));
                let mut out = format!("      - id: {id}\n");
                for field in split_top(body) {
                    out.push_str(&format!("        {field}\n"));
                }
                out
            }
            None => format!("{line}\n"),
        })
        .collect()
}

/// Splits `a: 1, b: { c: 2, d: 3 }` at top-level commas.
fn split_top(body: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start, mut quoted) = (Vec::new(), 0i32, 0, false);
    for (i, c) in body.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '{' | '[' if !quoted => depth += 1,
            '}' | ']' if !quoted => depth -= 1,
            ',' if depth == 0 && !quoted => {
                parts.push(body[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(body[start..].trim());
    parts.retain(|p| !p.is_empty());
    parts
}

fn runbook_flow() -> String {
    let mut text = String::from(
        "deployctl: 1\nname: bench\nvars: { api: \"http://127.0.0.1:8081\" }\n\
         databases: { app: { url: \"postgres://app:secret-pw@127.0.0.1:5432/app\" } }\n\
         services: { web: { health: \"${vars.api}/health\", restart: \"true\" } }\nphases:\n",
    );
    for phase in 0..STEPS / 100 {
        text.push_str(&format!("  - id: phase-{phase}\n    steps:\n"));
        for i in 0..100 {
            let id = format!("s-{phase}-{i}");
            let step = match i % 5 {
                0 => format!("      - {{ id: {id}, shell: \"echo {id} ${{run.id}}\", timeout: 30s, retries: 2 }}\n"),
                1 => format!(
                    "      - {{ id: {id}, http: {{ url: \"${{services.web.health}}?s={i}\", expect: {{ status: 200, max_ms: 500 }} }} }}\n"
                ),
                2 => format!(
                    "      - {{ id: {id}, sql: {{ database: app, query: \"select $1\", params: [\"${{vars.api}}\"], expect: {{ rows: 1 }} }} }}\n"
                ),
                3 => format!("      - {{ id: {id}, wait: {{ for: 1s }}, undo: {{ shell: \"echo undo {id}\" }} }}\n"),
                _ => format!("      - {{ id: {id}, manual: \"confirm step {id}\" }}\n"),
            };
            text.push_str(&step);
        }
    }
    text
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn measure<F: FnMut()>(mut f: F) -> (Duration, usize) {
    let mut times = Vec::with_capacity(RUNS);
    let mut peak = 0;
    for _ in 0..RUNS {
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let start = Instant::now();
        f();
        times.push(start.elapsed());
        peak = peak.max(PEAK.load(Ordering::Relaxed) - base);
    }
    (median(times), peak)
}

fn main() {
    for style in [Style::Block, Style::Flow] {
        bench(style);
        println!();
    }
}

fn bench(style: Style) {
    let text = runbook(style);
    let dir = std::env::temp_dir().join(format!("deployctl-bench-{}-{style:?}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(dir.join("bench.yaml"), &text)) {
        eprintln!("cannot write the generated runbook: {e}");
        std::process::exit(1);
    }
    let path = dir.join("bench.yaml");
    let options = LoadOptions {
        env: BTreeMap::new(),
        vars: BTreeMap::new(),
    };

    let (base_time, base_peak) = measure(|| {
        let value: Result<serde_json::Value, _> = serde_saphyr::from_str(&text);
        black_box(value.is_ok());
    });
    let (parse_time, parse_peak) = measure(|| {
        black_box(deployctl::runbook::load::parse(&text).is_ok());
    });
    let mut steps = 0;
    let (time, peak) = measure(|| match load(&path, &options) {
        Ok(loaded) => {
            let plan = Plan::new(&loaded, ProbeMode::Offline);
            steps = plan.all_steps().count();
            black_box(plan);
        }
        Err(e) => panic!("generated runbook must load: {e}"),
    });
    let _ = std::fs::remove_dir_all(&dir);

    let mb = |b: usize| b as f64 / (1024.0 * 1024.0);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{style:?} style: {steps} steps, {:.2} MiB of YAML, median of {RUNS} runs",
        mb(text.len())
    );
    println!("  {:<40} {:>10} {:>12}", "", "time", "peak heap");
    println!(
        "  {:<40} {:>8.1}ms {:>9.1} MiB",
        "baseline: YAML parse to untyped value",
        ms(base_time),
        mb(base_peak)
    );
    println!(
        "  {:<40} {:>8.1}ms {:>9.1} MiB",
        "deployctl: parse into spanned raw types",
        ms(parse_time),
        mb(parse_peak)
    );
    println!(
        "  {:<40} {:>8.1}ms {:>9.1} MiB",
        "deployctl: load + validate + plan",
        ms(time),
        mb(peak)
    );
    println!(
        "  {:<40} {:>9.2}x {:>11.2}x",
        "ratio (deployctl / baseline)",
        time.as_secs_f64() / base_time.as_secs_f64(),
        peak as f64 / base_peak as f64
    );
    println!("  {:<40} {:>10} {:>12}", "goal", "< 100 ms", "< 50 MB");
}
