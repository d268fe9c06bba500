//! The keeper's BLS key on BN254 (the curve of the EVM pairing precompiles): a secret scalar and its
//! G2 public key, in the word order `KeeperRegistry.register` and the precompiles use
//! (`[x.c1, x.c0, y.c1, y.c0]`).

use alloy::primitives::U256;
use ark_bn254::{Fq, Fr, G2Affine};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInteger, PrimeField, UniformRand, Zero};

use crate::KeeperError;

/// A BN254 secret key (a non-zero scalar below the group order).
#[derive(Clone)]
pub struct BlsSecretKey(Fr);

impl std::fmt::Debug for BlsSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlsSecretKey(public {:?})", self.public_key())
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
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeeperError> {
        if bytes.len() != 32 {
            return Err(KeeperError::Config(format!("BLS key: {} bytes, expected 32", bytes.len())));
        }
        let value = U256::from_be_slice(bytes);
        let order = U256::from_be_slice(&Fr::MODULUS.to_bytes_be());
        if value.is_zero() || value >= order {
            return Err(KeeperError::Config("BLS key: not a scalar in 1..r-1 of BN254".into()));
        }
        Ok(BlsSecretKey(Fr::from_be_bytes_mod_order(bytes)))
    }

    /// The key from `0x`-prefixed (or bare) hex.
    pub fn from_hex(text: &str) -> Result<Self, KeeperError> {
        let bytes =
            alloy::hex::decode(text.trim()).map_err(|e| KeeperError::Config(format!("BLS key: not hex ({e})")))?;
        Self::from_bytes(&bytes)
    }

    /// The key in 32 big-endian bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        let bytes = self.0.into_bigint().to_bytes_be();
        out[32 - bytes.len()..].copy_from_slice(&bytes);
        out
    }

    /// The G2 public key `sk x G2` as `[x.c1, x.c0, y.c1, y.c0]`.
    pub fn public_key(&self) -> [U256; 4] {
        let point = (G2Affine::generator() * self.0).into_affine();
        let (x, y) = point.xy().unwrap_or_default();
        [word(x.c1), word(x.c0), word(y.c1), word(y.c0)]
    }
}

fn word(value: Fq) -> U256 {
    U256::from_be_slice(&value.into_bigint().to_bytes_be())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn key_one_gives_the_g2_generator_of_eip_197() {
        let mut bytes = [0u8; 32];
        bytes[31] = 1;
        let key = BlsSecretKey::from_bytes(&bytes).unwrap();
        let expected = [
            "11559732032986387107991004021392285783925812861821192530917403151452391805634",
            "10857046999023057135944570762232829481370756359578518086990519993285655852781",
            "4082367875863433681332203403145435568316851327593401208105741076214120093531",
            "8495653923123431417604973247489272438418190587263600148770280649306958101930",
        ]
        .map(|w| w.parse::<U256>().unwrap());
        assert_eq!(key.public_key(), expected);
    }

    #[test]
    fn keys_round_trip_and_bad_scalars_are_refused() {
        let key = BlsSecretKey::random();
        let again = BlsSecretKey::from_bytes(&key.to_bytes()).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        assert!(BlsSecretKey::from_bytes(&[0u8; 32]).is_err());
        assert!(BlsSecretKey::from_bytes(&[0xffu8; 32]).is_err());
        assert!(BlsSecretKey::from_bytes(&[1u8; 31]).is_err());
        assert!(BlsSecretKey::from_hex("0xzz").is_err());
    }
}
