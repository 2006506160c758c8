//! Office Open XML containers (.docx, .xlsx, .pptx) are zip files; any zip starts with the same
//! four bytes, so the magic number alone accepts a renamed archive. This reads the zip's central
//! directory (bounded: a limited number of entries and name length, every offset checked) and
//! tells whether the parts that make the document what it claims to be are there. Pure; never
//! panics on malformed input.

/// Central directory entries read at most; real office files hold a few dozen to a few hundred.
pub const MAX_ENTRIES: usize = 10_000;
/// Longest entry name read, in bytes.
pub const MAX_NAME_BYTES: usize = 1024;

const EOCD_SIGNATURE: [u8; 4] = *b"PK\x05\x06";
const CENTRAL_SIGNATURE: [u8; 4] = *b"PK\x01\x02";
const EOCD_LEN: usize = 22;
const CENTRAL_LEN: usize = 46;
/// The end record may be followed by a comment of at most this many bytes.
const MAX_COMMENT: usize = u16::MAX as usize;

/// Why a zip's directory could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZipProblem {
    NoEndRecord,
    /// Spanned archives and ZIP64 (never needed below 4 GiB) are not read.
    Unsupported,
    TooManyEntries(usize),
    NameTooLong(usize),
    Truncated,
}

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]) as usize)
}

fn u32_at(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
}

/// The names in a zip's central directory.
pub fn entry_names(bytes: &[u8]) -> Result<Vec<&[u8]>, ZipProblem> {
    if bytes.len() < EOCD_LEN {
        return Err(ZipProblem::NoEndRecord);
    }
    // The end record is the last one whose comment length reaches exactly to the end.
    let lowest = bytes.len().saturating_sub(EOCD_LEN + MAX_COMMENT);
    let eocd = (lowest..=bytes.len() - EOCD_LEN)
        .rev()
        .find(|&at| {
            bytes[at..at + 4] == EOCD_SIGNATURE
                && u16_at(bytes, at + 20).is_some_and(|c| at + EOCD_LEN + c == bytes.len())
        })
        .ok_or(ZipProblem::NoEndRecord)?;
    let field = |off| u16_at(bytes, eocd + off).ok_or(ZipProblem::Truncated);
    let (disk, cd_disk, on_disk, total) = (field(4)?, field(6)?, field(8)?, field(10)?);
    let cd_size = u32_at(bytes, eocd + 12).ok_or(ZipProblem::Truncated)?;
    let cd_offset = u32_at(bytes, eocd + 16).ok_or(ZipProblem::Truncated)?;
    if disk != 0 || cd_disk != 0 || on_disk != total {
        return Err(ZipProblem::Unsupported);
    }
    if total == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF {
        return Err(ZipProblem::Unsupported);
    }
    if total > MAX_ENTRIES {
        return Err(ZipProblem::TooManyEntries(total));
    }
    let cd_end = cd_offset
        .checked_add(cd_size)
        .ok_or(ZipProblem::Truncated)?;
    if cd_end > eocd {
        return Err(ZipProblem::Truncated);
    }
    let dir = &bytes[cd_offset..cd_end];
    let mut names = Vec::with_capacity(total);
    let mut at = 0usize;
    for _ in 0..total {
        let header = dir.get(at..at + CENTRAL_LEN).ok_or(ZipProblem::Truncated)?;
        if header[..4] != CENTRAL_SIGNATURE {
            return Err(ZipProblem::Truncated);
        }
        let name_len = u16_at(header, 28).ok_or(ZipProblem::Truncated)?;
        let extra_len = u16_at(header, 30).ok_or(ZipProblem::Truncated)?;
        let comment_len = u16_at(header, 32).ok_or(ZipProblem::Truncated)?;
        if name_len > MAX_NAME_BYTES {
            return Err(ZipProblem::NameTooLong(name_len));
        }
        let name_at = at + CENTRAL_LEN;
        let name = dir
            .get(name_at..name_at + name_len)
            .ok_or(ZipProblem::Truncated)?;
        names.push(name);
        at = name_at + name_len + extra_len + comment_len;
    }
    Ok(names)
}

/// Does this zip hold every one of `parts` (exact entry names)?
pub fn holds_parts(bytes: &[u8], parts: &[&str]) -> bool {
    match entry_names(bytes) {
        Ok(names) => parts.iter().all(|p| names.contains(&p.as_bytes())),
        Err(_) => false,
    }
}

/// A zip of stored (uncompressed) entries, for tests: enough structure for the directory reader.
#[cfg(test)]
pub fn build_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u32;
        let common = |v: &mut Vec<u8>| {
            v.extend_from_slice(&20u16.to_le_bytes()); // version needed
            v.extend_from_slice(&0u16.to_le_bytes()); // flags
            v.extend_from_slice(&0u16.to_le_bytes()); // stored
            v.extend_from_slice(&0u32.to_le_bytes()); // time, date
            v.extend_from_slice(&0u32.to_le_bytes()); // crc (not checked here)
            v.extend_from_slice(&(data.len() as u32).to_le_bytes());
            v.extend_from_slice(&(data.len() as u32).to_le_bytes());
            v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes()); // extra
        };
        out.extend_from_slice(b"PK\x03\x04");
        common(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        common(&mut central);
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_names_of_a_zip() {
        let z = build_zip(&[
            ("[Content_Types].xml", b"<x/>"),
            ("word/document.xml", b"<w/>"),
        ]);
        assert_eq!(
            entry_names(&z).unwrap(),
            vec![&b"[Content_Types].xml"[..], &b"word/document.xml"[..]]
        );
        assert!(holds_parts(
            &z,
            &["word/document.xml", "[Content_Types].xml"]
        ));
        assert!(!holds_parts(&z, &["xl/workbook.xml"]));
    }

    #[test]
    fn malformed_zips_are_refused_not_panicked_on() {
        let z = build_zip(&[("a.txt", b"hello")]);
        assert_eq!(entry_names(b"PK\x03\x04"), Err(ZipProblem::NoEndRecord));
        // Cut anywhere: never a panic, never a name list that was not there.
        for cut in 0..z.len() {
            let _ = entry_names(&z[..cut]);
        }
        // An end record pointing past itself.
        let mut bad = z.clone();
        let n = bad.len();
        bad[n - 6..n - 2].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        assert!(entry_names(&bad).is_err());
        // Too many entries claimed.
        let mut many = z.clone();
        many[n - 12..n - 10].copy_from_slice(&20_000u16.to_le_bytes());
        many[n - 14..n - 12].copy_from_slice(&20_000u16.to_le_bytes());
        assert_eq!(entry_names(&many), Err(ZipProblem::TooManyEntries(20_000)));
        let long = "n".repeat(MAX_NAME_BYTES + 1);
        assert_eq!(
            entry_names(&build_zip(&[(&long, b"")])),
            Err(ZipProblem::NameTooLong(MAX_NAME_BYTES + 1))
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..400), end in any::<bool>()) {
            if end {
                bytes.extend_from_slice(b"PK\x05\x06");
                bytes.extend_from_slice(&[0u8; 18]);
            }
            let _ = entry_names(&bytes);
        }

        #[test]
        fn corrupting_a_real_zip_never_panics(at in 0usize..200, value in any::<u8>()) {
            let mut z = build_zip(&[("[Content_Types].xml", b"<x/>"), ("word/document.xml", b"<w/>")]);
            let i = at % z.len();
            z[i] = value;
            let _ = entry_names(&z);
        }
    }
}
