//! CPU sets as CPU lists (`0-3,8`) and in the kernel's mask format.
//!
//! The mask format is what `show_rps_map()` prints (net/core/net-sysfs.c,
//! `"%*pb"` over `nr_cpu_ids` bits, lib/vsprintf.c `bitmap_string()`): hex,
//! comma-separated 32-bit groups, most significant first, every group 8
//! digits wide except the first, which is as wide as the remaining bits need
//! (2 CPUs: `3`; 33 CPUs: `1,00000000`; 64: `ffffffff,ffffffff`). Parsing
//! follows `bitmap_parse()` (lib/bitmap-str.c): groups are read from the
//! end; a non-hex digit is EINVAL; a group of more than 8 digits, more
//! groups than `nr_cpu_ids` needs, or a bit at or beyond `nr_cpu_ids` is
//! EOVERFLOW.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// A set of CPU numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CpuSet(BTreeSet<u32>);

/// Why a CPU list could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListError(pub String);

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad CPU list: {}", self.0)
    }
}

/// Why the kernel would reject a mask, with the errno it uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MaskError {
    /// A character that is neither a hex digit nor a separator: EINVAL.
    Invalid,
    /// Too many digits in a group, too many groups, or a bit at or beyond
    /// `nr_cpu_ids`: EOVERFLOW.
    Overflow,
}

impl MaskError {
    pub fn errno(self) -> i32 {
        match self {
            MaskError::Invalid => libc::EINVAL,
            MaskError::Overflow => libc::EOVERFLOW,
        }
    }
    pub fn errno_name(self) -> &'static str {
        match self {
            MaskError::Invalid => "EINVAL",
            MaskError::Overflow => "EOVERFLOW",
        }
    }
}

impl fmt::Display for MaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.errno_name())
    }
}

impl FromIterator<u32> for CpuSet {
    fn from_iter<I: IntoIterator<Item = u32>>(it: I) -> Self {
        CpuSet(it.into_iter().collect())
    }
}

impl CpuSet {
    pub fn new() -> CpuSet {
        CpuSet::default()
    }
    pub fn contains(&self, cpu: u32) -> bool {
        self.0.contains(&cpu)
    }
    pub fn insert(&mut self, cpu: u32) {
        self.0.insert(cpu);
    }
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().copied()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn max(&self) -> Option<u32> {
        self.0.iter().next_back().copied()
    }
    pub fn intersection(&self, other: &CpuSet) -> CpuSet {
        self.0.intersection(&other.0).copied().collect()
    }

