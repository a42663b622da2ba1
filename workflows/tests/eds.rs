#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or a measurement: a panic is the failure report
//! EDS verification against our own test PKI: a CA, signer certificates as the
//! Kazakh national PKI shapes them (SERIALNUMBER=IIN…, OU=BIN…), a CRL.

use chrono::{TimeZone, Utc};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::pkey::PKey;
use openssl::x509::X509;
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason,
    RevokedCertParams, SerialNumber,
};
use tanu_workflows::eds::{verify_detached, EdsError, Trust};
use tanu_workflows::Bin;

const BIN: &str = "123456789013"; // second check-digit pass (see ids.rs)
const IIN: &str = "900101300017";

struct Pki {
    ca: rcgen::Certificate,
    ca_key: KeyPair,
    dir: tempfile::TempDir,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec![]).unwrap();
    p.distinguished_name.push(DnType::CommonName, "Test national CA");
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = date_time_ymd(2025, 1, 1);
    p.not_after = date_time_ymd(2030, 1, 1);
    let ca = p.self_signed(&ca_key).unwrap();
    Pki { ca, ca_key, dir: tempfile::tempdir().unwrap() }
}

enum Alg {
    Rsa,
    Ecdsa,
}

struct Signer {
    cert_pem: String,
    key_pem: String,
}

fn signer(pki: &Pki, alg: Alg, serial: u64, bin: Option<&str>, until: (i32, u8, u8), usages: Vec<KeyUsagePurpose>) -> Signer {
    let key_pem = match alg {
        Alg::Rsa => String::from_utf8(PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap().private_key_to_pem_pkcs8().unwrap()).unwrap(),
        Alg::Ecdsa => KeyPair::generate().unwrap().serialize_pem(),
    };
    let key = KeyPair::from_pem(&key_pem).unwrap();
    let mut p = CertificateParams::new(vec![]).unwrap();
    p.distinguished_name.push(DnType::CommonName, "АЙГЕРИМ СЕЙТОВА");
    p.distinguished_name.push(DnType::CustomDnType(vec![2, 5, 4, 5]), format!("IIN{IIN}"));
    if let Some(b) = bin {
        p.distinguished_name.push(DnType::OrganizationalUnitName, format!("BIN{b}"));
    }
    p.serial_number = Some(SerialNumber::from(serial));
    p.use_authority_key_identifier_extension = true;
    p.key_usages = usages;
    p.not_before = date_time_ymd(2026, 1, 1);
    p.not_after = date_time_ymd(until.0, until.1, until.2);
    let cert = p.signed_by(&key, &pki.ca, &pki.ca_key).unwrap();
    Signer { cert_pem: cert.pem(), key_pem }
}

fn usages() -> Vec<KeyUsagePurpose> {
    vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment]
}

fn sign(s: &Signer, document: &[u8]) -> Vec<u8> {
    let cert = X509::from_pem(s.cert_pem.as_bytes()).unwrap();
    let key = PKey::private_key_from_pem(s.key_pem.as_bytes()).unwrap();
    CmsContentInfo::sign(Some(&cert), Some(&key), None, Some(document), CMSOptions::DETACHED | CMSOptions::BINARY).unwrap().to_der().unwrap()
}

