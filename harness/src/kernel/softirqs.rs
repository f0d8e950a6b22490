//! Parsers for `/proc/softirqs`, `/proc/interrupts` and
//! `/proc/net/softnet_stat`, and an imbalance summary: the tools of the
//! seed article (yufeng, "MYSQL数据库网卡软中断不平衡问题及解决方案", 2012),
//! which found NET_RX piled onto one or two CPUs.
//!
//! Formats (fs/proc/softirqs.c, fs/proc/interrupts.c +
//! kernel/irq/proc.c `show_interrupts`, net/core/net-procfs.c
//! `softnet_seq_show`):
//!
//! ```text
//!                     CPU0       CPU1
//!           HI:          0          0
//!       NET_RX:       1610       2146
//! ```
//! ```text
//!            CPU0       CPU1
//!  24:          1          0  IO-APIC   5-edge      ACPI:Ged
//! NMI:          0          0   Non-maskable interrupts
//! ERR:          0
//! ```
//!
//! The parser takes the header's CPU names as columns and each row's label
//! up to the colon; a row may carry *fewer* counts than there are columns
//! (`ERR:`/`MIS:` have one; the article's sample was cut with `cut -f 1-8`,
//! which dropped a column from most rows), never more. Whatever follows the
//! counts is the row's description (interrupt chip, hwirq, handler names).

use serde::{Deserialize, Serialize};

/// One row: `NET_RX: 1 2 3` or `24: 1 0 IO-APIC 5-edge ACPI:Ged`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub label: String,
    /// Counts in column order; may be shorter than the header.
    pub counts: Vec<u64>,
    /// Text after the counts (empty for /proc/softirqs).
    pub description: String,
}

/// A per-CPU counter table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Column names from the header (`CPU0`, `CPU1`, …).
    pub cpus: Vec<String>,
    pub rows: Vec<Row>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub msg: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.msg)
    }
}

/// Parses `/proc/softirqs` or `/proc/interrupts` text.
pub fn parse_table(text: &str) -> Result<Table, ParseError> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (hl, header) = lines.next().ok_or(ParseError { line: 1, msg: "empty input".into() })?;
    let cpus: Vec<String> = header.split_whitespace().map(str::to_string).collect();
    if cpus.is_empty() || !cpus.iter().all(|c| c.starts_with("CPU")) {
        return Err(ParseError { line: hl + 1, msg: format!("header is not a list of CPUs: {header:?}") });
    }
    let mut rows = Vec::new();
    for (i, line) in lines {
        let (label, rest) =
            line.split_once(':').ok_or(ParseError { line: i + 1, msg: format!("no `label:` in {line:?}") })?;
        let label = label.trim();
        if label.is_empty() || label.contains(char::is_whitespace) {
            return Err(ParseError { line: i + 1, msg: format!("bad label {label:?}") });
        }
        let mut counts = Vec::new();
        let mut rest = rest;
        while counts.len() < cpus.len() {
            let t = rest.trim_start();
            let end = t.find(char::is_whitespace).unwrap_or(t.len());
            let tok = &t[..end];
            if tok.is_empty() || !tok.bytes().all(|b| b.is_ascii_digit()) {
                break;
            }
            counts.push(tok.parse().map_err(|e| ParseError { line: i + 1, msg: format!("{tok:?}: {e}") })?);
            rest = &t[end..];
        }
        if counts.is_empty() {
            return Err(ParseError { line: i + 1, msg: format!("row {label:?} has no counts") });
        }
        rows.push(Row { label: label.to_string(), counts, description: rest.trim().to_string() });
    }
    Ok(Table { cpus, rows })
}

