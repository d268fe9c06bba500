// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {BlsVectors} from "./vectors/BlsVectors.sol";
import {KeeperRegistry} from "../src/KeeperRegistry.sol";

/// @notice Registration with keys and proofs of possession computed by the Rust crate (`BlsVectors`):
/// operator i is address 0x1000 + i.
contract KeeperRegistryTest is Test {
    KeeperRegistry internal registry;
    address internal admin = address(0xA11CE);
    address internal consensus = address(0xC0);

    event OperatorRegistered(
        address indexed operator,
        uint256 indexed operatorId,
        address consensusAddress,
        uint256[4] blsPublicKey,
        uint256 votingPower,
        uint256[2] blsKeyG1,
        uint256[2] proofOfPossession
    );
    event OperatorUnregistered(address indexed operator, uint256 indexed operatorId);

    function setUp() public {
        registry = new KeeperRegistry(admin);
        assertEq(address(registry), BlsVectors.TEST_REGISTRY, "the registry is where the vectors' proofs expect it");
    }

    function _word(bytes memory data, uint256 index) internal pure returns (uint256 w) {
        assembly {
            w := mload(add(add(data, 32), mul(index, 32)))
        }
    }

    function _operator(uint256 i) internal pure returns (address) {
        return address(uint160(0x1000 + i));
    }

    function _keyG1(uint256 i) internal pure returns (uint256[2] memory) {
        bytes memory data = BlsVectors.OPERATOR_WORDS;
        return [_word(data, i * 9 + 1), _word(data, i * 9 + 2)];
    }

    function _keyG2(uint256 i) internal pure returns (uint256[4] memory) {
        bytes memory data = BlsVectors.OPERATOR_WORDS;
        return [_word(data, i * 9 + 3), _word(data, i * 9 + 4), _word(data, i * 9 + 5), _word(data, i * 9 + 6)];
    }

    function _proof(uint256 i) internal pure returns (uint256[2] memory) {
        bytes memory data = BlsVectors.TEST_REGISTRY_PROOFS;
        return [_word(data, i * 2), _word(data, i * 2 + 1)];
    }

    function whitelist(address who) internal {
        address[] memory list = new address[](1);
        list[0] = who;
        vm.prank(admin);
        registry.setWhitelist(list, true);
    }

    function test_whitelisted_operator_registers_and_unregisters() public {
        address operator = _operator(0);
        whitelist(operator);
        vm.expectEmit(true, true, true, true);
        emit OperatorRegistered(operator, 1, consensus, _keyG2(0), 100, _keyG1(0), _proof(0));
        vm.prank(operator);
        registry.register(consensus, _keyG2(0), _keyG1(0), _proof(0), 100);
        assertTrue(registry.isRegistered(operator), "registered");
        assertEq(registry.totalVotingPower(), 100, "power");
        assertEq(registry.getOperator(operator).consensusAddress, consensus, "consensus address");
        assertEq(registry.getOperator(operator).blsKeyG1[0], _keyG1(0)[0], "G1 key kept");
        vm.expectEmit(true, true, true, true);
        emit OperatorUnregistered(operator, 1);
        vm.prank(operator);
        registry.unregister();
        assertEq(registry.operatorCount(), 0, "count");
        vm.prank(operator);
        registry.register(consensus, _keyG2(0), _keyG1(0), _proof(0), 50);
        assertEq(registry.getOperator(operator).operatorId, 1, "keeps its operator id");
    }

    function test_a_key_needs_its_own_proof_of_possession() public {
        address operator = _operator(1);
        whitelist(operator);
        vm.startPrank(operator);
        // Operator 0's proof: it names operator 0, so it does not register operator 1.
        vm.expectRevert(abi.encodeWithSelector(KeeperRegistry.BadProofOfPossession.selector, operator));
        registry.register(consensus, _keyG2(0), _keyG1(0), _proof(0), 100);
        // Operator 1's proof with another key (a G2 key not matching the G1 one, or both foreign).
        vm.expectRevert(abi.encodeWithSelector(KeeperRegistry.BadProofOfPossession.selector, operator));
        registry.register(consensus, _keyG2(2), _keyG1(1), _proof(1), 100);
        vm.expectRevert(abi.encodeWithSelector(KeeperRegistry.BadProofOfPossession.selector, operator));
        registry.register(consensus, _keyG2(2), _keyG1(2), _proof(1), 100);
        registry.register(consensus, _keyG2(1), _keyG1(1), _proof(1), 100);
        vm.stopPrank();
        assertTrue(registry.isRegistered(operator), "registered with its own proof");
    }

    function test_reverts() public {
        address operator = _operator(0);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(KeeperRegistry.NotWhitelisted.selector, operator));
        registry.register(consensus, _keyG2(0), _keyG1(0), _proof(0), 100);
        whitelist(operator);
        uint256[4] memory empty;
        vm.prank(operator);
        vm.expectRevert(KeeperRegistry.InvalidRegistration.selector);
        registry.register(consensus, empty, _keyG1(0), _proof(0), 100);
        vm.prank(operator);
        vm.expectRevert(KeeperRegistry.InvalidRegistration.selector);
        registry.register(address(0), _keyG2(0), _keyG1(0), _proof(0), 100);
        vm.prank(operator);
        vm.expectRevert(KeeperRegistry.InvalidRegistration.selector);
        registry.register(consensus, _keyG2(0), _keyG1(0), _proof(0), uint256(type(uint96).max) + 1);
        vm.prank(operator);
        registry.register(consensus, _keyG2(0), _keyG1(0), _proof(0), 100);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(KeeperRegistry.AlreadyRegistered.selector, operator));
        registry.register(consensus, _keyG2(0), _keyG1(0), _proof(0), 100);
        vm.prank(address(0xD00D));
        vm.expectRevert(abi.encodeWithSelector(KeeperRegistry.NotRegistered.selector, address(0xD00D)));
        registry.unregister();
        vm.prank(operator);
        vm.expectRevert();
        registry.setWhitelist(new address[](0), true);
    }
}
