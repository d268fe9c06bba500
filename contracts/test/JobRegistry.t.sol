// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./Fixture.sol";
import {JobRegistry} from "../src/JobRegistry.sol";

contract JobRegistryTest is Fixture {
    function test_createJob_packs_the_id_and_records_the_owner() public {
        vm.warp(1_800_000_000);
        uint256 jobId = timeJob(60);
        (uint256 chainId, uint256 timestamp, uint256 counterValue) = jobs.unpackJobId(jobId);
        assertEq(chainId, block.chainid, "chain id");
        assertEq(timestamp, 1_800_000_000, "timestamp");
        assertEq(counterValue, 1, "counter");
        assertEq(jobs.getJobOwner(jobId), user, "owner");
        assertTrue(jobs.isJobActive(jobId), "active");
        JobRegistry.Job memory job = jobs.getJob(jobId);
        assertEq(job.jobHash, keccak256(abi.encode("poke", uint8(1), uint256(3600), address(counter), abi.encode(uint256(60)))), "hash");
        assertEq(jobs.getJobByCounter(1).jobId, jobId, "by counter");
        assertEq(jobs.getJobCounter(), 1, "count");
        assertEq(jobs.getUserJobIds(user).length, 1, "user jobs");
    }

    function test_dynamic_and_event_jobs_validate_their_data() public {
        vm.startPrank(user);
        jobs.createJob("dyn", 2, 60, address(counter), abi.encode(uint256(10), bytes32(uint256(1))));
        jobs.createJob("event", 3, 60, address(counter), abi.encode(true));
        jobs.createJob("cond", 6, 60, address(counter), abi.encode(false, bytes32(uint256(7))));
        vm.expectRevert(JobRegistry.MissingIpfsHash.selector);
        jobs.createJob("dyn", 2, 60, address(counter), abi.encode(uint256(10)));
        vm.expectRevert(JobRegistry.MissingIpfsHash.selector);
        jobs.createJob("dyn", 4, 60, address(counter), abi.encode(true, bytes32(0)));
        vm.expectRevert(JobRegistry.MissingTimeInterval.selector);
        jobs.createJob("time", 1, 60, address(counter), abi.encode(uint256(0)));
        vm.expectRevert(JobRegistry.InvalidJobData.selector);
        jobs.createJob("event", 3, 60, address(counter), abi.encode(uint256(2)));
        vm.expectRevert(JobRegistry.InvalidJobData.selector);
        jobs.createJob("event", 3, 60, address(counter), hex"01");
        vm.expectRevert(JobRegistry.EmptyJobName.selector);
        jobs.createJob("", 1, 60, address(counter), abi.encode(uint256(1)));
        vm.expectRevert(JobRegistry.InvalidTargetContract.selector);
        jobs.createJob("x", 1, 60, address(0), abi.encode(uint256(1)));
        vm.expectRevert(JobRegistry.InvalidJobParameters.selector);
        jobs.createJob("x", 8, 60, address(counter), abi.encode(uint256(1)));
        vm.expectRevert(JobRegistry.InvalidJobParameters.selector);
        jobs.createJob("x", 1, 0, address(counter), abi.encode(uint256(1)));
        vm.stopPrank();
    }

    function test_only_the_owner_updates_and_deletes() public {
        uint256 jobId = timeJob(60);
        bytes memory oldData = abi.encode(uint256(60));
        bytes memory newData = abi.encode(uint256(120));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.UnauthorizedJobAccess.selector, jobId, stranger));
        jobs.updateJob(jobId, "poke", 1, 3600, address(counter), oldData, "poke2", 7200, newData);
        vm.prank(user);
        vm.expectRevert(JobRegistry.InvalidJobParameters.selector);
        jobs.updateJob(jobId, "wrong", 1, 3600, address(counter), oldData, "poke2", 7200, newData);
        vm.prank(user);
        jobs.updateJob(jobId, "poke", 1, 3600, address(counter), oldData, "poke2", 7200, newData);
        assertEq(jobs.getJob(jobId).jobHash, keccak256(abi.encode("poke2", uint8(1), uint256(7200), address(counter), newData)), "new hash");
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.UnauthorizedJobAccess.selector, jobId, stranger));
        jobs.deleteJob(jobId);
        vm.prank(user);
        jobs.deleteJob(jobId);
        assertTrue(!jobs.isJobActive(jobId), "inactive");
        assertEq(jobs.getUserActiveJobIds(user).length, 0, "no active jobs");
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.JobAlreadyInactive.selector, jobId));
        jobs.deleteJob(jobId);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.JobNotFound.selector, 12345));
        jobs.getJob(12345);
    }
}
