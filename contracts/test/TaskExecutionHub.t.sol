// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./Fixture.sol";
import {TaskExecutionHub} from "../src/TaskExecutionHub.sol";
import {TriggerGasRegistry} from "../src/TriggerGasRegistry.sol";
import {Counter} from "../src/Counter.sol";

/// @notice A target that tries to re-enter the hub.
contract Reenterer {
    TaskExecutionHub internal hub;
    uint256 internal jobId;

    constructor(TaskExecutionHub hub_) {
        hub = hub_;
    }

    function arm(uint256 jobId_) external {
        jobId = jobId_;
    }

    function attack() external {
        hub.executeFunction(jobId, 0, address(this), abi.encodeCall(this.attack, ()));
    }
}

contract TaskExecutionHubTest is Fixture {
    event FunctionExecuted(uint256 indexed jobId, address indexed keeper, address indexed target, bool success, uint256 amount, bytes returnData);

    function fund(uint256 amount) internal {
        vm.prank(user);
        gas.depositETH{value: amount}(amount);
    }

    function test_keeper_executes_and_owner_pays() public {
        uint256 jobId = timeJob(60);
        fund(1 ether);
        vm.expectEmit(true, true, true, true);
        emit FunctionExecuted(jobId, keeper, address(counter), true, 0.01 ether, "");
        vm.prank(keeper);
        bool ok = hub.executeFunction(jobId, 0.01 ether, address(counter), abi.encodeCall(Counter.incrementBy, (5)));
        assertTrue(ok, "call succeeded");
        assertEq(counter.number(), 5, "target state changed");
        assertEq(counter.lastCaller(), address(hub), "the hub is msg.sender");
        assertEq(gas.balances(user), 0.99 ether, "owner charged");
    }

    function test_failing_target_is_recorded_as_failed() public {
        uint256 jobId = timeJob(60);
        fund(1 ether);
        vm.expectEmit(true, true, true, true);
        emit FunctionExecuted(jobId, keeper, address(counter), false, 0.01 ether, abi.encodeWithSelector(Counter.AlwaysFails.selector, 42));
        vm.prank(keeper);
        bool ok = hub.executeFunction(jobId, 0.01 ether, address(counter), abi.encodeCall(Counter.fail, ()));
        assertTrue(!ok, "reported as failed");
        assertEq(gas.balances(user), 0.99 ether, "the keeper's gas is still paid");
    }

    function test_reverts() public {
        uint256 jobId = timeJob(60);
        fund(0.005 ether);
        bytes memory call = abi.encodeCall(Counter.increment, ());
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(TaskExecutionHub.NotKeeper.selector, stranger));
        hub.executeFunction(jobId, 0, address(counter), call);
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(TriggerGasRegistry.InsufficientBalance.selector, user, 0.005 ether, 0.01 ether));
        hub.executeFunction(jobId, 0.01 ether, address(counter), call);
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(TaskExecutionHub.JobNotActive.selector, 999));
        hub.executeFunction(999, 0, address(counter), call);
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(TaskExecutionHub.ForbiddenTarget.selector, address(gas)));
        hub.executeFunction(jobId, 0, address(gas), abi.encodeCall(TriggerGasRegistry.deductETHBalance, (user, 1)));
        vm.prank(user);
        jobs.deleteJob(jobId);
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(TaskExecutionHub.JobNotActive.selector, jobId));
        hub.executeFunction(jobId, 0, address(counter), call);
        assertEq(counter.number(), 0, "nothing executed");
    }

    function test_keeper_set_changes_by_admin_only() public {
        address[] memory list = new address[](1);
        list[0] = keeper;
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(TaskExecutionHub.NotAdmin.selector, stranger));
        hub.updateKeepers(new address[](0), list);
        vm.prank(admin);
        hub.updateKeepers(new address[](0), list);
        assertTrue(!hub.isKeeper(keeper), "removed");
        assertEq(hub.keeperCount(), 0, "count");
        uint256 jobId = timeJob(60);
        vm.prank(keeper);
        vm.expectRevert(abi.encodeWithSelector(TaskExecutionHub.NotKeeper.selector, keeper));
        hub.executeFunction(jobId, 0, address(counter), abi.encodeCall(Counter.increment, ()));
    }

    function test_reentry_is_blocked() public {
        Reenterer attacker = new Reenterer(hub);
        address[] memory list = new address[](1);
        list[0] = address(attacker);
        vm.prank(admin);
        hub.updateKeepers(list, new address[](0));
        uint256 jobId = timeJob(60);
        attacker.arm(jobId);
        vm.prank(keeper);
        bool ok = hub.executeFunction(jobId, 0, address(attacker), abi.encodeCall(Reenterer.attack, ()));
        assertTrue(!ok, "the re-entering call failed");
    }
}