impl Table {
    pub fn row(&self, label: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.label == label)
    }

    /// `self - earlier`, row by row (rows missing from `earlier` count from
    /// zero; counters that went backwards give 0).
    pub fn delta(&self, earlier: &Table) -> Table {
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let old = earlier.row(&r.label);
                let counts = r
                    .counts
                    .iter()
                    .enumerate()
                    .map(|(i, c)| c.saturating_sub(old.and_then(|o| o.counts.get(i)).copied().unwrap_or(0)))
                    .collect();
                Row { label: r.label.clone(), counts, description: r.description.clone() }
            })
            .collect();
        Table { cpus: self.cpus.clone(), rows }
    }

    /// The imbalance of one row.
    pub fn imbalance(&self, label: &str) -> Option<Imbalance> {
        let r = self.row(label)?;
        Some(imbalance(label, &self.cpus, &r.counts))
    }

    /// One line per requested row that exists.
    pub fn summary(&self, labels: &[&str]) -> String {
        labels.iter().filter_map(|l| self.imbalance(l)).map(|i| i.to_string() + "\n").collect()
    }
}

/// How unevenly a counter is spread over CPUs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Imbalance {
    pub label: String,
    pub total: u64,
    /// Columns that had a count (a truncated row has fewer).
    pub cpus_counted: usize,
    pub truncated: bool,
    pub busiest: String,
    pub busiest_count: u64,
    /// busiest / total, 0..=1.
    pub busiest_share: f64,
    /// busiest / mean; 1.0 is perfectly even, `cpus_counted` is "all on one".
    pub max_over_mean: f64,
    /// CPUs with less than 1 % of the mean.
    pub cold_cpus: Vec<String>,
}

impl std::fmt::Display for Imbalance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: total {} over {} CPUs{}; busiest {} with {} ({:.1}%), max/mean {:.2}; cold: {}",
            self.label,
            self.total,
            self.cpus_counted,
            if self.truncated { " (row truncated)" } else { "" },
            self.busiest,
            self.busiest_count,
            self.busiest_share * 100.0,
            self.max_over_mean,
            if self.cold_cpus.is_empty() { "none".to_string() } else { self.cold_cpus.join(",") }
        )
    }
}

pub fn imbalance(label: &str, cpus: &[String], counts: &[u64]) -> Imbalance {
    let total: u64 = counts.iter().sum();
    let n = counts.len().max(1);
    let (bi, &bc) = counts.iter().enumerate().max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i))).unwrap_or((0, &0));
    let mean = total as f64 / n as f64;
    let cold = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| (**c as f64) < mean * 0.01)
        .map(|(i, _)| cpus.get(i).cloned().unwrap_or_else(|| format!("col{i}")))
        .collect();
    Imbalance {
        label: label.to_string(),
        total,
        cpus_counted: counts.len(),
        truncated: counts.len() < cpus.len(),
        busiest: cpus.get(bi).cloned().unwrap_or_else(|| format!("col{bi}")),
        busiest_count: bc,
        busiest_share: if total == 0 { 0.0 } else { bc as f64 / total as f64 },
        max_over_mean: if total == 0 { 0.0 } else { bc as f64 / mean },
        cold_cpus: cold,
    }
}

/// One CPU's line of `/proc/net/softnet_stat` (hex columns).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Softnet {
    /// The CPU (column 13 on kernels that print it, else the line number).
    pub cpu: u32,
    pub processed: u64,
    pub dropped: u64,
    pub time_squeeze: u64,
    /// Column 10: RPS IPIs this CPU received (`rps_trigger_softirq`).
    pub received_rps: u64,
    pub flow_limit_count: u64,
}

/// Parses `/proc/net/softnet_stat`.
pub fn parse_softnet(text: &str) -> Result<Vec<Softnet>, ParseError> {
    let mut v = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let cols: Vec<u64> = line
            .split_whitespace()
            .map(|t| u64::from_str_radix(t, 16))
            .collect::<Result<_, _>>()
            .map_err(|e| ParseError { line: i + 1, msg: format!("{line:?}: {e}") })?;
        if cols.len() < 10 {
            return Err(ParseError { line: i + 1, msg: format!("{} columns, expected >= 10", cols.len()) });
        }
        v.push(Softnet {
            cpu: if cols.len() >= 13 { cols[12] as u32 } else { v.len() as u32 },
            processed: cols[0],
            dropped: cols[1],
            time_squeeze: cols[2],
            received_rps: cols[9],
            flow_limit_count: cols.get(10).copied().unwrap_or(0),
        });
    }
    Ok(v)
}

