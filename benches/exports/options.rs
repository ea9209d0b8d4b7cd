//! The command line after `--` (see main.rs for what each option does).

use crate::{AnyResult, Case, Via, CASES, VIAS};
use darkchat::service::retention::MAX_SWEEP_BATCH;

pub struct Options {
    pub quick: bool,
    pub iterations: usize,
    pub warmup: usize,
    pub rounds: usize,
    pub only: Option<Vec<String>>,
    pub reseed: bool,
    pub floor_pragmas: Option<String>,
    pub paths: Vec<Via>,
    /// The sweep's steps paced as on a server (the rest follow each other at once).
    pub paced_sweep: usize,
    /// Messages a sweep step deletes at most.
    pub sweep_batch: i64,
}

/// The options of `args`; an unknown option or a missing value is an error.
pub fn parse(args: &[String]) -> AnyResult<Options> {
    let quick = args.iter().any(|a| a == "--quick");
    let mut o = Options {
        quick,
        iterations: if quick { 500 } else { 10_000 },
        warmup: if quick { 100 } else { 1_000 },
        rounds: if quick { 1 } else { 3 },
        only: None,
        reseed: false,
        floor_pragmas: None,
        paths: VIAS.to_vec(),
        paced_sweep: 200,
        sweep_batch: crate::sweep::DEFAULT_BATCH,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut number = |what: &str| -> AnyResult<usize> {
            Ok(it.next().ok_or(format!("{what} needs a value"))?.parse()?)
        };
        match arg.as_str() {
            "--iterations" => o.iterations = number("--iterations")?.max(1),
            "--warmup" => o.warmup = number("--warmup")?,
            "--rounds" => o.rounds = number("--rounds")?.max(1),
            "--only" => {
                let list = it.next().ok_or("--only needs a list")?;
                o.only = Some(list.split(',').map(|s| s.trim().to_owned()).collect());
            }
            "--reseed" => o.reseed = true,
            "--paced-sweep" => {
                o.paced_sweep = match it.next().map(String::as_str) {
                    Some("all") => usize::MAX,
                    Some(n) => n.parse()?,
                    None => return Err("--paced-sweep needs a count or `all`".into()),
                }
            }
            "--sweep-batch" => {
                o.sweep_batch = number("--sweep-batch")?.clamp(1, MAX_SWEEP_BATCH as usize) as i64
            }
            "--paths" => {
                let list = it.next().ok_or("--paths needs a list")?;
                o.paths = list
                    .split(',')
                    .map(|p| match p.trim() {
                        "export" => Ok(Via::Export),
                        "handle" => Ok(Via::Handle),
                        "core" => Ok(Via::Core),
                        "floor" => Ok(Via::Floor),
                        other => Err(format!("--paths: unknown path {other}")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--floor-pragmas" => {
                o.floor_pragmas = Some(it.next().ok_or("--floor-pragmas needs SQL")?.clone())
            }
            // `cargo bench` passes `--bench`; anything else unknown is a mistake worth saying.
            "--quick" | "--bench" => {}
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    Ok(o)
}

impl Options {
    /// The cases to measure, in their order: all of them, or those `--only` names.
    pub fn cases(&self) -> AnyResult<Vec<Case>> {
        let Some(keys) = &self.only else { return Ok(CASES.to_vec()) };
        for k in keys {
            if k != "sweep" && !CASES.iter().any(|c| c.key() == *k) {
                return Err(format!("--only: unknown operation {k}").into());
            }
        }
        Ok(CASES.iter().copied().filter(|c| keys.contains(&c.key())).collect())
    }

    /// Whether the retention sweep runs (last: it deletes every seeded message): by default,
    /// or when `--only` names `sweep`; it needs the Lua handle's path.
    pub fn sweep(&self) -> bool {
        self.only.as_ref().is_none_or(|keys| keys.iter().any(|k| k == "sweep"))
            && self.paths.contains(&crate::Via::Handle)
    }
}
