//! The cluster's certificates: a CA, the API server's serving certificate
//! and the admin client certificate, generated on first start under the data
//! directory and reused afterwards; and the admin kubeconfig.
//!
//! Invariant: every certificate on disk was signed by `ca.crt` in the same
//! directory; the serving certificate is regenerated when its SANs no longer
//! cover what the server must answer to (e.g. a new host address).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// Why certificates could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("{path}: no usable PEM data")]
    BadPem { path: PathBuf },
}

/// PEM-encoded certificate and key.
#[derive(Clone, Debug)]
pub struct CertPair {
    pub cert_pem: String,
    pub key_pem: String,
}

/// The files a server needs, all PEM.
#[derive(Clone, Debug)]
pub struct Pki {
    pub ca: CertPair,
    pub serving: CertPair,
    pub admin: CertPair,
}

fn read(path: &Path) -> Result<String, PkiError> {
    std::fs::read_to_string(path).map_err(|source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, data: &str, private: bool) -> Result<(), PkiError> {
    let io = |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(path, data).map_err(io)?;
    if private {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    }
    Ok(())
}

fn load_pair(dir: &Path, name: &str) -> Result<Option<CertPair>, PkiError> {
    let (crt, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    if !crt.exists() || !key.exists() {
        return Ok(None);
    }
    Ok(Some(CertPair {
        cert_pem: read(&crt)?,
        key_pem: read(&key)?,
    }))
}

fn store_pair(dir: &Path, name: &str, pair: &CertPair) -> Result<(), PkiError> {
    write(&dir.join(format!("{name}.crt")), &pair.cert_pem, false)?;
    write(&dir.join(format!("{name}.key")), &pair.key_pem, true)
}

fn validity(params: &mut CertificateParams, years: u64) {
    use std::time::{Duration, SystemTime};
    let now = SystemTime::now();
    params.not_before = (now - Duration::from_secs(3600)).into();
    params.not_after = (now + Duration::from_secs(years * 365 * 86400)).into();
}

fn new_ca() -> Result<CertPair, PkiError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "berth-ca");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params, 10);
    let cert = params.self_signed(&key)?;
    Ok(CertPair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Signs a leaf certificate with the CA.
fn issue(
    ca: &CertPair,
    common_name: &str,
    organizations: &[&str],
    sans: &[SanType],
    usage: ExtendedKeyUsagePurpose,
) -> Result<CertPair, PkiError> {
    let ca_key = KeyPair::from_pem(&ca.key_pem)?;
    let issuer = Issuer::from_ca_cert_pem(&ca.cert_pem, ca_key)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    for org in organizations {
        params
            .distinguished_name
            .push(DnType::OrganizationName, *org);
    }
    params.subject_alt_names = sans.to_vec();
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, 1);
    let cert = params.signed_by(&key, &issuer)?;
    Ok(CertPair {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// The names and addresses the serving certificate must cover.
pub fn serving_sans(extra_ips: &[IpAddr], extra_names: &[String]) -> Vec<SanType> {
    let mut names: Vec<String> = [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    names.extend(extra_names.iter().cloned());
    let mut sans: Vec<SanType> = names
        .into_iter()
        .filter_map(|n| n.try_into().ok().map(SanType::DnsName))
        .collect();
    let mut ips: Vec<IpAddr> = vec![
        IpAddr::from([127, 0, 0, 1]),
        IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
    ];
    for ip in extra_ips {
        if !ips.contains(ip) {
            ips.push(*ip);
        }
    }
    sans.extend(ips.into_iter().map(SanType::IpAddress));
    sans
}

const SANS_FILE: &str = "serving.sans";

fn sans_fingerprint(sans: &[SanType]) -> String {
    let mut v: Vec<String> = sans.iter().map(|s| format!("{s:?}")).collect();
    v.sort();
    v.join("\n")
}

/// Loads the PKI from `dir`, creating whatever is missing. The serving
/// certificate is reissued when `sans` changed since it was made.
pub fn ensure(dir: &Path, sans: &[SanType]) -> Result<Pki, PkiError> {
    std::fs::create_dir_all(dir).map_err(|source| PkiError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let ca = match load_pair(dir, "ca")? {
        Some(ca) => ca,
        None => {
            let ca = new_ca()?;
            store_pair(dir, "ca", &ca)?;
            ca
        }
    };
    let fingerprint = sans_fingerprint(sans);
    let sans_path = dir.join(SANS_FILE);
    let old_fingerprint = read(&sans_path).unwrap_or_default();
    let serving = match load_pair(dir, "serving")? {
        Some(s) if old_fingerprint == fingerprint => s,
        _ => {
            let s = issue(
                &ca,
                "kube-apiserver",
                &[],
                sans,
                ExtendedKeyUsagePurpose::ServerAuth,
            )?;
            store_pair(dir, "serving", &s)?;
            write(&sans_path, &fingerprint, false)?;
            s
        }
    };
    let admin = match load_pair(dir, "admin")? {
        Some(a) => a,
        None => {
            let a = issue_client(&ca, "admin", &["system:masters"])?;
            store_pair(dir, "admin", &a)?;
            a
        }
    };
    Ok(Pki { ca, serving, admin })
}

/// A client certificate for `user` in `groups`, signed by the CA.
pub fn issue_client(ca: &CertPair, user: &str, groups: &[&str]) -> Result<CertPair, PkiError> {
    issue(ca, user, groups, &[], ExtendedKeyUsagePurpose::ClientAuth)
}

/// A kubeconfig with one cluster, one user (client certificate) and one context.
pub fn kubeconfig(server_url: &str, ca_pem: &str, client: &CertPair, user: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: {ca}\n    server: {server_url}\n  name: berth\ncontexts:\n- context:\n    cluster: berth\n    user: {user}\n  name: berth\ncurrent-context: berth\npreferences: {{}}\nusers:\n- name: {user}\n  user:\n    client-certificate-data: {cert}\n    client-key-data: {key}\n",
        ca = b64(ca_pem),
        cert = b64(&client.cert_pem),
        key = b64(&client.key_pem),
    )
}

/// Writes `content` to `path` readable only by its owner.
pub fn write_private(path: &Path, content: &str) -> Result<(), PkiError> {
    write(path, content, true)
}
