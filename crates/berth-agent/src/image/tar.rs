//! A minimal ustar writer: regular files, directories and symlinks, enough
//! for OCI layers and image archives. Entries are written in order, with
//! fixed ownership (root) and mtime (0) so archives are reproducible.

const BLOCK: usize = 512;

#[derive(Default)]
pub struct TarWriter {
    out: Vec<u8>,
}

fn octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    field[..digits].copy_from_slice(&text.as_bytes()[text.len() - digits..]);
    field[digits] = 0;
}

impl TarWriter {
    pub fn new() -> Self {
        Self::default()
    }

    fn header(&mut self, path: &str, mode: u64, size: u64, kind: u8, link: &str) {
        let mut h = [0u8; BLOCK];
        let name = path.as_bytes();
        let (prefix, name) = if name.len() > 100 {
            let split = path[..path.len() - 1].rfind('/').unwrap_or(0);
            (&name[..split], &name[split + 1..])
        } else {
            (&name[..0], name)
        };
        h[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
        octal(&mut h[100..108], mode);
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], size);
        octal(&mut h[136..148], 0);
        h[148..156].fill(b' ');
        h[156] = kind;
        let link = link.as_bytes();
        h[157..157 + link.len().min(100)].copy_from_slice(&link[..link.len().min(100)]);
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[345..345 + prefix.len().min(155)].copy_from_slice(&prefix[..prefix.len().min(155)]);
        let sum: u64 = h.iter().map(|b| u64::from(*b)).sum();
        let text = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(text.as_bytes());
        self.out.extend_from_slice(&h);
    }

    pub fn dir(&mut self, path: &str) {
        self.header(
            &format!("{}/", path.trim_end_matches('/')),
            0o755,
            0,
            b'5',
            "",
        );
    }

    pub fn file(&mut self, path: &str, mode: u64, data: &[u8]) {
        self.header(path, mode, data.len() as u64, b'0', "");
        self.out.extend_from_slice(data);
        let pad = (BLOCK - data.len() % BLOCK) % BLOCK;
        self.out.extend(std::iter::repeat_n(0u8, pad));
    }

    pub fn symlink(&mut self, path: &str, target: &str) {
        self.header(path, 0o777, 0, b'2', target);
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.out.extend(std::iter::repeat_n(0u8, BLOCK * 2));
        self.out
    }
}