pub fn read_softirqs() -> Result<Table, String> {
    let t = std::fs::read_to_string("/proc/softirqs").map_err(|e| format!("/proc/softirqs: {e}"))?;
    parse_table(&t).map_err(|e| format!("/proc/softirqs: {e}"))
}

pub fn read_interrupts() -> Result<Table, String> {
    let t = std::fs::read_to_string("/proc/interrupts").map_err(|e| format!("/proc/interrupts: {e}"))?;
    parse_table(&t).map_err(|e| format!("/proc/interrupts: {e}"))
}

pub fn read_softnet() -> Result<Vec<Softnet>, String> {
    let t = std::fs::read_to_string("/proc/net/softnet_stat").map_err(|e| format!("softnet_stat: {e}"))?;
    parse_softnet(&t).map_err(|e| format!("softnet_stat: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Verbatim from the seed article (tabs and all): `cat /proc/softirqs |
    /// tr -s ' ' '\t' | cut -f 1-8` on RHEL 6.1, 2.6.32. The leading tab
    /// makes field 1 empty, so most rows kept six counts under seven CPU
    /// headers; BLOCK_IOPOLL (no leading tab) kept seven.
    const ARTICLE_SOFTIRQS: &str = "\tCPU0\tCPU1\tCPU2\tCPU3\tCPU4\tCPU5\tCPU6
\tHI:\t0\t0\t0\t0\t0\t0
\tTIMER:\t401626149\t366513734\t274660062\t286091775\t252287943\t258932438
\tNET_TX:\t136905\t10428\t17269\t25080\t16613\t17876
\tNET_RX:\t1898437808\t2857018450\t580117978\t26443\t11820\t15545
\tBLOCK:\t716495491\t805780859\t113853932\t132589667\t106297189\t104629321
BLOCK_IOPOLL:\t0\t0\t0\t0\t0\t0\t0
\tTASKLET:\t190643874\t775861235\t0\t0\t1\t0
\tSCHED:\t61726009\t66994763\t102590355\t83277433\t144588168\t154635009
\tHRTIMER:\t1883420\t1837160\t2316722\t2369920\t1721755\t1666867
\tRCU:\t391610041\t365150626\t275741153\t287074106\t253401636\t260389306
";

    /// /proc/interrupts as the kernel prints it (this machine kind, 6.18,
    /// trimmed). The seed article names /proc/interrupts but shows no
    /// sample of it.
    const INTERRUPTS: &str = "           CPU0       CPU1       
 24:          1          0  IO-APIC   5-edge      ACPI:Ged
 26:          0         14  IO-APIC   4-edge      ttyS0
 28:          0          0 PCI-MSIX-0000:00:01.0   0-edge      virtio0-config
 38:          0       2312 PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0
 39:       1662          0 PCI-MSIX-0000:00:03.0   2-edge      virtio2-output.0
NMI:          0          0   Non-maskable interrupts
LOC:      53855      71355   Local timer interrupts
RES:       8081       6268   Rescheduling interrupts
ERR:          0
MIS:          0
";

    const SOFTIRQS_618: &str = "                    CPU0       CPU1       
          HI:          0          0
       TIMER:      22955      29950
      NET_TX:          4          0
      NET_RX:       1610       2146
       BLOCK:          0      35166
    IRQ_POLL:          0          0
     TASKLET:        123          5
       SCHED:      29231      45666
     HRTIMER:          0          0
         RCU:      20546      29757
";

    #[test]
    fn article_softirqs() {
        let t = parse_table(ARTICLE_SOFTIRQS).unwrap();
        assert_eq!(t.cpus, ["CPU0", "CPU1", "CPU2", "CPU3", "CPU4", "CPU5", "CPU6"]);
        assert_eq!(t.rows.len(), 10);
        let net_rx = t.row("NET_RX").unwrap();
        assert_eq!(net_rx.counts, [1898437808, 2857018450, 580117978, 26443, 11820, 15545]);
        assert_eq!(t.row("BLOCK_IOPOLL").unwrap().counts.len(), 7);
        let i = t.imbalance("NET_RX").unwrap();
        assert_eq!(i.total, 5_335_628_044);
        assert_eq!(i.busiest, "CPU1");
        assert!(i.truncated);
        assert!((i.busiest_share - 0.5355).abs() < 0.001, "{}", i.busiest_share);
        assert!(i.max_over_mean > 3.0, "{i}");
        assert_eq!(i.cold_cpus, ["CPU3", "CPU4", "CPU5"]);
        // TIMER is spread evenly: the contrast the article draws.
        let timer = t.imbalance("TIMER").unwrap();
        assert!(timer.max_over_mean < 1.4 && timer.cold_cpus.is_empty(), "{timer}");
        let s = t.summary(&["NET_RX", "NET_TX", "TIMER"]);
        assert!(s.starts_with("NET_RX: total 5335628044 over 6 CPUs (row truncated); busiest CPU1"), "{s}");
        assert_eq!(s.lines().count(), 3);
    }

    #[test]
    fn softirqs_618() {
        let t = parse_table(SOFTIRQS_618).unwrap();
        assert_eq!(t.cpus, ["CPU0", "CPU1"]);
        assert_eq!(t.row("NET_RX").unwrap().counts, [1610, 2146]);
        assert_eq!(t.row("IRQ_POLL").unwrap().counts, [0, 0]);
        assert!(t.rows.iter().all(|r| r.description.is_empty()));
        let later = parse_table(&SOFTIRQS_618.replace("1610", "1710")).unwrap();
        assert_eq!(later.delta(&t).row("NET_RX").unwrap().counts, [100, 0]);
    }

    #[test]
    fn interrupts() {
        let t = parse_table(INTERRUPTS).unwrap();
        assert_eq!(t.cpus, ["CPU0", "CPU1"]);
        let r = t.row("38").unwrap();
        assert_eq!(r.counts, [0, 2312]);
        assert_eq!(r.description, "PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0");
        let r = t.row("24").unwrap();
        assert_eq!(r.description, "IO-APIC   5-edge      ACPI:Ged");
        assert_eq!(t.row("LOC").unwrap().description, "Local timer interrupts");
        let err = t.row("ERR").unwrap();
        assert_eq!((err.counts.as_slice(), err.description.as_str()), (&[0u64][..], ""));
        let i = t.imbalance("38").unwrap();
        assert_eq!((i.busiest.as_str(), i.busiest_share), ("CPU1", 1.0));
    }

    #[test]
    fn malformed_tables() {
        assert!(parse_table("").is_err());
        assert!(parse_table("HI: 1 2\n").is_err());
        assert!(parse_table("CPU0 CPU1\nHI 1 2\n").is_err());
        assert!(parse_table("CPU0 CPU1\nHI: x y\n").is_err());
    }

    #[test]
    fn softnet() {
        let text = "00000014 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000
00000ea9 00000001 00000002 00000000 00000000 00000000 00000000 00000000 00000000 000007b1 00000000 00000000 00000001 00000000 00000000
";
        let v = parse_softnet(text).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].cpu, v[0].processed), (0, 0x14));
        assert_eq!((v[1].cpu, v[1].processed, v[1].dropped, v[1].time_squeeze), (1, 0xea9, 1, 2));
        assert_eq!(v[1].received_rps, 1969);
        assert!(parse_softnet("zz\n").is_err());
        assert!(parse_softnet("0 1 2\n").is_err());
    }

    #[test]
    fn live_proc_files_parse() {
        let t = read_softirqs().unwrap();
        assert!(t.row("NET_RX").is_some());
        assert_eq!(t.row("NET_RX").unwrap().counts.len(), t.cpus.len());
        read_interrupts().unwrap();
        assert!(!read_softnet().unwrap().is_empty());
    }
}