    /// Parses a CPU list as in `/sys/devices/system/cpu/online`: `0-3,8`,
    /// `5`, or empty. Whitespace around items is ignored.
    pub fn parse_list(s: &str) -> Result<CpuSet, ListError> {
        let s = s.trim();
        let mut set = CpuSet::new();
        if s.is_empty() {
            return Ok(set);
        }
        for item in s.split(',') {
            let item = item.trim();
            let num = |t: &str| -> Result<u32, ListError> {
                let t = t.trim();
                if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ListError(format!("{item:?} is not a CPU number or range")));
                }
                t.parse().map_err(|_| ListError(format!("{t:?} is too large")))
            };
            match item.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (num(a)?, num(b)?);
                    if a > b {
                        return Err(ListError(format!("range {item:?} runs backwards")));
                    }
                    if b - a > 1 << 16 {
                        return Err(ListError(format!("range {item:?} is implausibly large")));
                    }
                    set.0.extend(a..=b);
                }
                None => {
                    set.insert(num(item)?);
                }
            }
        }
        Ok(set)
    }

    /// The compact list form: `0-3,8`; empty set → empty string.
    pub fn to_list(&self) -> String {
        let mut out: Vec<String> = Vec::new();
        let mut it = self.iter().peekable();
        while let Some(start) = it.next() {
            let mut end = start;
            while it.peek() == Some(&(end + 1)) {
                end = it.next().unwrap();
            }
            out.push(if start == end { format!("{start}") } else { format!("{start}-{end}") });
        }
        out.join(",")
    }

    /// The kernel's mask text for `nbits` (= `nr_cpu_ids`) bits, exactly as
    /// `show_rps_map` prints it (without the trailing newline). Fails with
    /// Overflow when a CPU is at or beyond `nbits`.
    pub fn to_mask(&self, nbits: u32) -> Result<String, MaskError> {
        if nbits == 0 {
            return Err(MaskError::Overflow);
        }
        if self.max().is_some_and(|m| m >= nbits) {
            return Err(MaskError::Overflow);
        }
        let groups = nbits.div_ceil(32);
        let first_bits = match nbits % 32 {
            0 => 32,
            r => r,
        };
        let mut out = Vec::with_capacity(groups as usize);
        for g in (0..groups).rev() {
            let mut word: u32 = 0;
            for cpu in self.0.range(g * 32..(g + 1) * 32) {
                word |= 1 << (cpu - g * 32);
            }
            let width = if g == groups - 1 { first_bits.div_ceil(4) } else { 8 } as usize;
            out.push(format!("{word:0width$x}"));
        }
        Ok(out.join(","))
    }

    /// Parses a mask as `bitmap_parse(buf, len, mask, nbits)` would: text
    /// up to the first newline; groups separated by commas (or whitespace)
    /// read from the end; each group at most 8 hex digits.
    pub fn parse_mask(s: &str, nbits: u32) -> Result<CpuSet, MaskError> {
        let s = s.split('\n').next().unwrap_or("");
        let b = s.as_bytes();
        let is_sep = |c: u8| c == b',' || c.is_ascii_whitespace();
        let mut chunks_left = nbits.div_ceil(32);
        let mut set = CpuSet::new();
        let mut end = b.len(); // exclusive
        let mut chunk = 0u32;
        loop {
            // Skip separators backwards (bitmap_find_region_reverse).
            while end > 0 && is_sep(b[end - 1]) {
                end -= 1;
            }
            if end == 0 {
                break;
            }
            if chunks_left == 0 {
                return Err(MaskError::Overflow);
            }
            chunks_left -= 1;
            // Up to 8 hex digits backwards (bitmap_get_x32_reverse).
            let mut word: u32 = 0;
            let mut i = 0;
            loop {
                let c = b[end - 1];
                let v = (c as char).to_digit(16).ok_or(MaskError::Invalid)?;
                word |= v << (4 * i);
                end -= 1;
                i += 1;
                if end == 0 || is_sep(b[end - 1]) {
                    break;
                }
                if i == 8 {
                    // A ninth digit in the same group overflows. A ninth
                    // character that is not a digit is consumed and ignored
                    // (`if (hex_to_bin(*end--) >= 0) return -EOVERFLOW;`
                    // falls through to `out:` with `end` already moved), so
                    // the kernel takes `x00000001` as 1.
                    let c = b[end - 1];
                    end -= 1;
                    if (c as char).is_ascii_hexdigit() {
                        return Err(MaskError::Overflow);
                    }
                    break;
                }
            }
            for bit in 0..32 {
                if word & (1 << bit) != 0 {
                    set.insert(chunk * 32 + bit);
                }
            }
            chunk += 1;
        }
        if set.max().is_some_and(|m| m >= nbits) {
            return Err(MaskError::Overflow);
        }
        Ok(set)
    }
}

