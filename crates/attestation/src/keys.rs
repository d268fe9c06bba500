//! A keeper's BLS key on BN254: a secret scalar, and its public key in both groups (G1 for the
//! contract's cheap aggregate arithmetic, G2 for the pairing; the two are bound by the verification's
//! random linear combination, see `signature`).

use alloy::primitives::U256;
use ark_bn254::{Fr, G1Affine, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInteger, PrimeField, UniformRand, Zero};

use crate::AttestationError;
use crate::points::{G1Words, G2Words, g1_from_words, g1_words, g2_from_words, g2_words};

/// A BN254 secret key (a non-zero scalar below the group order).
#[derive(Clone)]
pub struct BlsSecretKey(pub(crate) Fr);

impl std::fmt::Debug for BlsSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlsSecretKey(public {:?})", self.public_key().g2_words())
    }
}

impl BlsSecretKey {
    /// A fresh random key.
    pub fn random() -> Self {
        let mut rng = rand::thread_rng();
        loop {
            let scalar = Fr::rand(&mut rng);
            if !scalar.is_zero() {
                return BlsSecretKey(scalar);
            }
        }
    }

    /// The key in 32 big-endian bytes; refuses zero and values at or above the group order.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AttestationError> {
        if bytes.len() != 32 {
            return Err(AttestationError::BadSecretKey(format!("{} bytes, expected 32", bytes.len())));
        }
        let value = U256::from_be_slice(bytes);
        let order = U256::from_be_slice(&Fr::MODULUS.to_bytes_be());
        if value.is_zero() || value >= order {
            return Err(AttestationError::BadSecretKey("not a scalar in 1..r-1 of BN254".into()));
        }
        Ok(BlsSecretKey(Fr::from_be_bytes_mod_order(bytes)))
    }

    /// The key from `0x`-prefixed (or bare) hex.
    pub fn from_hex(text: &str) -> Result<Self, AttestationError> {
        let bytes =
            alloy::hex::decode(text.trim()).map_err(|e| AttestationError::BadSecretKey(format!("not hex ({e})")))?;
        Self::from_bytes(&bytes)
    }

    /// The key in 32 big-endian bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        let bytes = self.0.into_bigint().to_bytes_be();
        out[32 - bytes.len()..].copy_from_slice(&bytes);
        out
    }

    /// The public key `sk·G1`, `sk·G2`.
    pub fn public_key(&self) -> BlsPublicKey {
        BlsPublicKey {
            g1: (G1Affine::generator() * self.0).into_affine(),
            g2: (G2Affine::generator() * self.0).into_affine(),
        }
    }
}

/// A public key in both groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlsPublicKey {
    /// `sk·G1`.
    pub g1: G1Affine,
    /// `sk·G2`.
    pub g2: G2Affine,
}

impl BlsPublicKey {
    /// The G1 key as `[x, y]`.
    pub fn g1_words(&self) -> G1Words {
        g1_words(&self.g1)
    }

    /// The G2 key as `[x.c1, x.c0, y.c1, y.c0]` (what `KeeperRegistry.register` takes).
    pub fn g2_words(&self) -> G2Words {
        g2_words(&self.g2)
    }

    /// A public key from its words, each point checked (the binding of the two is checked by a proof
    /// of possession, not here).
    pub fn from_words(g1: &G1Words, g2: &G2Words) -> Result<Self, AttestationError> {
        Ok(BlsPublicKey { g1: g1_from_words(g1)?, g2: g2_from_words(g2)? })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn key_one_gives_the_generators_of_eip_196_and_eip_197() {
        let mut bytes = [0u8; 32];
        bytes[31] = 1;
        let key = BlsSecretKey::from_bytes(&bytes).unwrap().public_key();
        let expected = [
            "11559732032986387107991004021392285783925812861821192530917403151452391805634",
            "10857046999023057135944570762232829481370756359578518086990519993285655852781",
            "4082367875863433681332203403145435568316851327593401208105741076214120093531",
            "8495653923123431417604973247489272438418190587263600148770280649306958101930",
        ]
        .map(|w| w.parse::<U256>().unwrap());
        assert_eq!(key.g2_words(), expected);
        assert_eq!(key.g1_words(), [U256::from(1), U256::from(2)]);
        assert_eq!(BlsPublicKey::from_words(&key.g1_words(), &key.g2_words()).unwrap(), key);
    }

    #[test]
    fn keys_round_trip_and_bad_scalars_and_points_are_refused() {
        let key = BlsSecretKey::random();
        let again = BlsSecretKey::from_bytes(&key.to_bytes()).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        assert!(BlsSecretKey::from_bytes(&[0u8; 32]).is_err());
        assert!(BlsSecretKey::from_bytes(&[0xffu8; 32]).is_err());
        assert!(BlsSecretKey::from_bytes(&[1u8; 31]).is_err());
        assert!(BlsSecretKey::from_hex("0xzz").is_err());
        let public = key.public_key();
        let mut off_curve = public.g1_words();
        off_curve[1] += U256::from(1);
        assert!(BlsPublicKey::from_words(&off_curve, &public.g2_words()).is_err());
        let mut off_twist = public.g2_words();
        off_twist[3] += U256::from(1);
        assert!(BlsPublicKey::from_words(&public.g1_words(), &off_twist).is_err());
        assert!(BlsPublicKey::from_words(&[U256::MAX, U256::ZERO], &public.g2_words()).is_err());
    }
}
