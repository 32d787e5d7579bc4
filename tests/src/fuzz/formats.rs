//! Structure-aware mutations: each decodes its format, edits one field (a size, a dtype,
//! a shape, a chunk) with edge values, and re-encodes it with correct lengths and
//! checksums, so that mutants get past the outer checks to the parser's inner ones.

use std::io::Read;

use super::mutate::{byte_edit, text_edit, write_int, Rng, INTERESTING};

fn interesting(rng: &mut Rng) -> u64 {
    let v = *rng.pick(&INTERESTING);
    match rng.below(4) {
        0 => v.wrapping_add(1),
        1 => v.wrapping_sub(1),
        _ => v,
    }
}

/// IDX: the type and dims bytes, a size field, or the data length.
pub fn idx(raw: &[u8], rng: &mut Rng) -> Option<Vec<u8>> {
    let mut out = raw.to_vec();
    let dims = *raw.get(3)? as usize;
    match rng.below(4) {
        0 => out[2 + rng.below(2)] = *rng.pick(&[0u8, 1, 3, 8, 9, 0x0d, 0x0e, 0xff]),
        1 | 2 if dims > 0 => {
            let at = 4 + 4 * rng.below(dims);
            write_int(&mut out, at, interesting(rng), 4, true);
        }
        _ => {
            let keep = 4 + 4 * dims;
            let len = keep + rng.below(out.len().saturating_sub(keep) + 2);
            out.resize(len, rng.next_u64() as u8);
        }
    }
    Some(out)
}

pub fn gunzip(gz: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .take(1 << 20)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

/// Gzipped IDX: edit the decompressed file (structurally or byte-wise), re-gzip it.
pub fn idx_gz(gz: &[u8], rng: &mut Rng) -> Option<Vec<u8>> {
    let mut raw = gunzip(gz)?;
    if rng.chance(2) {
        raw = idx(&raw, rng)?;
    } else {
        byte_edit(&mut raw, &[], rng);
    }
    let mut out = super::seeds::gzip(&raw);
    if rng.chance(8) {
        // Two members back to back, or garbage after the member.
        let tail = if rng.chance(2) {
            out.clone()
        } else {
            vec![0x1f, 0x8b, 8]
        };
        out.extend_from_slice(&tail);
    }
    Some(out)
}

/// safetensors: the JSON header (dtype, shape, offsets, names, metadata) or its length.
pub fn safetensors(file: &[u8], rng: &mut Rng) -> Option<Vec<u8>> {
    let n = u64::from_le_bytes(file.get(..8)?.try_into().ok()?) as usize;
    let header = file.get(8..8usize.checked_add(n)?)?;
    let data = &file[8 + n..];
    let mut json: serde_json::Value = serde_json::from_slice(header).ok()?;
    let obj = json.as_object_mut()?;
    let names: Vec<String> = obj.keys().cloned().collect();
    let name = rng.pick(&names).clone();
    let num = |rng: &mut Rng| serde_json::Value::from(interesting(rng));
    match rng.below(8) {
        0 => {
            let dt = *rng.pick(&[
                "F32", "F64", "F16", "BF16", "I8", "U8", "I64", "BOOL", "F8_E4M3", "X",
            ]);
            obj.get_mut(&name)?
                .as_object_mut()?
                .insert("dtype".into(), dt.into());
        }
        1 => {
            let shape = obj.get_mut(&name)?.get_mut("shape")?.as_array_mut()?;
            match rng.below(3) {
                0 if !shape.is_empty() => {
                    let i = rng.below(shape.len());
                    shape[i] = num(rng);
                }
                1 => shape.push(num(rng)),
                _ => {
                    shape.pop();
                }
            }
        }
        2 => {
            let offs = obj
                .get_mut(&name)?
                .get_mut("data_offsets")?
                .as_array_mut()?;
            let i = rng.below(offs.len().max(1));
            if let Some(o) = offs.get_mut(i) {
                *o = num(rng);
            }
        }
        3 => {
            obj.remove(&name);
        }
        4 => {
            let v = obj.remove(&name)?;
            let renamed = format!(
                "{name}{}",
                *rng.pick(&["x", ".weight", "", "optimizer.0.step"])
            );
            obj.insert(renamed, v);
        }
        _ => {
            // Metadata: a newer format, another model, corrupt progress, rng positions.
            let meta = obj
                .entry("__metadata__")
                .or_insert_with(|| serde_json::json!({}))
                .as_object_mut()?;
            let key = *rng.pick(&[
                "format",
                "model",
                "epochs_done",
                "best_val_loss",
                "rng.3",
                "best_epoch",
            ]);
            let val = *rng.pick(&[
                "2",
                "0",
                "mlp",
                "cnn",
                "small",
                "x",
                "-1",
                "NaN",
                "1e999",
                "18446744073709551616",
            ]);
            meta.insert(key.into(), val.into());
        }
    }
    let header = serde_json::to_vec(&json).ok()?;
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    if rng.chance(16) {
        write_int(&mut out, 0, interesting(rng), 8, false);
    }
    out.extend_from_slice(&header);
    out.extend_from_slice(data);
    Some(out)
}

/// PNG chunks (`(type, payload)`) after the signature, or `None` when malformed.
fn png_chunks(bytes: &[u8]) -> Option<Vec<([u8; 4], Vec<u8>)>> {
    let mut rest = bytes.strip_prefix(b"\x89PNG\r\n\x1a\n")?;
    let mut chunks = Vec::new();
    while rest.len() >= 12 {
        let len = u32::from_be_bytes(rest[..4].try_into().ok()?) as usize;
        let kind: [u8; 4] = rest[4..8].try_into().ok()?;
        let payload = rest.get(8..8 + len)?.to_vec();
        chunks.push((kind, payload));
        rest = rest.get(12 + len..)?;
    }
    Some(chunks)
}

fn png_encode(chunks: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, payload) in chunks {
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(payload);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(payload);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    out
}

fn zlib(raw: &[u8], decode: bool) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    if decode {
        flate2::read::ZlibDecoder::new(raw)
            .take(1 << 22)
            .read_to_end(&mut out)
            .ok()?;
    } else {
        flate2::read::ZlibEncoder::new(raw, flate2::Compression::fast())
            .read_to_end(&mut out)
            .ok()?;
    }
    Some(out)
}