impl fmt::Display for CpuSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_list())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> CpuSet {
        CpuSet::parse_list(s).unwrap()
    }

    #[test]
    fn lists_round_trip() {
        assert_eq!(set("0-3,8").to_list(), "0-3,8");
        assert_eq!(set("8,0-3").iter().collect::<Vec<_>>(), vec![0, 1, 2, 3, 8]);
        assert_eq!(set(" 1 , 3-4 ").to_list(), "1,3-4");
        assert_eq!(set("").to_list(), "");
        assert_eq!(set("5").to_list(), "5");
        assert_eq!(set("0,1,2,4,5,7").to_list(), "0-2,4-5,7");
        for bad in ["3-1", "a", "1,,2", "-1", "1-", "0x3", "1 2"] {
            assert!(CpuSet::parse_list(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    /// The kernel's mask format (bitmap_print_to_pagebuf): 32-bit groups,
    /// comma-separated, most significant first; the first group has as many
    /// digits as its bits need (the seed's `f` on 8 CPUs reads back `0f`).
    #[rstest::rstest]
    #[case::one_cpu_set("0", 1, "1")]
    #[case::one_cpu_empty("", 1, "0")]
    #[case::two_cpus_both("0-1", 2, "3")]
    #[case::two_cpus_second("1", 2, "2")]
    #[case::two_cpus_empty("", 2, "0")]
    #[case::eight_cpus_zero_padded("0-3", 8, "0f")]
    #[case::cpus_33_last_only("32", 33, "1,00000000")]
    #[case::cpus_33_first_only("0", 33, "0,00000001")]
    #[case::cpus_33_all("0-32", 33, "1,ffffffff")]
    #[case::cpus_64_all("0-63", 64, "ffffffff,ffffffff")]
    #[case::cpus_64_some("0-3,8", 64, "00000000,0000010f")]
    #[case::cpus_64_last("63", 64, "80000000,00000000")]
    #[case::cpus_256_ends("0,255", 256, "80000000,00000000,00000000,00000000,00000000,00000000,00000000,00000001")]
    #[case::cpus_256_empty("", 256, "00000000,00000000,00000000,00000000,00000000,00000000,00000000,00000000")]
    fn masks_in_kernel_format(#[case] cpus: &str, #[case] nbits: u32, #[case] mask: &str) {
        assert_eq!(set(cpus).to_mask(nbits).unwrap(), mask);
        assert_eq!(CpuSet::parse_mask(mask, nbits).unwrap(), set(cpus), "and back");
    }

    #[test]
    fn a_cpu_beyond_the_mask_overflows() {
        assert_eq!(set("2").to_mask(2), Err(MaskError::Overflow));
    }

    #[test]
    fn masks_parse_like_bitmap_parse() {
        let p = CpuSet::parse_mask;
        assert_eq!(p("3", 2).unwrap(), set("0-1"));
        assert_eq!(p("3\n", 2).unwrap(), set("0-1"));
        assert_eq!(p("00000001", 2).unwrap(), set("0"));
        assert_eq!(p("0", 2).unwrap(), set(""));
        assert_eq!(p("", 2).unwrap(), set(""));
        assert_eq!(p("f", 4).unwrap(), set("0-3"));
        assert_eq!(p("1,00000000", 33).unwrap(), set("32"));
        assert_eq!(p("1,0", 33).unwrap(), set("32"));
        assert_eq!(p("ffffffff,ffffffff", 64).unwrap(), set("0-63"));
        assert_eq!(p("10f", 64).unwrap(), set("0-3,8"));
        // kernel-facts.md: on 2 CPUs these are EOVERFLOW
        for s in ["4", "ff", "0,3", "00000000,00000003"] {
            assert_eq!(p(s, 2), Err(MaskError::Overflow), "{s}");
        }
        // nine digits in a group
        assert_eq!(p("000000001", 64), Err(MaskError::Overflow));
        // bitmap_get_x32_reverse quirk: a non-digit right after 8 digits is
        // swallowed.
        assert_eq!(p("x00000001", 2).unwrap(), set("0"));
        assert_eq!(p("0x00000001", 2), Err(MaskError::Overflow));
        // bit 33 on 33 CPUs
        assert_eq!(p("2,00000000", 33), Err(MaskError::Overflow));
        // malformed: EINVAL
        for s in ["zz", "0x3", "3g", "-1", "1;2", "ff,zz"] {
            assert_eq!(p(s, 64), Err(MaskError::Invalid), "{s}");
        }
        // Groups are read from the end: the extra group overflows before its
        // junk is looked at (as in bitmap_parse).
        assert_eq!(p("zz,3", 2), Err(MaskError::Overflow));
        assert_eq!(MaskError::Overflow.errno(), libc::EOVERFLOW);
        assert_eq!(MaskError::Invalid.errno(), libc::EINVAL);
    }

    #[rstest::rstest]
    fn mask_round_trips_for_many_sizes(#[values(1, 2, 3, 4, 5, 31, 32, 33, 63, 64, 65, 255, 256)] nbits: u32) {
        let cpus: CpuSet = (0..nbits).filter(|c| c % 3 == 0 || c + 1 == nbits).collect();
        let m = cpus.to_mask(nbits).unwrap();
        assert_eq!(CpuSet::parse_mask(&m, nbits).unwrap(), cpus, "nbits {nbits} mask {m}");
        assert_eq!(m.split(',').count() as u32, nbits.div_ceil(32));
    }
}
