// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title BN254
/// @notice BN254 (alt_bn128) arithmetic through the EVM precompiles (0x05 modexp, 0x06 add, 0x07 mul,
/// 0x08 pairing) and BLS verification as the Rust `triggerx-attestation` crate computes it: keys in G1
/// and G2, signatures in G1, messages hashed to G1 by try-and-increment, and one two-pair pairing
/// `e(sigma + gamma*apk1, -G2) * e(H(m) + gamma*G1, apk2) == 1` that checks the signature and that
/// the G2 key has the G1 key's discrete log. `hashToG1` comes in two forms giving the same point: one
/// that computes square roots with modexp (registration) and one that checks a submitter's hints
/// with mulmod only (every task settlement). G2 words are in EIP-197 order `[x.c1, x.c0, y.c1, y.c0]`.
library BN254 {
    uint256 internal constant P = 21888242871839275222246405745257275088696311157297823662689037894645226208583;
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev (P + 1) / 4: a square root is beta^SQRT_EXPONENT because P = 3 mod 4.
    uint256 private constant HALF_P = 0x183227397098d014dc2822db40c0ac2ecbc0b548b438e5469e10460b6c3e7ea3; // (P - 1) / 2
    uint256 private constant SQRT_EXPONENT = 0x0c19139cb84c680a6e14116da060561765e05aa45a1c72a34f082305b61f3f52;

    // -G2 (the generator negated), EIP-197 order.
    uint256 private constant NEG_G2_X1 = 11559732032986387107991004021392285783925812861821192530917403151452391805634;
    uint256 private constant NEG_G2_X0 = 10857046999023057135944570762232829481370756359578518086990519993285655852781;
    uint256 private constant NEG_G2_Y1 = 17805874995975841540914202342111839520379459829704422454583296818431106115052;
    uint256 private constant NEG_G2_Y0 = 13392588948715843804641432497768002650278120570034223513918757245338268106653;

    error PrecompileFailed(uint256 precompile);
    error BadHashHint();

    /// @notice p1 + p2 in G1.
    function add(uint256[2] memory p1, uint256[2] memory p2) internal view returns (uint256[2] memory r) {
        bool ok;
        assembly ("memory-safe") {
            let input := mload(0x40)
            mstore(input, mload(p1))
            mstore(add(input, 0x20), mload(add(p1, 0x20)))
            mstore(add(input, 0x40), mload(p2))
            mstore(add(input, 0x60), mload(add(p2, 0x20)))
            ok := staticcall(gas(), 0x06, input, 0x80, r, 0x40)
        }
        if (!ok) revert PrecompileFailed(6);
    }

    /// @notice s * p in G1.
    function mul(uint256[2] memory p, uint256 s) internal view returns (uint256[2] memory r) {
        bool ok;
        assembly ("memory-safe") {
            let input := mload(0x40)
            mstore(input, mload(p))
            mstore(add(input, 0x20), mload(add(p, 0x20)))
            mstore(add(input, 0x40), s)
            ok := staticcall(gas(), 0x07, input, 0x60, r, 0x40)
        }
        if (!ok) revert PrecompileFailed(7);
    }

    /// @notice -p in G1.
    function negate(uint256[2] memory p) internal pure returns (uint256[2] memory) {
        if (p[0] == 0 && p[1] == 0) return p;
        return [p[0], P - (p[1] % P)];
    }

    /// @notice The G1 point of a 32-byte message: x = m mod P, incremented until x^3 + 3 is a square;
    /// y is the smaller of its two square roots (y <= (P - 1) / 2). One modexp per try.
    function hashToG1(bytes32 message) internal view returns (uint256[2] memory) {
        uint256 x = uint256(message) % P;
        while (true) {
            uint256 beta = addmod(mulmod(mulmod(x, x, P), x, P), 3, P);
            uint256 y = _expMod(beta, SQRT_EXPONENT);
            if (mulmod(y, y, P) == beta) return [x, y > HALF_P ? P - y : y];
            x = addmod(x, 1, P);
        }
        revert(); // unreachable: the loop returns
    }

    /// @notice The same point as `hashToG1`, checked from hints instead of computed (no modexp): for
    /// each x that is skipped a square root of -(x^3 + 3) (which exists exactly when x^3 + 3 is not a
    /// square, since P = 3 mod 4 makes -1 a non-square), then the point's y. Reverts on a wrong hint.
    function hashToG1(bytes32 message, uint256[] calldata hints) internal pure returns (uint256[2] memory point) {
        bool ok;
        assembly ("memory-safe") {
            let p := P
            let count := hints.length
            let x := mod(message, p)
            ok := gt(count, 0)
            let last := sub(count, 1)
            for { let i := 0 } and(ok, lt(i, last)) { i := add(i, 1) } {
                let beta := addmod(mulmod(mulmod(x, x, p), x, p), 3, p)
                let z := calldataload(add(hints.offset, mul(i, 0x20)))
                ok := eq(mulmod(z, z, p), sub(p, beta))
                x := addmod(x, 1, p)
            }
            if ok {
                let y := calldataload(add(hints.offset, mul(last, 0x20)))
                ok := and(iszero(gt(y, HALF_P)), eq(mulmod(y, y, p), addmod(mulmod(mulmod(x, x, p), x, p), 3, p)))
                mstore(point, x)
                mstore(add(point, 0x20), y)
            }
        }
        if (!ok) revert BadHashHint();
    }

    /// @notice A square root of `beta` (meaningful only when `beta` is a square).
    function sqrt(uint256 beta) internal view returns (uint256) {
        return _expMod(beta, SQRT_EXPONENT);
    }

    /// @notice The hints `hashToG1(message, hints)` takes, computed with modexp (for tests and tools;
    /// the Rust crate computes the same).
    function hashHints(bytes32 message) internal view returns (uint256[] memory hints) {
        uint256 x = uint256(message) % P;
        uint256[] memory roots = new uint256[](64);
        uint256 n;
        while (true) {
            uint256 beta = addmod(mulmod(mulmod(x, x, P), x, P), 3, P);
            uint256 y = _expMod(beta, SQRT_EXPONENT);
            if (mulmod(y, y, P) == beta) {
                roots[n++] = y > HALF_P ? P - y : y;
                break;
            }
            roots[n++] = _expMod(P - beta, SQRT_EXPONENT);
            x = addmod(x, 1, P);
        }
        hints = new uint256[](n);
        for (uint256 i = 0; i < n; i++) hints[i] = roots[i];
    }

    /// @notice Whether `sigma` is a signature over `message` by the key whose G1 part is `apk1` and G2
    /// part `apk2` (aggregates included). Reverts only if a precompile refuses its input (a word not a
    /// field element, a point not on the curve).
    function verify(bytes32 message, uint256[2] calldata apk1, uint256[4] calldata apk2, uint256[2] calldata sigma)
        internal
        view
        returns (bool)
    {
        return verifyAt(message, hashToG1(message), apk1, apk2, sigma);
    }

    /// @notice `verify` with the message's point `h` already computed (`hashToG1`). In assembly: gamma,
    /// the two multiplications, the two additions and the pairing share one scratch area, so the
    /// check spends little besides the precompiles (it runs on every settlement).
    function verifyAt(
        bytes32 message,
        uint256[2] memory h,
        uint256[2] memory apk1,
        uint256[4] calldata apk2,
        uint256[2] calldata sigma
    ) internal view returns (bool result) {
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            // gamma = keccak256(message, apk1, apk2, sigma) mod R
            mstore(m, message)
            mstore(add(m, 0x20), mload(apk1))
            mstore(add(m, 0x40), mload(add(apk1, 0x20)))
            calldatacopy(add(m, 0x60), apk2, 0x80)
            calldatacopy(add(m, 0xe0), sigma, 0x40)
            let gamma := mod(keccak256(m, 0x120), R)
            // The pairing input at p: left (2 words), -G2 (4), right (2), apk2 (4).
            let p := add(m, 0x120)
            // left = sigma + gamma * apk1
            mstore(p, mload(apk1))
            mstore(add(p, 0x20), mload(add(apk1, 0x20)))
            mstore(add(p, 0x40), gamma)
            ok := staticcall(gas(), 0x07, p, 0x60, p, 0x40)
            calldatacopy(add(p, 0x40), sigma, 0x40)
            ok := and(ok, staticcall(gas(), 0x06, p, 0x80, p, 0x40))
            // right = h + gamma * G1
            let r := add(p, 0xc0)
            mstore(r, 1)
            mstore(add(r, 0x20), 2)
            mstore(add(r, 0x40), gamma)
            ok := and(ok, staticcall(gas(), 0x07, r, 0x60, r, 0x40))
            mstore(add(r, 0x40), mload(h))
            mstore(add(r, 0x60), mload(add(h, 0x20)))
            ok := and(ok, staticcall(gas(), 0x06, r, 0x80, r, 0x40))
            mstore(add(p, 0x40), NEG_G2_X1)
            mstore(add(p, 0x60), NEG_G2_X0)
            mstore(add(p, 0x80), NEG_G2_Y1)
            mstore(add(p, 0xa0), NEG_G2_Y0)
            calldatacopy(add(p, 0x100), apk2, 0x80)
            ok := and(ok, staticcall(gas(), 0x08, p, 0x180, p, 0x20))
            result := eq(mload(p), 1)
        }
        if (!ok) revert PrecompileFailed(8);
    }

    function _expMod(uint256 base, uint256 exponent) private view returns (uint256 result) {
        bool ok;
        assembly ("memory-safe") {
            let input := mload(0x40)
            mstore(input, 0x20)
            mstore(add(input, 0x20), 0x20)
            mstore(add(input, 0x40), 0x20)
            mstore(add(input, 0x60), base)
            mstore(add(input, 0x80), exponent)
            mstore(add(input, 0xa0), P)
            ok := staticcall(gas(), 0x05, input, 0xc0, input, 0x20)
            result := mload(input)
        }
        if (!ok) revert PrecompileFailed(5);
    }
}
