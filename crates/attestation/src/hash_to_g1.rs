//! Hashing a 32-byte message to G1 by try-and-increment, exactly as `BN254.hashToG1` in Solidity does
//! (and EigenLayer's library before it): `x = m mod p`; while `x³ + 3` is not a square, `x += 1`;
//! `y = (x³ + 3)^((p + 1) / 4)` (p ≡ 3 mod 4, so this is a square root), negated if it is the larger
//! of the two roots, so the point is unique and a contract can check it from hints (`hash_hints`)
//! with `mulmod` alone. It is chosen over the constant-time maps of RFC 9380 because the contract
//! must reach the identical point cheaply: checking the hints costs a few hundred gas per try (two
//! tries expected), where computing the roots costs a `modexp` each (about 4,000 gas since Osaka's
//! EIP-7883) and a Solidity SvdW map tens of thousands. Its running time depends on the message, which
//! is public here, so the timing side channel that rules it out for secret inputs does not apply. The
//! point it gives is not uniform over G1 (about half the x values are skipped), which does not weaken
//! BLS in the random-oracle sense needed here: the signer cannot steer the message, it is a hash.

use alloy::primitives::{B256, U256};
use ark_bn254::{Fq, G1Affine};
use ark_ff::{BigInteger, Field, One, PrimeField};

use crate::points::fq_word;

/// `(p + 1) / 4` for the BN254 base field.
fn sqrt_exponent() -> <Fq as PrimeField>::BigInt {
    let mut exponent = Fq::MODULUS;
    exponent.add_with_carry(&<Fq as PrimeField>::BigInt::from(1u64));
    exponent.div2();
    exponent.div2();
    exponent
}

/// The G1 point of `message`: the first `x` from `m mod p` up whose `x³ + 3` is a square, with the
/// smaller of its two roots as `y`.
pub fn hash_to_g1(message: B256) -> G1Affine {
    hash_with_hints(message).0
}

/// The hints `BN254.hashToG1(message, hints)` checks instead of computing square roots: a root of
/// `-(x³ + 3)` for each skipped `x` (the proof that `x³ + 3` is not a square), then the point's `y`.
pub fn hash_hints(message: B256) -> Vec<U256> {
    hash_with_hints(message).1
}

fn hash_with_hints(message: B256) -> (G1Affine, Vec<U256>) {
    let exponent = sqrt_exponent();
    let half = Fq::MODULUS_MINUS_ONE_DIV_TWO;
    let mut x = Fq::from_be_bytes_mod_order(message.as_slice());
    let mut hints = Vec::new();
    loop {
        let beta = x * x * x + Fq::from(3u64);
        let y = beta.pow(exponent);
        if y.square() == beta {
            let y = if y.into_bigint() > half { -y } else { y };
            hints.push(fq_word(y));
            return (G1Affine::new_unchecked(x, y), hints);
        }
        hints.push(fq_word((-beta).pow(exponent)));
        x += Fq::one();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use alloy::primitives::keccak256;

    #[test]
    fn the_exponent_is_the_one_the_contract_uses() {
        let words = crate::points::fq_word(Fq::from_bigint(sqrt_exponent()).unwrap());
        assert_eq!(
            words,
            "0x0c19139cb84c680a6e14116da060561765e05aa45a1c72a34f082305b61f3f52".parse::<U256>().unwrap()
        );
    }

    #[test]
    fn hashed_points_are_on_the_curve_and_differ_per_message() {
        let a = hash_to_g1(keccak256(b"a"));
        let b = hash_to_g1(keccak256(b"b"));
        assert!(a.is_on_curve() && b.is_on_curve());
        assert_ne!(a, b);
        assert_eq!(a, hash_to_g1(keccak256(b"a")));
    }
}
