//! The protobuf wire format: a reader over (tag, value) pairs.

use super::ProtobufError;

/// One field's value as it is on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireValue<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Iterates the fields of one message.
pub struct Reader<'a> {
    buf: &'a [u8],
    failed: bool,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, failed: false }
    }

    fn varint(&mut self) -> Result<u64, ProtobufError> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self
                .buf
                .split_first()
                .ok_or_else(|| ProtobufError::Wire("truncated varint".into()))?;
            self.buf = rest;
            out |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(out);
            }
        }
        Err(ProtobufError::Wire("varint too long".into()))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtobufError> {
        if self.buf.len() < n {
            return Err(ProtobufError::Wire("truncated field".into()));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn next_field(&mut self) -> Result<(u32, WireValue<'a>), ProtobufError> {
        let key = self.varint()?;
        let tag =
            u32::try_from(key >> 3).map_err(|_| ProtobufError::Wire("tag too large".into()))?;
        let value = match key & 7 {
            0 => WireValue::Varint(self.varint()?),
            1 => WireValue::Fixed64(u64::from_le_bytes(
                self.take(8)?.try_into().unwrap_or_default(),
            )),
            2 => {
                let len = usize::try_from(self.varint()?)
                    .map_err(|_| ProtobufError::Wire("length too large".into()))?;
                WireValue::Bytes(self.take(len)?)
            }
            5 => WireValue::Fixed32(u32::from_le_bytes(
                self.take(4)?.try_into().unwrap_or_default(),
            )),
            other => {
                return Err(ProtobufError::Wire(format!(
                    "unsupported wire type {other}"
                )));
            }
        };
        Ok((tag, value))
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<(u32, WireValue<'a>), ProtobufError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() || self.failed {
            return None;
        }
        let r = self.next_field();
        self.failed = r.is_err();
        Some(r)
    }
}

/// The varints of a packed repeated field.
pub fn packed_varints(buf: &[u8]) -> Result<Vec<u64>, ProtobufError> {
    let mut r = Reader::new(buf);
    let mut out = Vec::new();
    while !r.buf.is_empty() {
        out.push(r.varint()?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_each_wire_type_are_read() {
        // tag 1 varint 150, tag 2 bytes "hi", tag 3 fixed64 1, tag 4 fixed32 2
        let buf = [
            0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i', 0x19, 1, 0, 0, 0, 0, 0, 0, 0, 0x25, 2, 0, 0,
            0,
        ];
        let fields: Vec<_> = Reader::new(&buf).collect::<Result<_, _>>().expect("valid");
        assert_eq!(
            fields,
            vec![
                (1, WireValue::Varint(150)),
                (2, WireValue::Bytes(b"hi")),
                (3, WireValue::Fixed64(1)),
                (4, WireValue::Fixed32(2))
            ]
        );
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        let fields: Vec<_> = Reader::new(&[0x12, 0x05, b'a']).collect();
        assert_eq!(fields.len(), 1);
        assert!(fields[0].is_err());
    }
}
