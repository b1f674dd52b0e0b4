//! A classic-BPF interpreter for tests: runs a filter on a `seccomp_data` so
//! unit tests check what a compiled profile decides, not how it is encoded.

use crate::sys::seccomp::Insn;

/// `struct seccomp_data` as the kernel lays it out.
pub fn data(arch: u32, nr: i32, args: [u64; 6]) -> [u8; 64] {
    let mut d = [0u8; 64];
    d[0..4].copy_from_slice(&nr.to_ne_bytes());
    d[4..8].copy_from_slice(&arch.to_ne_bytes());
    for (i, a) in args.iter().enumerate() {
        d[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
    }
    d
}

/// Run `prog` on `data`; the returned action (SECCOMP_RET_*), or None for an
/// invalid program (out-of-range load or jump, unknown opcode, no return).
pub fn run(prog: &[Insn], data: &[u8; 64]) -> Option<u32> {
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    let word = |k: u32| -> Option<u32> {
        let k = k as usize;
        (k % 4 == 0 && k + 4 <= 64).then(|| u32::from_ne_bytes(data[k..k + 4].try_into().unwrap()))
    };
    while let Some(i) = prog.get(pc) {
        pc += 1;
        let k = i.k;
        match i.code & 0x07 {
            0x00 => match i.code {
                0x20 => a = word(k)?,              // ld [k]
                0x00 => a = k,                     // ld #k
                0x60 => a = *mem.get(k as usize)?, // ld M[k]
                0x80 => a = 64,                    // ld len
                _ => return None,
            },
            0x01 => match i.code {
                0x01 => x = k,
                0x61 => x = *mem.get(k as usize)?,
                0x81 => x = 64,
                _ => return None,
            },
            0x02 => *mem.get_mut(k as usize)? = a,
            0x03 => *mem.get_mut(k as usize)? = x,
            0x04 => {
                let v = if i.code & 0x08 != 0 { x } else { k };
                a = match i.code & 0xf0 {
                    0x00 => a.wrapping_add(v),
                    0x10 => a.wrapping_sub(v),
                    0x20 => a.wrapping_mul(v),
                    0x30 => a.checked_div(v)?,
                    0x40 => a | v,
                    0x50 => a & v,
                    0x60 => a.checked_shl(v).unwrap_or(0),
                    0x70 => a.checked_shr(v).unwrap_or(0),
                    0x80 => a.wrapping_neg(),
                    0x90 => a.checked_rem(v)?,
                    0xa0 => a ^ v,
                    _ => return None,
                };
            }
            0x05 => {
                let v = if i.code & 0x08 != 0 { x } else { k };
                let op = i.code & 0xf0;
                if op == 0x00 {
                    pc += k as usize;
                } else {
                    let t = match op {
                        0x10 => a == v,
                        0x20 => a > v,
                        0x30 => a >= v,
                        0x40 => a & v != 0,
                        _ => return None,
                    };
                    pc += if t { i.jt } else { i.jf } as usize;
                }
            }
            0x06 => {
                return Some(match i.code & 0x18 {
                    0x00 => k,
                    0x10 => a,
                    _ => return None,
                })
            }
            _ => match i.code & 0xf8 {
                0x00 => x = a,
                0x80 => a = x,
                _ => return None,
            },
        }
    }
    None
}
