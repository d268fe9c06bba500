// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {BlsVectors} from "./vectors/BlsVectors.sol";
import {BN254} from "../src/BN254.sol";
import {AttestationCenter} from "../src/AttestationCenter.sol";

/// @notice The AttestationCenter against keys, proofs and signatures computed by the Rust crate
/// (`BlsVectors`), signing in Solidity (sk * H(m) with the ecMul precompile) where a test needs a
/// message that depends on the deployment. Operator i has id i + 1; operator 0 is the performer.
contract AttestationCenterTest is Test {
    event log_named_uint(string key, uint256 val);
    event TaskSubmitted(
        address operator, uint32 taskNumber, bytes32 proofOfTask, bytes data, uint16 taskDefinitionId, uint256 indexed taskId
    );
    event TaskRejected(
        address operator, uint32 taskNumber, bytes32 proofOfTask, bytes data, uint16 taskDefinitionId, uint256 indexed taskId
    );

    address internal registrar = address(0xA11CE);
    AttestationCenter internal center;

    function setUp() public {
        center = new AttestationCenter(registrar, BlsVectors.REGISTRY_CHAIN_ID, BlsVectors.REGISTRY);
    }

    // --- vectors ---

    function _word(bytes memory data, uint256 index) internal pure returns (uint256 w) {
        assembly {
            w := mload(add(add(data, 32), mul(index, 32)))
        }
    }

    function _secret(uint256 i) internal pure returns (uint256) {
        return _word(BlsVectors.OPERATOR_WORDS, i * 9);
    }

    function _keyG1(uint256 i) internal pure returns (uint256[2] memory k) {
        bytes memory data = BlsVectors.OPERATOR_WORDS;
        k = [_word(data, i * 9 + 1), _word(data, i * 9 + 2)];
    }

    function _keyG2(uint256 i) internal pure returns (uint256[4] memory k) {
        bytes memory data = BlsVectors.OPERATOR_WORDS;
        k = [_word(data, i * 9 + 3), _word(data, i * 9 + 4), _word(data, i * 9 + 5), _word(data, i * 9 + 6)];
    }

    function _proof(uint256 i) internal pure returns (uint256[2] memory p) {
        bytes memory data = BlsVectors.OPERATOR_WORDS;
        p = [_word(data, i * 9 + 7), _word(data, i * 9 + 8)];
    }

    function _operator(uint256 i) internal pure returns (address) {
        return address(uint160(0x1000 + i));
    }

    /// @dev Sum of the G2 keys of operators from..to-1 (only the ranges the vectors hold).
    function _rangeKeyG2(uint256 from, uint256 to) internal pure returns (uint256[4] memory k) {
        bytes memory data = BlsVectors.RANGE_WORDS;
        for (uint256 r = 0; r * 6 < data.length / 32; r++) {
            if (_word(data, r * 6) == from && _word(data, r * 6 + 1) == to) {
                return [_word(data, r * 6 + 2), _word(data, r * 6 + 3), _word(data, r * 6 + 4), _word(data, r * 6 + 5)];
            }
        }
        revert("no such range in the vectors");
    }

    // --- helpers ---

    function _addOperators(uint256 n) internal {
        vm.startPrank(registrar);
        for (uint256 i = 0; i < n; i++) {
            center.addOperator(i + 1, _operator(i), _keyG1(i), _keyG2(i), _proof(i), 1);
        }
        vm.stopPrank();
    }

    function _task(uint256 taskId) internal pure returns (AttestationCenter.Task memory) {
        return AttestationCenter.Task({
            taskId: taskId,
            performerId: 1,
            performer: _operator(0),
            proofOfTask: keccak256(abi.encode("report", taskId)),
            data: abi.encode(taskId, uint256(7), bytes32(uint256(0xbeef))),
            taskDefinitionId: 1
        });
    }

    /// @dev The quorum of operators from..to-1 signing `task` with `approve`, in an n-operator set:
    /// every other operator is a non-signer.
    function _quorum(AttestationCenter.Task memory task, bool approve, uint256 n, uint256 from, uint256 to)
        internal
        view
        returns (AttestationCenter.Quorum memory q)
    {
        uint256[2] memory h = BN254.hashToG1(center.attestationMessage(task, approve));
        uint256[2] memory sigma = [uint256(0), uint256(0)];
        for (uint256 i = from; i < to; i++) {
            sigma = (i == from) ? BN254.mul(h, _secret(i)) : BN254.add(sigma, BN254.mul(h, _secret(i)));
        }
        uint256 nonSigners = n - (to - from);
        q.hashHints = BN254.hashHints(center.attestationMessage(task, approve));
        q.aggregateKeyY = center.aggregateKey()[1];
        q.approve = approve;
        q.signature = sigma;
        q.signersKeyG2 = _rangeKeyG2(from, to);
        q.nonSignerIds = new uint256[](nonSigners);
        q.nonSignerKeys = new uint256[2][](nonSigners);
        uint256 j;
        for (uint256 i = 0; i < n; i++) {
            if (i >= from && i < to) continue;
            q.nonSignerIds[j] = i + 1;
            q.nonSignerKeys[j] = _keyG1(i);
            j++;
        }
    }

    // --- the library against the Rust vectors ---

    function test_hash_to_g1_gives_the_rust_points() public view {
        bytes memory data = BlsVectors.HASH_WORDS;
        for (uint256 v = 0; v < data.length / 96; v++) {
            uint256[2] memory point = BN254.hashToG1(bytes32(_word(data, v * 3)));
            assertEq(point[0], _word(data, v * 3 + 1), "hashToG1 x");
            assertEq(point[1], _word(data, v * 3 + 2), "hashToG1 y");
        }
    }

    function test_a_rust_aggregate_signature_verifies_and_a_wrong_key_does_not() public view {
        uint256[2] memory sigma = [BlsVectors.SIGNATURE_X, BlsVectors.SIGNATURE_Y];
        uint256[2] memory apk = BN254.add(BN254.add(_keyG1(1), _keyG1(2)), _keyG1(3));
        assertTrue(this.verifyBls(BlsVectors.SIGNED_MESSAGE, apk, _rangeKeyG2(1, 4), sigma), "signers 1..3 verify");
        uint256[2] memory short = BN254.add(_keyG1(1), _keyG1(2));
        assertTrue(!this.verifyBls(BlsVectors.SIGNED_MESSAGE, short, _rangeKeyG2(1, 3), sigma), "signers 1..2 do not");
        assertTrue(!this.verifyBls(bytes32(uint256(1)), apk, _rangeKeyG2(1, 4), sigma), "another message does not");
        // A G2 key of other signers with the right G1 key: the binding by gamma refuses it.
        assertTrue(!this.verifyBls(BlsVectors.SIGNED_MESSAGE, apk, _rangeKeyG2(2, 4), sigma), "mismatched G2 key");
    }

    // --- the operator set ---

    function test_operators_need_their_proof_of_possession_and_the_registrar() public {
        vm.expectRevert(abi.encodeWithSignature("OwnableUnauthorizedAccount(address)", address(this)));
        center.addOperator(1, _operator(0), _keyG1(0), _keyG2(0), _proof(0), 1);
        vm.startPrank(registrar);
        // Operator 1's proof names operator 1's address: it does not admit the key for another address.
        vm.expectRevert(abi.encodeWithSelector(AttestationCenter.BadProofOfPossession.selector, 1));
        center.addOperator(1, _operator(1), _keyG1(0), _keyG2(0), _proof(0), 1);
        // Nor another key with that proof.
        vm.expectRevert(abi.encodeWithSelector(AttestationCenter.BadProofOfPossession.selector, 1));
        center.addOperator(1, _operator(0), _keyG1(1), _keyG2(1), _proof(0), 1);
        center.addOperator(1, _operator(0), _keyG1(0), _keyG2(0), _proof(0), 3);
        vm.expectRevert(abi.encodeWithSelector(AttestationCenter.AlreadyOperator.selector, 1));
        center.addOperator(1, _operator(0), _keyG1(0), _keyG2(0), _proof(0), 1);
        center.addOperator(2, _operator(1), _keyG1(1), _keyG2(1), _proof(1), 2);
        assertEq(center.totalVotingPower(), 5, "total voting power");
        uint256[2] memory sum = BN254.add(_keyG1(0), _keyG1(1));
        assertEq(center.aggregateKey()[0], sum[0], "aggregate x");
        assertEq(center.aggregateKey()[1], sum[1], "aggregate y");
        vm.expectRevert(abi.encodeWithSelector(AttestationCenter.NonSignerKeyMismatch.selector, 1));
        center.removeOperator(1, _keyG1(1));
        center.removeOperator(1, _keyG1(0));
        vm.stopPrank();
        assertEq(center.totalVotingPower(), 2, "after removal");
        assertEq(center.aggregateKey()[0], _keyG1(1)[0], "aggregate is the remaining key");
        assertEq(center.aggregateKey()[1], _keyG1(1)[1], "with its y");
        assertEq(center.operatorCount(), 1, "operator count");
    }

    // --- settlement ---

    function test_all_attesters_approving_settle_the_task_once() public {
        _addOperators(4);
        AttestationCenter.Task memory task = _task(11);
        AttestationCenter.Quorum memory q = _quorum(task, true, 4, 1, 4);
        vm.expectEmit(true, false, false, true);
        emit TaskSubmitted(_operator(0), 1, task.proofOfTask, task.data, 1, 11);
        uint32 number = center.submitTask(task, q);
        assertEq(number, 1, "task number");
        assertTrue(center.isSettled(11), "settled");
        vm.expectRevert(abi.encodeWithSelector(AttestationCenter.AlreadySettled.selector, 11));
        center.submitTask(task, q);
        // A rejection of the same task cannot follow either.
        AttestationCenter.Quorum memory reject = _quorum(task, false, 4, 1, 4);
        vm.expectRevert(abi.encodeWithSelector(AttestationCenter.AlreadySettled.selector, 11));
        center.submitTask(task, reject);
        assertEq(center.submitTask(_task(12), _quorum(_task(12), true, 4, 1, 4)), 2, "the next task number");
    }

    function test_one_offline_attester_does_not_block_a_verdict() public {
        _addOperators(4);
        AttestationCenter.Task memory task = _task(3);
        center.submitTask(task, _quorum(task, true, 4, 2, 4)); // operator 1 offline: 2 of 3
        AttestationCenter.Task memory bad = _task(4);
        AttestationCenter.Quorum memory q = _quorum(bad, false, 4, 2, 4); // a rejection by 2 of 3
        vm.expectEmit(true, false, false, true);
        emit TaskRejected(_operator(0), 2, bad.proofOfTask, bad.data, 1, 4);
        center.submitTask(bad, q);
        assertTrue(center.isSettled(3) && center.isSettled(4), "both settled");
        (bool settled, bool accepted) = center.verdictOf(3);
        assertTrue(settled && accepted, "3 accepted");
        (settled, accepted) = center.verdictOf(4);
        assertTrue(settled && !accepted, "4 rejected");
        (settled, accepted) = center.verdictOf(5);
        assertTrue(!settled && !accepted, "5 not settled");
    }

    function test_a_minority_reaches_no_verdict() public {
        _addOperators(4);
        AttestationCenter.Task memory task = _task(5);
        AttestationCenter.Quorum memory q = _quorum(task, true, 4, 3, 4); // one attester of three
        vm.expectRevert(abi.encodeWithSelector(AttestationCenter.QuorumNotReached.selector, 1, 3));
        center.submitTask(task, q);
        q = _quorum(task, false, 4, 3, 4);
        vm.expectRevert(abi.encodeWithSelector(AttestationCenter.QuorumNotReached.selector, 1, 3));
        center.submitTask(task, q);
    }

    function test_the_performer_cannot_attest_its_own_task() public {
        _addOperators(4);
        AttestationCenter.Task memory task = _task(6);
        AttestationCenter.Quorum memory q = _quorum(task, true, 4, 0, 4);
        vm.expectRevert(abi.encodeWithSelector(AttestationCenter.PerformerNotExcluded.selector, 1));
        center.submitTask(task, q);
    }

    function test_forged_quorums_are_refused() public {
        _addOperators(4);
        AttestationCenter.Task memory task = _task(7);
        // Signatures over "approve" presented as a rejection.
        AttestationCenter.Quorum memory q = _quorum(task, true, 4, 1, 4);
        q.approve = false;
        q.hashHints = BN254.hashHints(center.attestationMessage(task, false));
        vm.expectRevert(AttestationCenter.BadSignature.selector);
        center.submitTask(task, q);
        // Signed for other report data.
        q = _quorum(task, true, 4, 1, 4);
        AttestationCenter.Task memory altered = _task(7);
        altered.data = abi.encode(uint256(8));
        q.hashHints = BN254.hashHints(center.attestationMessage(altered, true));
        vm.expectRevert(AttestationCenter.BadSignature.selector);
        center.submitTask(altered, q);
        // Hints of another message.
        q = _quorum(task, true, 4, 1, 4);
        q.hashHints = BN254.hashHints(center.attestationMessage(task, false));
        vm.expectRevert(BN254.BadHashHint.selector);
        center.submitTask(task, q);
        // Operator 2 claimed as a signer but actually left out of the signature.
        q = _quorum(task, true, 4, 2, 4);
        q.nonSignerIds = new uint256[](1);
        q.nonSignerIds[0] = 1;
        q.nonSignerKeys = new uint256[2][](1);
        q.nonSignerKeys[0] = _keyG1(0);
        vm.expectRevert(AttestationCenter.BadSignature.selector);
        center.submitTask(task, q);
        // A non-signer given with another key, or listed twice.
        q = _quorum(task, true, 4, 2, 4);
        q.nonSignerKeys[1] = _keyG1(3);
        vm.expectRevert(abi.encodeWithSelector(AttestationCenter.NonSignerKeyMismatch.selector, 2));
        center.submitTask(task, q);
        q = _quorum(task, true, 4, 2, 4);
        q.nonSignerIds[1] = 1;
        vm.expectRevert(abi.encodeWithSelector(AttestationCenter.NonSignersNotAscending.selector, 1));
        center.submitTask(task, q);
        // The aggregate key's other y (its negation): refused before any pairing.
        q = _quorum(task, true, 4, 1, 4);
        q.aggregateKeyY = BN254.P - q.aggregateKeyY;
        vm.expectRevert(AttestationCenter.BadAggregateKeyHint.selector);
        center.submitTask(task, q);
        assertTrue(!center.isSettled(7), "nothing settled");
    }

    function test_hash_hints_give_the_modexp_point_and_wrong_ones_are_refused() public {
        bytes memory data = BlsVectors.HASH_WORDS;
        for (uint256 v = 0; v < data.length / 96; v++) {
            bytes32 message = bytes32(_word(data, v * 3));
            uint256[2] memory point = this.hintedHash(message, BN254.hashHints(message));
            assertEq(point[0], _word(data, v * 3 + 1), "hinted x");
            assertEq(point[1], _word(data, v * 3 + 2), "hinted y");
        }
        bytes32 m = bytes32(_word(data, 0));
        uint256[] memory hints = BN254.hashHints(m);
        uint256[] memory other = new uint256[](hints.length);
        for (uint256 i = 0; i < hints.length; i++) other[i] = hints[i];
        // The other root of the point (the larger one) is not the canonical point.
        other[hints.length - 1] = BN254.P - hints[hints.length - 1];
        vm.expectRevert(BN254.BadHashHint.selector);
        this.hintedHash(m, other);
        // Skipping past the canonical x (claiming its x^3 + 3 is no square) needs a root that does not exist.
        uint256[] memory longer = new uint256[](hints.length + 1);
        for (uint256 i = 0; i < hints.length; i++) longer[i] = hints[i];
        longer[hints.length] = hints[hints.length - 1];
        vm.expectRevert(BN254.BadHashHint.selector);
        this.hintedHash(m, longer);
        vm.expectRevert(BN254.BadHashHint.selector);
        this.hintedHash(m, new uint256[](0));
    }

    function verifyBls(bytes32 message, uint256[2] memory apk1, uint256[4] calldata apk2, uint256[2] calldata sigma)
        external
        view
        returns (bool)
    {
        return BN254.verifyAt(message, BN254.hashToG1(message), apk1, apk2, sigma);
    }

    function hintedHash(bytes32 message, uint256[] calldata hints) external pure returns (uint256[2] memory) {
        return BN254.hashToG1(message, hints);
    }

    function test_the_quorum_share_is_configurable_and_must_be_a_majority() public {
        _addOperators(4);
        vm.startPrank(registrar);
        vm.expectRevert(AttestationCenter.InvalidQuorum.selector);
        center.setQuorum(1, 2);
        center.setQuorum(1, 1);
        vm.stopPrank();
        AttestationCenter.Task memory task = _task(9);
        AttestationCenter.Quorum memory q = _quorum(task, true, 4, 2, 4);
        vm.expectRevert(abi.encodeWithSelector(AttestationCenter.QuorumNotReached.selector, 2, 3));
        center.submitTask(task, q);
        center.submitTask(task, _quorum(task, true, 4, 1, 4));
    }

    // --- gas (scripts/bench-attestation-gas.sh reads these lines) ---

    /// @dev Gas of one submission as the call spends it (the calldata built beforehand, so the test's
    /// own encoding is not counted; neither are the 21,000 intrinsic gas and the calldata price).
    /// The first settlement also pays for first writes of the task counter and the settled bitmap
    /// word. The later one runs in the same test transaction, so it finds every slot the first one
    /// read warm (about 2,100 gas less per slot than a real transaction pays): the figures of record
    /// are the receipts of `triggerx bench attestation-gas`.
    function _submitGas(AttestationCenter.Task memory task, AttestationCenter.Quorum memory q)
        internal
        returns (uint256 used)
    {
        bytes memory call = abi.encodeCall(AttestationCenter.submitTask, (task, q));
        uint256 before = gasleft();
        (bool ok,) = address(center).call(call);
        used = before - gasleft();
        assertTrue(ok, "submitted");
    }

    function _measure(uint256 n, uint256 from) internal {
        _addOperators(n);
        uint256 first = _submitGas(_task(100), _quorum(_task(100), true, n, from, n));
        uint256 later = _submitGas(_task(101), _quorum(_task(101), true, n, from, n));
        string memory label = string.concat("operators ", _toString(n), ", non-signers ", _toString(from));
        emit log_named_uint(string.concat("submitTask gas, first task: ", label), first);
        emit log_named_uint(string.concat("submitTask gas, later task: ", label), later);
    }


    function test_gas_4_all_sign() public { _measure(4, 1); }
    function test_gas_4_a_third_do_not_sign() public { _measure(4, 2); }
    function test_gas_16_all_sign() public { _measure(16, 1); }
    function test_gas_16_a_third_do_not_sign() public { _measure(16, 6); }
    function test_gas_64_all_sign() public { _measure(64, 1); }
    function test_gas_64_a_third_do_not_sign() public { _measure(64, 22); }
}
