// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {BN254} from "./BN254.sol";
import {Owned} from "./Owned.sol";
import {TaskIdMarks} from "./TaskIdMarks.sol";

/// @title AttestationCenter
/// @notice Settles each executed task on L2 by a BLS quorum of the keepers that did not perform it.
/// The operator set (id, G1 key, voting power) is mirrored from the L1 `KeeperRegistry` by the
/// registrar (this contract's owner), and every key is admitted only with the proof of possession it
/// was registered with on L1 (checked again here, so a compromised registrar cannot add a rogue key).
/// The contract keeps the sum of all G1 keys; a submission names the non-signers (the performer is
/// always one) with their G1 keys, so its cost grows with the non-signers, not the signers
/// (EigenLayer's stored-aggregate approach). A task is settled at most once: accepted
/// (`TaskSubmitted`) when the approving signers hold the quorum share of the voting power of every
/// operator but the performer, rejected (`TaskRejected`) when the rejecting ones do.
contract AttestationCenter is Owned {
    /// @notice One execution report, as the attesters signed it.
    struct Task {
        uint256 taskId; // the hub's task id: one settlement each
        uint256 performerId; // operator id of the keeper that executed it
        address performer; // its address (signed by the quorum with the id, so it is not looked up)
        bytes32 proofOfTask; // keccak256 of the canonical execution report
        bytes data; // the execution report (ABI-encoded, see the Rust `attestation::report`)
        uint16 taskDefinitionId;
    }

    /// @notice The aggregated attestation of one verdict.
    struct Quorum {
        bool approve;
        uint256[2] signature; // sum of the signers' G1 signatures over `attestationMessage`
        uint256[4] signersKeyG2; // sum of the signers' G2 keys
        uint256[] nonSignerIds; // strictly ascending; includes the performer
        uint256[2][] nonSignerKeys; // their G1 keys, same order
        uint256[] hashHints; // square roots that check hashToG1 of the message without modexp
        uint256 aggregateKeyY; // y of the stored aggregate G1 key (only its x and y's parity are stored)
    }

    bytes32 public constant ATTESTATION_TYPEHASH = keccak256(
        "Attestation(uint256 chainId,address center,uint256 taskId,uint256 performerId,address performer,bytes32 proofOfTask,bytes32 dataHash,uint16 taskDefinitionId,bool approve)"
    );
    bytes32 private constant REGISTRATION_TAG = keccak256("TriggerX keeper registration");

    /// @notice The L1 chain and registry the proofs of possession name.
    uint256 public immutable registryChainId;
    address public immutable registry;

    /// @dev Per operator id: voting power (high 96 bits) and the low 160 bits of keccak256(G1 key).
    mapping(uint256 => uint256) private _operators;
    mapping(uint256 => address) public operatorAddress;
    /// @dev x of the sum of every operator's G1 key (its y's parity is in `_totals`): one slot read
    /// per submission instead of two, the submitter giving y.
    uint256 private _aggregateKeyX;
    /// @dev What every submission reads, in one slot.
    struct Totals {
        uint96 votingPower;
        uint32 operators;
        uint32 taskNumber;
        uint16 quorumNumerator;
        uint16 quorumDenominator;
        bool aggregateKeyYOdd;
    }

    Totals private _totals = Totals(0, 0, 0, 2, 3, false);
    /// @dev Settled task ids, 256 to a word.
    mapping(uint256 => uint256) private _settledWords;

    event OperatorAdded(uint256 indexed operatorId, address indexed operator, uint256[2] keyG1, uint256 votingPower);
    event OperatorRemoved(uint256 indexed operatorId, address indexed operator);
    event QuorumChanged(uint256 numerator, uint256 denominator);
    /// @notice A task accepted by a quorum (its non-signers and signature are in the transaction's
    /// input, which the registrar reads; keeping them out of the event saves gas per non-signer).
    event TaskSubmitted(
        address operator, uint32 taskNumber, bytes32 proofOfTask, bytes data, uint16 taskDefinitionId, uint256 indexed taskId
    );
    /// @notice A task rejected by a quorum.
    event TaskRejected(
        address operator, uint32 taskNumber, bytes32 proofOfTask, bytes data, uint16 taskDefinitionId, uint256 indexed taskId
    );

    error AlreadyOperator(uint256 operatorId);
    error UnknownOperator(uint256 operatorId);
    error BadProofOfPossession(uint256 operatorId);
    error InvalidOperator();
    error InvalidQuorum();
    error AlreadySettled(uint256 taskId);
    error NonSignersNotAscending(uint256 operatorId);
    error NonSignerKeyMismatch(uint256 operatorId);
    error PerformerNotExcluded(uint256 performerId);
    error QuorumNotReached(uint256 signedPower, uint256 eligiblePower);
    error BadSignature();
    error BadAggregateKeyHint();

    constructor(address registrar, uint256 registryChainId_, address registry_) Owned(registrar) {
        registryChainId = registryChainId_;
        registry = registry_;
    }

    /// @notice Adds an operator registered on L1, with the proof of possession it registered with.
    function addOperator(
        uint256 operatorId,
        address operator,
        uint256[2] calldata keyG1,
        uint256[4] calldata keyG2,
        uint256[2] calldata proof,
        uint96 power
    ) external onlyOwner {
        if (operatorId == 0 || operator == address(0) || power == 0) revert InvalidOperator();
        if (_operators[operatorId] != 0) revert AlreadyOperator(operatorId);
        bytes32 message = keccak256(abi.encode(REGISTRATION_TAG, registryChainId, registry, operator));
        if (!BN254.verify(message, keyG1, keyG2, proof)) revert BadProofOfPossession(operatorId);
        _operators[operatorId] = (uint256(power) << 160) | _keyHash(keyG1);
        operatorAddress[operatorId] = operator;
        _setAggregateKey(_totals.operators == 0 ? keyG1 : BN254.add(aggregateKey(), keyG1));
        _totals.votingPower += power;
        _totals.operators++;
        emit OperatorAdded(operatorId, operator, keyG1, power);
    }

    /// @notice Removes an operator (its G1 key is given again and checked against the stored hash).
    function removeOperator(uint256 operatorId, uint256[2] calldata keyG1) external onlyOwner {
        uint256 packed = _operators[operatorId];
        if (packed == 0) revert UnknownOperator(operatorId);
        if (uint160(packed) != _keyHash(keyG1)) revert NonSignerKeyMismatch(operatorId);
        _setAggregateKey(BN254.add(aggregateKey(), BN254.negate(keyG1)));
        _totals.votingPower -= uint96(packed >> 160);
        _totals.operators--;
        emit OperatorRemoved(operatorId, operatorAddress[operatorId]);
        delete _operators[operatorId];
        delete operatorAddress[operatorId];
    }

    /// @notice Sets the share of the eligible voting power a verdict needs (more than a half).
    function setQuorum(uint256 numerator, uint256 denominator) external onlyOwner {
        if (denominator == 0 || denominator > type(uint16).max || numerator > denominator || 2 * numerator <= denominator) {
            revert InvalidQuorum();
        }
        _totals.quorumNumerator = uint16(numerator);
        _totals.quorumDenominator = uint16(denominator);
        emit QuorumChanged(numerator, denominator);
    }

    /// @notice The sum of every operator's G1 key (`[0, 0]` when there is none).
    function aggregateKey() public view returns (uint256[2] memory key) {
        uint256 x = _aggregateKeyX;
        if (x == 0 && _totals.operators == 0) return key;
        uint256 y = BN254.sqrt(addmod(mulmod(mulmod(x, x, BN254.P), x, BN254.P), 3, BN254.P));
        if ((y & 1 == 1) != _totals.aggregateKeyYOdd) y = BN254.P - y;
        key = [x, y];
    }

    function _setAggregateKey(uint256[2] memory key) private {
        _aggregateKeyX = key[0];
        _totals.aggregateKeyYOdd = key[1] & 1 == 1;
    }

    /// @notice Sum of the operators' voting power.
    function totalVotingPower() external view returns (uint256) {
        return _totals.votingPower;
    }

    /// @notice Number of operators.
    function operatorCount() external view returns (uint256) {
        return _totals.operators;
    }

    /// @notice Number of the last settled task (tasks are numbered 1, 2, ... in settlement order).
    function taskNumber() external view returns (uint32) {
        return _totals.taskNumber;
    }

    /// @notice The share of the eligible voting power a verdict needs.
    function quorumShare() external view returns (uint256 numerator, uint256 denominator) {
        return (_totals.quorumNumerator, _totals.quorumDenominator);
    }

    /// @notice Voting power of an operator (0 when not one).
    function votingPower(uint256 operatorId) external view returns (uint256) {
        return _operators[operatorId] >> 160;
    }

    /// @notice Whether `taskId` was settled (accepted or rejected).
    function isSettled(uint256 taskId) external view returns (bool settled) {
        (settled,) = TaskIdMarks.verdictOf(_settledWords, taskId);
    }

    /// @notice The verdict on `taskId`: whether it is settled, and whether it was accepted (the hub on
    /// this chain releases an execution's fee by it).
    function verdictOf(uint256 taskId) external view returns (bool settled, bool accepted) {
        return TaskIdMarks.verdictOf(_settledWords, taskId);
    }

    /// @notice The message each attester signs for `task` and its verdict:
    /// `keccak256(abi.encode(ATTESTATION_TYPEHASH, chainid, this, taskId, performerId, performer,
    /// proofOfTask, keccak256(data), taskDefinitionId, approve))`.
    function attestationMessage(Task calldata task, bool approve) public view returns (bytes32 digest) {
        bytes calldata data = task.data;
        bytes32 typeHash = ATTESTATION_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, data.offset, data.length)
            let dataHash := keccak256(m, data.length)
            mstore(m, typeHash)
            mstore(add(m, 0x20), chainid())
            mstore(add(m, 0x40), address())
            mstore(add(m, 0x60), calldataload(task))
            mstore(add(m, 0x80), calldataload(add(task, 0x20)))
            mstore(add(m, 0xa0), and(calldataload(add(task, 0x40)), 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(m, 0xc0), calldataload(add(task, 0x60)))
            mstore(add(m, 0xe0), dataHash)
            mstore(add(m, 0x100), and(calldataload(add(task, 0xa0)), 0xffff))
            mstore(add(m, 0x120), iszero(iszero(approve)))
            digest := keccak256(m, 0x140)
        }
    }

    /// @notice Settles `task` with a quorum's aggregated verdict; anyone may submit it.
    function submitTask(Task calldata task, Quorum calldata quorum) external returns (uint32 number) {
        // One read of the packed totals (layout of `Totals`, lowest bits first).
        uint256 packedTotals;
        uint256 keyX = _aggregateKeyX;
        uint256 keyY = quorum.aggregateKeyY;
        bool keyOk;
        assembly ("memory-safe") {
            packedTotals := sload(_totals.slot)
            let p := 0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47
            keyOk :=
                and(
                    eq(and(keyY, 1), and(shr(192, packedTotals), 0xff)),
                    eq(mulmod(keyY, keyY, p), addmod(mulmod(mulmod(keyX, keyX, p), keyX, p), 3, p))
                )
        }
        if (!keyOk) revert BadAggregateKeyHint();
        uint256[2] memory signersKey = [keyX, keyY];
        uint256 totalPower = uint96(packedTotals);
        (uint256 signedPower, uint256 performerPower) = _subtractNonSigners(signersKey, quorum, task.performerId);
        signedPower = totalPower - signedPower;
        if (performerPower == 0) revert PerformerNotExcluded(task.performerId);
        uint256 eligible = totalPower - performerPower;
        uint256 numerator = uint16(packedTotals >> 160);
        uint256 denominator = uint16(packedTotals >> 176);
        if (signedPower == 0 || signedPower * denominator < eligible * numerator) {
            revert QuorumNotReached(signedPower, eligible);
        }
        bytes32 message = attestationMessage(task, quorum.approve);
        uint256[2] memory point = BN254.hashToG1(message, quorum.hashHints);
        if (!BN254.verifyAt(message, point, signersKey, quorum.signersKeyG2, quorum.signature)) revert BadSignature();
        if (!TaskIdMarks.markVerdict(_settledWords, task.taskId, quorum.approve)) revert AlreadySettled(task.taskId);
        number = uint32(packedTotals >> 128) + 1;
        uint256 counted = number;
        assembly ("memory-safe") {
            sstore(_totals.slot, or(and(packedTotals, not(shl(128, 0xffffffff))), shl(128, counted)))
        }
        _emitVerdict(task, quorum.approve, counted);
    }

    /// @dev Emits `TaskSubmitted` or `TaskRejected` (the same fields), encoded by hand: the event is
    /// on every settlement and the generic encoder spends a few hundred gas more.
    function _emitVerdict(Task calldata task, bool approve, uint256 counted) private {
        bytes32 topic = approve ? TaskSubmitted.selector : TaskRejected.selector;
        bytes calldata data = task.data;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, and(calldataload(add(task, 0x40)), 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(m, 0x20), counted)
            mstore(add(m, 0x40), calldataload(add(task, 0x60)))
            mstore(add(m, 0x60), 0xa0)
            mstore(add(m, 0x80), and(calldataload(add(task, 0xa0)), 0xffff))
            mstore(add(m, 0xa0), data.length)
            let padded := and(add(data.length, 31), not(31))
            mstore(add(add(m, 0xc0), sub(padded, 0x20)), 0) // zero the last word's padding
            calldatacopy(add(m, 0xc0), data.offset, data.length)
            log2(m, add(0xc0, padded), topic, calldataload(task))
        }
    }

    /// @dev Subtracts every non-signer's G1 key from `key` (in place) after checking it against the
    /// stored hash and that the ids ascend; returns the non-signers' voting power and the performer's.
    /// In assembly: the loop runs once per non-signer, and this keeps it to the storage read, one
    /// keccak and one ecAdd.
    function _subtractNonSigners(uint256[2] memory key, Quorum calldata quorum, uint256 performerId)
        private
        view
        returns (uint256 absentPower, uint256 performerPower)
    {
        uint256[] calldata ids = quorum.nonSignerIds;
        uint256[2][] calldata keys = quorum.nonSignerKeys;
        if (keys.length != ids.length) revert NonSignerKeyMismatch(0);
        uint256 failedId;
        uint256 failure; // 0 none, 1 not ascending, 2 key mismatch, 3 precompile
        assembly ("memory-safe") {
            let scratch := mload(0x40)
            mstore(scratch, mload(key))
            mstore(add(scratch, 0x20), mload(add(key, 0x20)))
            let previous := 0
            for { let i := 0 } lt(i, ids.length) { i := add(i, 1) } {
                let id := calldataload(add(ids.offset, mul(i, 0x20)))
                if iszero(gt(id, previous)) {
                    failure := 1
                    failedId := id
                    break
                }
                previous := id
                mstore(0x00, id)
                mstore(0x20, _operators.slot)
                let packed := sload(keccak256(0x00, 0x40))
                let keyAt := add(keys.offset, mul(i, 0x40))
                calldatacopy(add(scratch, 0x40), keyAt, 0x40)
                let hash := and(keccak256(add(scratch, 0x40), 0x40), 0xffffffffffffffffffffffffffffffffffffffff)
                if or(iszero(packed), iszero(eq(and(packed, 0xffffffffffffffffffffffffffffffffffffffff), hash))) {
                    failure := 2
                    failedId := id
                    break
                }
                // key -= nonSigner: add (x, P - y); a key's y is below P (it hashed to a stored key).
                let y := mload(add(scratch, 0x60))
                if y { mstore(add(scratch, 0x60), sub(0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47, y)) }
                if iszero(staticcall(gas(), 0x06, scratch, 0x80, scratch, 0x40)) {
                    failure := 3
                    failedId := id
                    break
                }
                let power := shr(160, packed)
                absentPower := add(absentPower, power)
                if eq(id, performerId) { performerPower := power }
            }
            mstore(key, mload(scratch))
            mstore(add(key, 0x20), mload(add(scratch, 0x20)))
        }
        if (failure == 1) revert NonSignersNotAscending(failedId);
        if (failure == 2) revert NonSignerKeyMismatch(failedId);
        if (failure == 3) revert BN254.PrecompileFailed(6);
    }


    function _keyHash(uint256[2] memory key) private pure returns (uint256) {
        return uint160(uint256(keccak256(abi.encodePacked(key[0], key[1]))));
    }
}
