//! Vendor sets: the bitfield and range encodings of a vendor section, and the range entries shared with publisher
//! restrictions. Sets are kept as sorted, disjoint id ranges, so memory follows the input size and never the
//! ids a range spans (one entry `1-65535` is one range, not 65 535 ids).

use serde::{Serialize, Serializer};

use super::bits::BitReader;
use super::TcfError;

/// A set of vendor ids (1–65535), sorted and deduplicated. Serialized as the ascending list of ids.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct VendorIds {
    /// Sorted, disjoint, non-adjacent inclusive ranges, all ids ≥ 1.
    ranges: Vec<(u16, u16)>,
}

impl VendorIds {
    /// From inclusive ranges in any order, with `start ≤ end` and `start ≥ 1`; also returns how many ids were
    /// listed more than once (merged away).
    pub(super) fn from_ranges(mut ranges: Vec<(u16, u16)>) -> (Self, u64) {
        ranges.sort_unstable();
        let mut merged: Vec<(u16, u16)> = Vec::with_capacity(ranges.len());
        let mut duplicates = 0u64;
        for (start, end) in ranges {
            match merged.last_mut() {
                Some(last) if start <= last.1 => {
                    duplicates += u64::from(end.min(last.1) - start) + 1;
                    last.1 = last.1.max(end);
                }
                Some(last) if u32::from(start) == u32::from(last.1) + 1 => last.1 = end,
                _ => merged.push((start, end)),
            }
        }
        (VendorIds { ranges: merged }, duplicates)
    }

    pub fn contains(&self, id: u16) -> bool {
        let i = self.ranges.partition_point(|&(_, end)| end < id);
        self.ranges.get(i).is_some_and(|&(start, _)| start <= id)
    }

    /// The ids, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.ranges.iter().flat_map(|&(start, end)| start..=end)
    }

    /// The ids as sorted, disjoint inclusive ranges.
    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.ranges
    }

    pub fn len(&self) -> usize {
        self.ranges.iter().map(|&(start, end)| usize::from(end - start) + 1).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    pub fn max(&self) -> Option<u16> {
        self.ranges.last().map(|&(_, end)| end)
    }
}

impl std::fmt::Debug for VendorIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.ranges.iter().map(|&(s, e)| s..=e)).finish()
    }
}

impl Serialize for VendorIds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// How a vendor section was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VendorEncoding {
    Bitfield,
    Range,
}

/// One vendor section (VendorConsents, VendorLegitimateInterests, DisclosedVendors, AllowedVendors).
/// Serialized as the list of vendor ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VendorSection {
    /// MaxVendorId as sent. A range list may name ids above it (kept, with a warning).
    pub max_vendor_id: u16,
    pub encoding: VendorEncoding,
    pub vendors: VendorIds,
}

impl VendorSection {
    pub fn contains(&self, id: u16) -> bool {
        self.vendors.contains(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        self.vendors.iter()
    }
}

impl Serialize for VendorSection {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.vendors.serialize(serializer)
    }
}

/// Field names of one section, for errors and warnings (`VendorConsents.MaxVendorId`, …).
pub(super) struct SectionNames {
    pub name: &'static str,
    pub max_vendor_id: &'static str,
    pub is_range_encoding: &'static str,
    pub bitfield: &'static str,
    pub entries: EntryNames,
}

pub(super) struct EntryNames {
    pub num_entries: &'static str,
    pub is_a_range: &'static str,
    pub start: &'static str,
    pub end: &'static str,
}

macro_rules! entry_names {
    ($s:literal) => {
        EntryNames {
            num_entries: concat!($s, ".NumEntries"),
            is_a_range: concat!($s, ".IsARange"),
            start: concat!($s, ".StartOrOnlyVendorId"),
            end: concat!($s, ".EndVendorId"),
        }
    };
}
pub(super) use entry_names;

macro_rules! section_names {
    ($s:literal) => {
        SectionNames {
            name: $s,
            max_vendor_id: concat!($s, ".MaxVendorId"),
            is_range_encoding: concat!($s, ".IsRangeEncoding"),
            bitfield: concat!($s, ".BitField"),
            entries: entry_names!($s),
        }
    };
}