fn crl(pki: &Pki, revoked: &[u64]) -> std::path::PathBuf {
    let params = CertificateRevocationListParams {
        this_update: date_time_ymd(2026, 1, 2),
        next_update: date_time_ymd(2029, 1, 1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from(*s),
                revocation_time: date_time_ymd(2026, 2, 1),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let pem = params.signed_by(&pki.ca, &pki.ca_key).unwrap().pem().unwrap();
    let path = pki.dir.path().join(format!("crl-{}.pem", revoked.len()));
    std::fs::write(&path, pem).unwrap();
    path
}

fn trust(pki: &Pki, revoked: &[u64]) -> Trust {
    Trust::new(pki.ca.pem().as_bytes(), vec![crl(pki, revoked)]).unwrap()
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

const ACT: &[u8] = b"Act of testing and commissioning\n1. Operator: ...\n";

#[test]
fn rsa_and_ecdsa_signatures_verify_and_name_the_signer() {
    let pki = pki();
    let bin: Bin = BIN.parse().unwrap();
    for (alg, serial) in [(Alg::Rsa, 11), (Alg::Ecdsa, 12)] {
        let s = signer(&pki, alg, serial, Some(BIN), (2027, 1, 1), usages());
        let got = verify_detached(ACT, &sign(&s, ACT), &trust(&pki, &[]), Some(&bin), now()).unwrap();
        assert_eq!(got.iin, IIN);
        assert_eq!(got.bin.as_deref(), Some(BIN));
        assert_eq!(got.common_name.as_deref(), Some("АЙГЕРИМ СЕЙТОВА"));
    }
}

#[test]
fn a_signature_over_other_bytes_fails() {
    let pki = pki();
    let s = signer(&pki, Alg::Rsa, 20, Some(BIN), (2027, 1, 1), usages());
    let sig = sign(&s, ACT);
    let mut changed = ACT.to_vec();
    changed[0] ^= 1;
    assert!(matches!(verify_detached(&changed, &sig, &trust(&pki, &[]), None, now()), Err(EdsError::Invalid(_))));
    assert!(matches!(verify_detached(ACT, b"garbage", &trust(&pki, &[]), None, now()), Err(EdsError::NotCms)));
}

#[test]
fn untrusted_revoked_expired_and_wrong_usage_fail() {
    let pki = pki();
    let other = pki_other();
    let s = signer(&pki, Alg::Ecdsa, 30, Some(BIN), (2027, 1, 1), usages());
    let sig = sign(&s, ACT);
    // Another CA's roots.
    let e = verify_detached(ACT, &sig, &trust(&other, &[]), None, now()).unwrap_err();
    assert!(e.to_string().contains("certificate"), "{e}");
    // Revoked in the CRL.
    let e = verify_detached(ACT, &sig, &trust(&pki, &[30]), None, now()).unwrap_err();
    assert!(e.to_string().contains("revoked"), "{e}");
    // Expired at the signing time; valid at an earlier one.
    let short = signer(&pki, Alg::Ecdsa, 31, Some(BIN), (2026, 6, 1), usages());
    let sig = sign(&short, ACT);
    let e = verify_detached(ACT, &sig, &trust(&pki, &[]), None, now()).unwrap_err();
    assert!(e.to_string().contains("expired"), "{e}");
    assert!(verify_detached(ACT, &sig, &trust(&pki, &[]), None, Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap()).is_ok());
    // A key for encryption only may not sign.
    let enc = signer(&pki, Alg::Rsa, 32, Some(BIN), (2027, 1, 1), vec![KeyUsagePurpose::KeyEncipherment]);
    let e = verify_detached(ACT, &sign(&enc, ACT), &trust(&pki, &[]), None, now()).unwrap_err();
    assert!(matches!(&e, EdsError::Invalid(m) if m.contains("purpose")), "{e}");
}

#[test]
fn the_signer_must_act_for_the_applicant() {
    let pki = pki();
    let bin: Bin = BIN.parse().unwrap();
    let personal = signer(&pki, Alg::Ecdsa, 40, None, (2027, 1, 1), usages());
    assert!(matches!(verify_detached(ACT, &sign(&personal, ACT), &trust(&pki, &[]), Some(&bin), now()), Err(EdsError::NoBin)));
    let other_org = signer(&pki, Alg::Ecdsa, 41, Some("100000000001"), (2027, 1, 1), usages());
    let e = verify_detached(ACT, &sign(&other_org, ACT), &trust(&pki, &[]), Some(&bin), now()).unwrap_err();
    assert!(matches!(e, EdsError::WrongBin { .. }), "{e}");
    // Without an expected BIN (the operator's approval), a personal certificate is fine.
    assert!(verify_detached(ACT, &sign(&personal, ACT), &trust(&pki, &[]), None, now()).is_ok());
}

fn pki_other() -> Pki {
    pki()
}
