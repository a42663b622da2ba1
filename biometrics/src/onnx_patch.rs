//! Flushes denormal float weights of an ONNX model to zero, in place.
//!
//! `fr_feature.onnx` carries thousands of denormal weights; multiplying by them
//! takes the CPU's slow path and makes the embedder 3–4× slower (README,
//! Benchmarks). Their contribution is below f32 resolution of any activation,
//! so zeroing them gives the same embeddings. The file on disk stays as
//! published: we patch the bytes in memory, keeping every byte position, so no
//! protobuf re-encoding can drop or reorder anything.
//!
//! Only the wire format is walked (varints via `prost::encoding`): ModelProto
//! field 7 (graph) → GraphProto field 5 (initializer) → TensorProto field 2
//! (data_type, 1 = FLOAT), field 4 (float_data) and field 9 (raw_data).

use prost::encoding::{decode_key, decode_varint, WireType};

#[derive(Debug, thiserror::Error)]
#[error("malformed ONNX protobuf: {0}")]
pub struct PatchError(String);

/// Zeroes denormal f32 initializers; returns how many were changed.
pub fn flush_denormal_initializers(model: &mut [u8]) -> Result<usize, PatchError> {
    let mut ranges = Vec::new();
    for (field, wt, start, end) in fields(model, 0, model.len())? {
        if field == 7 && wt == WireType::LengthDelimited {
            for (gf, gwt, gs, ge) in fields(model, start, end)? {
                if gf == 5 && gwt == WireType::LengthDelimited {
                    tensor_float_ranges(model, gs, ge, &mut ranges)?;
                }
            }
        }
    }
    let mut changed = 0;
    for (start, end) in ranges {
        for chunk in model[start..end].chunks_exact_mut(4) {
            let v = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            if v.is_subnormal() {
                chunk.copy_from_slice(&0f32.to_le_bytes());
                changed += 1;
            }
        }
    }
    Ok(changed)
}

fn tensor_float_ranges(buf: &[u8], start: usize, end: usize, out: &mut Vec<(usize, usize)>) -> Result<(), PatchError> {
    let mut data_type = None;
    let mut candidates = Vec::new();
    for (field, wt, s, e) in fields(buf, start, end)? {
        match (field, wt) {
            (2, WireType::Varint) => data_type = Some(read_varint(&buf[s..e])?),
            (4, WireType::LengthDelimited) | (9, WireType::LengthDelimited) => candidates.push((s, e)),
            (4, WireType::ThirtyTwoBit) => candidates.push((s, e)),
            _ => {}
        }
    }
    if data_type == Some(1) {
        out.extend(candidates.into_iter().filter(|(s, e)| (e - s) % 4 == 0));
    }
    Ok(())
}

/// The fields of the message in `buf[start..end]`: (number, wire type, payload range).
fn fields(buf: &[u8], start: usize, end: usize) -> Result<Vec<(u32, WireType, usize, usize)>, PatchError> {
    let mut out = Vec::new();
    let mut pos = start;
    while pos < end {
        let mut cur = &buf[pos..end];
        let before = cur.len();
        let (field, wt) = decode_key(&mut cur).map_err(|e| PatchError(e.to_string()))?;
        let key_len = before - cur.len();
        let payload_start = pos + key_len;
        let (s, e) = match wt {
            WireType::Varint => {
                let before = cur.len();
                decode_varint(&mut cur).map_err(|e| PatchError(e.to_string()))?;
                (payload_start, payload_start + before - cur.len())
            }
            WireType::SixtyFourBit => (payload_start, payload_start + 8),
            WireType::ThirtyTwoBit => (payload_start, payload_start + 4),
            WireType::LengthDelimited => {
                let before = cur.len();
                let len = decode_varint(&mut cur).map_err(|e| PatchError(e.to_string()))? as usize;
                let s = payload_start + before - cur.len();
                (s, s.checked_add(len).ok_or_else(|| PatchError("length overflow".into()))?)
            }
            WireType::StartGroup | WireType::EndGroup => return Err(PatchError("groups are not used by ONNX".into())),
        };
        if e > end {
            return Err(PatchError(format!("field {field} runs past its message")));
        }
        out.push((field, wt, s, e));
        pos = e;
    }
    Ok(out)
}

fn read_varint(mut b: &[u8]) -> Result<u64, PatchError> {
    decode_varint(&mut b).map_err(|e| PatchError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::encoding::{encode_key, encode_varint};

    fn ld(field: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_key(field, WireType::LengthDelimited, &mut out);
        encode_varint(payload.len() as u64, &mut out);
        out.extend_from_slice(payload);
        out
    }

    fn tensor(data_type: u64, raw: &[f32]) -> Vec<u8> {
        let mut t = Vec::new();
        encode_key(2, WireType::Varint, &mut t);
        encode_varint(data_type, &mut t);
        let bytes: Vec<u8> = raw.iter().flat_map(|v| v.to_le_bytes()).collect();
        t.extend(ld(9, &bytes));
        t
    }

    #[test]
    fn zeroes_only_denormal_floats_of_float_tensors() {
        let tiny = f32::from_bits(1); // the smallest denormal
        let graph = [ld(1, b"node-bytes-left-alone"), ld(5, &tensor(1, &[1.0, tiny, -tiny, 1e-30])), ld(5, &tensor(7, &[tiny]))].concat();
        let mut model = [ld(2, b"producer"), ld(7, &graph)].concat();
        let original = model.clone();
        assert_eq!(flush_denormal_initializers(&mut model).unwrap(), 2);
        assert_eq!(model.len(), original.len());
        let changed: Vec<usize> = (0..model.len()).filter(|&i| model[i] != original[i]).collect();
        assert!(!changed.is_empty() && changed.len() <= 8);
        // A second pass finds nothing left.
        assert_eq!(flush_denormal_initializers(&mut model).unwrap(), 0);
    }

    #[test]
    fn refuses_truncated_input() {
        let mut model = ld(7, &ld(5, &tensor(1, &[1.0])));
        model.truncate(model.len() - 2);
        assert!(flush_denormal_initializers(&mut model).is_err());
    }
}
