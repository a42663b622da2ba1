//! Electronic digital signatures on the act of testing and commissioning and
//! on the operator's approval (Rules §16, §17): CMS/CAdES **detached**
//! signatures, the format Kazakhstan's signing tools (NCALayer) produce.
//!
//! Verified with OpenSSL (`CMS_verify`), not by hand: the signature over
//! exactly the document's bytes, the certificate chain to the configured
//! trusted roots, validity at the signing time, the S/MIME signing purpose
//! (key usage digitalSignature or nonRepudiation when the extension is
//! present), and revocation against the configured CRLs for the whole chain.
//! Then the signer's subject must carry the signer's IIN
//! (`SERIALNUMBER=IIN…`) and, for an organisation's act, the applicant's BIN
//! (`OU=BIN…`), as the Kazakh national PKI puts them.
//!
//! RSA and ECDSA (P-256, P-384) certificates verify. **GOST 34.10-2015**
//! certificates (the national PKI's own algorithm) need an OpenSSL GOST engine
//! or provider (e.g. `gost-engine`) loaded into the process; without it such
//! signatures are refused as unverifiable (README).

use std::path::Path;

use chrono::{DateTime, Utc};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::nid::Nid;
use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::stack::Stack;
use openssl::x509::store::{X509Lookup, X509StoreBuilder};
use openssl::x509::verify::{X509VerifyFlags, X509VerifyParam};
use openssl::x509::{X509PurposeId, X509};
use serde::{Deserialize, Serialize};

use crate::ids::Bin;

#[derive(Debug, thiserror::Error)]
pub enum EdsError {
    #[error("the signature is not a CMS SignedData structure")]
    NotCms,
    #[error("the signature does not verify: {0}")]
    Invalid(String),
    #[error("the signer's certificate has no IIN (SERIALNUMBER=IIN…)")]
    NoIin,
    #[error("the signer's certificate has no BIN (OU=BIN…)")]
    NoBin,
    #[error("the signer's certificate names BIN {found}, the application's is {expected}")]
    WrongBin { expected: String, found: String },
    #[error("trust configuration: {0}")]
    Trust(String),
}

/// Who signed, as the certificate says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signer {
    /// The 12 digits after `IIN` in SERIALNUMBER.
    pub iin: String,
    /// The 12 digits after `BIN` in OU, when present.
    pub bin: Option<String>,
    pub common_name: Option<String>,
    pub certificate_serial: String,
}

/// The trusted roots and the CRLs, loaded once.
pub struct Trust {
    roots: Vec<X509>,
    crl_files: Vec<std::path::PathBuf>,
}

impl Trust {
    /// `roots_pem`: one or more PEM certificates; `crl_files`: PEM CRL files
    /// (all must be present: revocation is checked for the whole chain).
    pub fn new(roots_pem: &[u8], crl_files: Vec<std::path::PathBuf>) -> Result<Self, EdsError> {
        let roots = X509::stack_from_pem(roots_pem).map_err(|e| EdsError::Trust(e.to_string()))?;
        if roots.is_empty() {
            return Err(EdsError::Trust("no trusted root certificate".into()));
        }
        Ok(Trust { roots, crl_files })
    }

    pub fn from_files(roots: &Path, crls: Vec<std::path::PathBuf>) -> Result<Self, EdsError> {
        let pem = std::fs::read(roots).map_err(|e| EdsError::Trust(format!("{}: {e}", roots.display())))?;
        Self::new(&pem, crls)
    }
}