pub(super) const VENDOR_CONSENTS: SectionNames = section_names!("VendorConsents");
pub(super) const VENDOR_LI: SectionNames = section_names!("VendorLegitimateInterests");
pub(super) const DISCLOSED_VENDORS: SectionNames = section_names!("DisclosedVendors");
pub(super) const ALLOWED_VENDORS: SectionNames = section_names!("AllowedVendors");

/// NumEntries then the entries, as sent: `(start, end)` with `end == start` for a single id. Nothing is
/// validated here; at most 4095 entries.
pub(super) fn read_entries(r: &mut BitReader, names: &EntryNames) -> Result<Vec<(u16, u16)>, TcfError> {
    let count = r.u16(12, names.num_entries)?;
    let mut entries = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let is_range = r.bit(names.is_a_range)?;
        let start = r.u16(16, names.start)?;
        let end = if is_range { r.u16(16, names.end)? } else { start };
        entries.push((start, end));
    }
    Ok(entries)
}

/// MaxVendorId, IsRangeEncoding, then a bitfield of exactly MaxVendorId bits or a range list.
///
/// Range lists are read leniently, as real strings break the rules: duplicated ids are merged, id 0 and
/// backwards entries are dropped, and ids above MaxVendorId are kept; each with a warning. Dropping only ever
/// removes a grant, so leniency cannot widen what a vendor may do.
pub(super) fn read_section(
    r: &mut BitReader,
    names: &SectionNames,
    warnings: &mut Vec<String>,
) -> Result<VendorSection, TcfError> {
    let max_vendor_id = r.u16(16, names.max_vendor_id)?;
    if !r.bit(names.is_range_encoding)? {
        let expected = usize::from(max_vendor_id);
        if r.remaining() < expected {
            return Err(TcfError::BitfieldLength {
                segment: r.segment(),
                field: names.bitfield,
                max_vendor_id,
                available: r.remaining(),
            });
        }
        let mut ranges = Vec::new();
        let mut run: Option<u16> = None;
        for id in 1..=max_vendor_id {
            match (r.bit(names.bitfield)?, run) {
                (true, None) => run = Some(id),
                (false, Some(start)) => {
                    ranges.push((start, id - 1));
                    run = None;
                }
                _ => {}
            }
        }
        if let Some(start) = run {
            ranges.push((start, max_vendor_id));
        }
        let (vendors, _) = VendorIds::from_ranges(ranges);
        return Ok(VendorSection { max_vendor_id, encoding: VendorEncoding::Bitfield, vendors });
    }
    let mut ranges = Vec::new();
    let (mut zero, mut backwards) = (false, 0usize);
    for (start, end) in read_entries(r, &names.entries)? {
        if end < start {
            backwards += 1;
            continue;
        }
        if start == 0 {
            zero = true;
            if end == 0 {
                continue;
            }
        }
        ranges.push((start.max(1), end));
    }
    let (vendors, duplicates) = VendorIds::from_ranges(ranges);
    let name = names.name;
    if duplicates > 0 {
        warnings
            .push(format!("{name}: {duplicates} vendor id(s) listed more than once in the range list (deduplicated)"));
    }
    if zero {
        warnings.push(format!("{name}: vendor id 0 in the range list (ignored; ids start at 1)"));
    }
    if backwards > 0 {
        warnings.push(format!("{name}: {backwards} range entr(ies) end before they start (ignored)"));
    }
    if let Some(max) = vendors.max().filter(|max| *max > max_vendor_id) {
        warnings.push(format!("{name}: the range list names vendor {max}, above MaxVendorId {max_vendor_id} (kept)"));
    }
    Ok(VendorSection { max_vendor_id, encoding: VendorEncoding::Range, vendors })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_merged_and_duplicates_counted() {
        let (ids, duplicates) =
            VendorIds::from_ranges(vec![(5, 12), (1, 10), (7, 7), (13, 13), (20, 22), (65535, 65535)]);
        assert_eq!(ids.ranges(), &[(1, 13), (20, 22), (65535, 65535)]);
        assert_eq!(duplicates, 6 + 1);
        assert_eq!(ids.len(), 17);
        assert!(ids.contains(1) && ids.contains(13) && ids.contains(21) && ids.contains(65535));
        assert!(!ids.contains(0) && !ids.contains(14) && !ids.contains(23) && !ids.contains(65534));
        assert_eq!(ids.iter().take(3).collect::<Vec<_>>(), vec![1, 2, 3]);
    }
}