/// PNG (IHDR fields, decompressed pixel data, chunk order; CRCs recomputed) or PGM
/// (header tokens).
pub fn image(bytes: &[u8], rng: &mut Rng) -> Option<Vec<u8>> {
    if bytes.starts_with(b"P") {
        let mut out = bytes.to_vec();
        text_edit(&mut out, b"P5 P2 0 1 28 65535 65536 256 # \n", rng);
        return Some(out);
    }
    let mut chunks = png_chunks(bytes)?;
    let i = rng.below(chunks.len());
    match rng.below(5) {
        0 | 1 => {
            let ihdr = chunks.iter_mut().find(|(k, _)| k == b"IHDR")?;
            match rng.below(3) {
                0 => write_int(&mut ihdr.1, 4 * rng.below(2), interesting(rng), 4, true),
                1 => {
                    // Both sides at the decoder's limits: a header far larger than its data.
                    for at in [0, 4] {
                        let side = *rng.pick(&[1, 28, 4096, 8192, 8193, 65535]);
                        write_int(&mut ihdr.1, at, side, 4, true);
                    }
                }
                _ => {
                    let at = 8 + rng.below(5);
                    write_int(
                        &mut ihdr.1,
                        at,
                        *rng.pick(&[0, 1, 2, 3, 4, 6, 7, 8, 16, 255]),
                        1,
                        true,
                    );
                }
            }
        }
        2 => {
            let idat = chunks.iter_mut().find(|(k, _)| k == b"IDAT")?;
            let mut raw = zlib(&idat.1, true)?;
            byte_edit(&mut raw, &[], rng);
            idat.1 = zlib(&raw, false)?;
        }
        3 => {
            let c = chunks[i].clone();
            chunks.insert(rng.below(chunks.len() + 1), c);
        }
        _ => {
            chunks.remove(i);
        }
    }
    Some(png_encode(&chunks))
}

/// `.npy`: the header dictionary (re-padded, its length field fixed) or the version.
pub fn npy(bytes: &[u8], rng: &mut Rng) -> Option<Vec<u8>> {
    if bytes.get(6) != Some(&1) {
        return None;
    }
    let n = u16::from_le_bytes(bytes.get(8..10)?.try_into().ok()?) as usize;
    let mut header = bytes.get(10..10 + n)?.to_vec();
    let data = &bytes[10 + n..];
    text_edit(
        &mut header,
        b"'descr': '<f8' '>i4' '|u1' '<c16' 'fortran_order': True False 'shape': (0,) (1, 2, 3) ()",
        rng,
    );
    let mut out = b"\x93NUMPY".to_vec();
    if rng.chance(8) {
        out.extend_from_slice(&[2, 0]);
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    } else {
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    }
    out.extend_from_slice(&header);
    let mut data = data.to_vec();
    if rng.chance(4) {
        byte_edit(&mut data, &[], rng);
    }
    out.extend_from_slice(&data);
    Some(out)
}
