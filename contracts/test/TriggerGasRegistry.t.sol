// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./Fixture.sol";
import {TriggerGasRegistry} from "../src/TriggerGasRegistry.sol";

contract TriggerGasRegistryTest is Fixture {
    function test_deposit_withdraw_and_operator_deduction() public {
        vm.prank(user);
        gas.depositETH{value: 1 ether}(1 ether);
        assertEq(gas.getBalance(user), 1 ether, "deposited");
        vm.prank(user);
        gas.withdrawETHBalance(0.25 ether);
        assertEq(gas.balances(user), 0.75 ether, "withdrawn");
        assertEq(user.balance, 9.25 ether, "ether returned");
        vm.prank(address(hub));
        gas.deductETHBalance(user, 0.5 ether);
        assertEq(gas.balances(user), 0.25 ether, "deducted");
        assertEq(gas.totalDeductedBalance(), 0.5 ether, "accrued");
        vm.prank(admin);
        gas.withdrawETH(0.5 ether, "keeper payouts");
        assertEq(admin.balance, 0.5 ether, "paid out");
    }

    function test_reverts() public {
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(TriggerGasRegistry.AmountMismatch.selector, 1 ether, 0.5 ether));
        gas.depositETH{value: 0.5 ether}(1 ether);
        vm.prank(user);
        gas.depositETH{value: 0.1 ether}(0.1 ether);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(TriggerGasRegistry.NotOperator.selector, stranger));
        gas.deductETHBalance(user, 1);
        vm.prank(address(hub));
        vm.expectRevert(abi.encodeWithSelector(TriggerGasRegistry.InsufficientBalance.selector, user, 0.1 ether, 1 ether));
        gas.deductETHBalance(user, 1 ether);
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(TriggerGasRegistry.InsufficientBalance.selector, user, 0.1 ether, 1 ether));
        gas.withdrawETHBalance(1 ether);
        vm.prank(stranger);
        vm.expectRevert();
        gas.setOperator(stranger);
        vm.prank(admin);
        vm.expectRevert();
        gas.withdrawETH(1, "nothing deducted yet");
    }

    function test_settle_execution_pays_the_keeper_from_the_owners_balance() public {
        vm.prank(user);
        gas.depositETH{value: 1 ether}(1 ether);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(TriggerGasRegistry.NotOperator.selector, stranger));
        gas.settleExecution(user, 1, stranger);
        vm.prank(address(hub));
        gas.settleExecution(user, 0.2 ether, keeper);
        assertEq(gas.balances(user), 0.8 ether, "owner charged");
        assertEq(keeper.balance, 0.2 ether, "keeper paid");
        assertEq(gas.totalDeductedBalance(), 0, "nothing accrues to the registry");
        vm.prank(address(hub));
        vm.expectRevert(abi.encodeWithSelector(TriggerGasRegistry.InsufficientBalance.selector, user, 0.8 ether, 1 ether));
        gas.settleExecution(user, 1 ether, keeper);
        // A keeper that cannot take ETH with the stipend is not paid, and nothing is charged.
        vm.prank(address(hub));
        vm.expectRevert(TriggerGasRegistry.TransferFailed.selector);
        gas.settleExecution(user, 0.1 ether, address(this));
        assertEq(gas.balances(user), 0.8 ether, "unchanged");
    }
}
