// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {JobRegistry} from "../src/JobRegistry.sol";
import {TriggerGasRegistry} from "../src/TriggerGasRegistry.sol";
import {TaskExecutionHub} from "../src/TaskExecutionHub.sol";
import {Counter} from "../src/Counter.sol";

/// @notice The contracts of one chain deployed as `triggerx devnet` deploys them, with one user and one keeper.
abstract contract Fixture is Test {
    address internal admin = address(0xA11CE);
    address internal user = address(0xB0B);
    address internal keeper = address(0xC0FFEE);
    address internal stranger = address(0xBAD);
    uint256 internal dispatcherKey = 0xD15;
    address internal dispatcher;

    JobRegistry internal jobs;
    TriggerGasRegistry internal gas;
    TaskExecutionHub internal hub;
    Counter internal counter;

    function setUp() public virtual {
        jobs = new JobRegistry(admin);
        gas = new TriggerGasRegistry(admin, admin);
        hub = new TaskExecutionHub(admin, address(jobs), address(gas));
        vm.prank(admin);
        gas.setOperator(address(hub));
        address[] memory added = new address[](1);
        added[0] = keeper;
        vm.prank(admin);
        hub.updateKeepers(added, new address[](0));
        dispatcher = vm.addr(dispatcherKey);
        vm.prank(admin);
        hub.setDispatcher(dispatcher, true);
        counter = new Counter();
        vm.deal(user, 10 ether);
    }

    function timeJob(uint256 interval) internal returns (uint256 jobId) {
        vm.prank(user);
        jobId = jobs.createJob("poke", 1, 3600, address(counter), abi.encode(interval));
    }
}
