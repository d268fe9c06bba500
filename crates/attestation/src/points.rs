//! BN254 points in the words the EVM precompiles read: G1 as `[x, y]`, G2 as `[x.c1, x.c0, y.c1, y.c0]`
//! (EIP-197: the imaginary part first), the point at infinity as all zeros. Decoding checks that every
//! word is a field element, that the point is on the curve and, for G2, in the prime-order subgroup.

use alloy::primitives::U256;
use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField, Zero};

use crate::AttestationError;

/// A G1 point as the precompiles read it.
pub type G1Words = [U256; 2];
/// A G2 point as the precompiles read it.
pub type G2Words = [U256; 4];

/// A field element as one big-endian word.
pub fn fq_word(value: Fq) -> U256 {
    U256::from_be_slice(&value.into_bigint().to_bytes_be())
}

fn word_fq(word: U256, group: &'static str) -> Result<Fq, AttestationError> {
    let modulus = U256::from_be_slice(&Fq::MODULUS.to_bytes_be());
    if word >= modulus {
        return Err(AttestationError::BadPoint {
            group,
            reason: format!("coordinate {word} is not below the field modulus"),
        });
    }
    Ok(Fq::from_be_bytes_mod_order(&word.to_be_bytes::<32>()))
}

/// The words of a G1 point.
pub fn g1_words(point: &G1Affine) -> G1Words {
    match point.xy() {
        Some((x, y)) => [fq_word(x), fq_word(y)],
        None => [U256::ZERO; 2],
    }
}

/// The words of a G2 point.
pub fn g2_words(point: &G2Affine) -> G2Words {
    match point.xy() {
        Some((x, y)) => [fq_word(x.c1), fq_word(x.c0), fq_word(y.c1), fq_word(y.c0)],
        None => [U256::ZERO; 4],
    }
}

/// A G1 point from its words, checked.
pub fn g1_from_words(words: &G1Words) -> Result<G1Affine, AttestationError> {
    let (x, y) = (word_fq(words[0], "G1")?, word_fq(words[1], "G1")?);
    if x.is_zero() && y.is_zero() {
        return Ok(G1Affine::identity());
    }
    let point = G1Affine::new_unchecked(x, y);
    if !point.is_on_curve() {
        return Err(AttestationError::BadPoint { group: "G1", reason: "not on the curve".into() });
    }
    // G1 of BN254 has cofactor 1: every curve point is in the group.
    Ok(point)
}

/// A G2 point from its words, checked (on the twist and in the r-torsion subgroup).
pub fn g2_from_words(words: &G2Words) -> Result<G2Affine, AttestationError> {
    let x = Fq2::new(word_fq(words[1], "G2")?, word_fq(words[0], "G2")?);
    let y = Fq2::new(word_fq(words[3], "G2")?, word_fq(words[2], "G2")?);
    if x.is_zero() && y.is_zero() {
        return Ok(G2Affine::identity());
    }
    let point = G2Affine::new_unchecked(x, y);
    if !point.is_on_curve() {
        return Err(AttestationError::BadPoint { group: "G2", reason: "not on the curve".into() });
    }
    if !point.is_in_correct_subgroup_assuming_on_curve() {
        return Err(AttestationError::BadPoint { group: "G2", reason: "not in the prime-order subgroup".into() });
    }
    Ok(point)
}