/// Verifies a detached CMS signature (DER or PEM) over `document` at `at`
/// (the signing time the verification is judged at), and, when
/// `expected_bin` is given, that the signer acts for that organisation.
pub fn verify_detached(document: &[u8], signature: &[u8], trust: &Trust, expected_bin: Option<&Bin>, at: DateTime<Utc>) -> Result<Signer, EdsError> {
    let (mut cms, der) = if signature.starts_with(b"-----BEGIN") {
        let cms = CmsContentInfo::from_pem(signature).map_err(|_| EdsError::NotCms)?;
        let der = cms.to_der().map_err(|_| EdsError::NotCms)?;
        (cms, der)
    } else {
        (CmsContentInfo::from_der(signature).map_err(|_| EdsError::NotCms)?, signature.to_vec())
    };
    let store = {
        let err = |e: openssl::error::ErrorStack| EdsError::Trust(e.to_string());
        let mut b = X509StoreBuilder::new().map_err(err)?;
        for root in &trust.roots {
            b.add_cert(root.clone()).map_err(err)?;
        }
        let lookup = b.add_lookup(X509Lookup::file()).map_err(err)?;
        for crl in &trust.crl_files {
            lookup.load_crl_file(crl, openssl::ssl::SslFiletype::PEM).map_err(|e| EdsError::Trust(format!("CRL {}: {e}", crl.display())))?;
        }
        let mut param = X509VerifyParam::new().map_err(err)?;
        param.set_time(at.timestamp() as _);
        let mut flags = X509VerifyFlags::X509_STRICT;
        if !trust.crl_files.is_empty() {
            flags |= X509VerifyFlags::CRL_CHECK | X509VerifyFlags::CRL_CHECK_ALL;
        }
        param.set_flags(flags).map_err(err)?;
        param.set_purpose(X509PurposeId::SMIME_SIGN).map_err(err)?;
        b.set_param(&param).map_err(err)?;
        b.build()
    };
    cms.verify(None, Some(&store), Some(document), None, CMSOptions::BINARY | CMSOptions::DETACHED).map_err(|e| EdsError::Invalid(describe(&e)))?;
    // The verified signer's certificate, to read the subject.
    let pkcs7 = Pkcs7::from_der(&der).map_err(|_| EdsError::NotCms)?;
    let none = Stack::new().map_err(|e| EdsError::Trust(e.to_string()))?;
    let signers = pkcs7.signers(&none, Pkcs7Flags::empty()).map_err(|e| EdsError::Invalid(describe(&e)))?;
    let cert = signers.iter().next().ok_or_else(|| EdsError::Invalid("no signer certificate".into()))?;
    let entry = |nid: Nid| -> Vec<String> { cert.subject_name().entries_by_nid(nid).filter_map(|e| e.data().to_string().ok()).collect() };
    let digits = |prefix: &str, values: &[String]| {
        values.iter().find_map(|v| v.strip_prefix(prefix).filter(|d| d.len() == 12 && d.bytes().all(|b| b.is_ascii_digit())).map(str::to_owned))
    };
    let iin = digits("IIN", &entry(Nid::SERIALNUMBER)).ok_or(EdsError::NoIin)?;
    let bin = digits("BIN", &entry(Nid::ORGANIZATIONALUNITNAME));
    if let Some(expected) = expected_bin {
        match &bin {
            None => return Err(EdsError::NoBin),
            Some(found) if found != expected.as_str() => return Err(EdsError::WrongBin { expected: expected.as_str().into(), found: found.clone() }),
            Some(_) => {}
        }
    }
    let serial = cert.serial_number().to_bn().and_then(|b| b.to_hex_str().map(|s| s.to_string())).unwrap_or_default();
    Ok(Signer { iin, bin, common_name: entry(Nid::COMMONNAME).into_iter().next(), certificate_serial: serial })
}

/// OpenSSL's error queue in one line, for the person who uploaded the signature.
fn describe(e: &openssl::error::ErrorStack) -> String {
    let reasons: Vec<String> = e
        .errors()
        .iter()
        .map(|x| match x.data() {
            Some(d) => format!("{} ({d})", x.reason().unwrap_or("unknown")),
            None => x.reason().unwrap_or("unknown").to_owned(),
        })
        .collect();
    if reasons.is_empty() {
        "verification failed".into()
    } else {
        reasons.join("; ")
    }
}
