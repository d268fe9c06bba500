// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {KeeperRegistry} from "../src/KeeperRegistry.sol";

contract KeeperRegistryTest is Test {
    KeeperRegistry internal registry;
    address internal admin = address(0xA11CE);
    address internal operator = address(0x0E);
    address internal consensus = address(0xC0);
    uint256[4] internal blsKey = [uint256(1), 2, 3, 4];

    event OperatorRegistered(address indexed operator, uint256 indexed operatorId, address consensusAddress, uint256[4] blsPublicKey, uint256 votingPower);
    event OperatorUnregistered(address indexed operator, uint256 indexed operatorId);

    function setUp() public {
        registry = new KeeperRegistry(admin);
    }

    function whitelist(address who) internal {
        address[] memory list = new address[](1);
        list[0] = who;
        vm.prank(admin);
        registry.setWhitelist(list, true);
    }

    function test_whitelisted_operator_registers_and_unregisters() public {
        whitelist(operator);
        vm.expectEmit(true, true, true, true);
        emit OperatorRegistered(operator, 1, consensus, blsKey, 100);
        vm.prank(operator);
        registry.register(consensus, blsKey, 100);
        assertTrue(registry.isRegistered(operator), "registered");
        assertEq(registry.totalVotingPower(), 100, "power");
        assertEq(registry.getOperator(operator).consensusAddress, consensus, "consensus address");
        vm.expectEmit(true, true, true, true);
        emit OperatorUnregistered(operator, 1);
        vm.prank(operator);
        registry.unregister();
        assertEq(registry.operatorCount(), 0, "count");
        vm.prank(operator);
        registry.register(consensus, blsKey, 50);
        assertEq(registry.getOperator(operator).operatorId, 1, "keeps its operator id");
    }

    function test_reverts() public {
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(KeeperRegistry.NotWhitelisted.selector, operator));
        registry.register(consensus, blsKey, 100);
        whitelist(operator);
        uint256[4] memory empty;
        vm.prank(operator);
        vm.expectRevert(KeeperRegistry.InvalidRegistration.selector);
        registry.register(consensus, empty, 100);
        vm.prank(operator);
        vm.expectRevert(KeeperRegistry.InvalidRegistration.selector);
        registry.register(address(0), blsKey, 100);
        vm.prank(operator);
        registry.register(consensus, blsKey, 100);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(KeeperRegistry.AlreadyRegistered.selector, operator));
        registry.register(consensus, blsKey, 100);
        vm.prank(address(0xD00D));
        vm.expectRevert(abi.encodeWithSelector(KeeperRegistry.NotRegistered.selector, address(0xD00D)));
        registry.unregister();
        vm.prank(operator);
        vm.expectRevert();
        registry.setWhitelist(new address[](0), true);
    }
}
