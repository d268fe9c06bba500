// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./Fixture.sol";
import {TaskExecutionHub} from "../src/TaskExecutionHub.sol";
import {TriggerGasRegistry} from "../src/TriggerGasRegistry.sol";
import {Counter} from "../src/Counter.sol";
import {GuardedCounter} from "../src/GuardedCounter.sol";
import {HubAware} from "../src/HubAware.sol";

/// @notice A target that tries to re-enter the hub with the assignment it was given.
contract Reenterer {
    TaskExecutionHub internal hub;
    TaskExecutionHub.Assignment internal assignment;
    bytes internal signature;

    constructor(TaskExecutionHub hub_) {
        hub = hub_;
    }

    function arm(TaskExecutionHub.Assignment memory assignment_, bytes memory signature_) external {
        assignment = assignment_;
        signature = signature_;
    }

    function attack() external {
        hub.executeFunction(assignment, abi.encodeCall(this.attack, ()), signature);
    }
}

/// @notice Targets that misbehave: a huge revert reason, and a call that burns all its gas.
contract Hostile {
    function bomb() external pure {
        bytes memory junk = new bytes(10_000);
        assembly {
            revert(add(junk, 32), mload(junk))
        }
    }

    function spin() external pure {
        while (true) {}
    }
}

contract TaskExecutionHubTest is Fixture {
    event FunctionExecuted(
        uint256 indexed taskId,
        uint256 indexed jobId,
        address indexed keeper,
        address target,
        bool success,
        uint256 amount,
        uint256 gasUsed,
        bytes returnData
    );

    address internal keeper2 = address(0xC0FFEE2);
    address internal user2 = address(0xB0B2);
    uint256 internal constant MAX_FEE = 0.01 ether;
    uint256 internal constant KEEPER_FEE = 0.0001 ether;
    uint256 internal nextTaskId = 1;

    function setUp() public override {
        super.setUp();
        address[] memory added = new address[](1);
        added[0] = keeper2;
        vm.prank(admin);
        hub.updateKeepers(added, new address[](0));
        vm.deal(user2, 10 ether);
        vm.warp(1_800_000_000);
    }

    function fund(address owner, uint256 amount) internal {
        vm.prank(owner);
        gas.depositETH{value: amount}(amount);
    }

    function assignment(uint256 jobId, address performer, address target, bytes memory data)
        internal
        returns (TaskExecutionHub.Assignment memory a)
    {
        a = TaskExecutionHub.Assignment({
            taskId: nextTaskId++,
            jobId: jobId,
            occurrence: keccak256("time:1800000000000"),
            performer: performer,
            target: target,
            callHash: keccak256(data),
            maxFee: MAX_FEE,
            keeperFee: KEEPER_FEE,
            deadline: uint64(block.timestamp + 30),
            attempt: 1
        });
    }

    /// Relays a verdict on `a`'s attempt (as the registrar does on a chain without a center) and
    /// releases its fee.
    function settle(TaskExecutionHub.Assignment memory a, address owner, uint256 amount, bool accepted) internal {
        uint256[] memory ids = new uint256[](1);
        ids[0] = (uint256(a.attempt) << 128) | a.taskId;
        bool[] memory verdicts = new bool[](1);
        verdicts[0] = accepted;
        vm.prank(admin);
        hub.relayVerdicts(ids, verdicts);
        hub.releaseFee(a.taskId, a.performer, owner, a.attempt, amount, uint64(block.timestamp));
    }

    function sign(TaskExecutionHub.Assignment memory a, uint256 key) internal returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, hub.assignmentDigest(a));
        return abi.encodePacked(r, s, v);
    }

    /// Expects `sender`'s execution of `a` to revert with `reason`.
    function refused(
        TaskExecutionHub.Assignment memory a,
        bytes memory data,
        bytes memory signature,
        address sender,
        bytes memory reason
    ) internal {
        vm.prank(sender, sender);
        vm.expectRevert(reason);
        hub.executeFunction(a, data, signature);
    }

    function execute(TaskExecutionHub.Assignment memory a, bytes memory data) internal returns (bool) {
        bytes memory signature = sign(a, dispatcherKey);
        vm.prank(a.performer, a.performer);
        return hub.executeFunction(a, data, signature);
    }

    function test_assigned_task_executes_owner_pays_gas_and_fee_to_the_keeper() public {
        uint256 jobId = timeJob(60);
        fund(user, 1 ether);
        vm.txGasPrice(2 gwei);
        bytes memory data = abi.encodeCall(Counter.incrementBy, (5));
        TaskExecutionHub.Assignment memory a = assignment(jobId, keeper, address(counter), data);
        bytes memory signature = sign(a, dispatcherKey);
        vm.prank(keeper, keeper);
        bool ok = hub.executeFunction(a, data, signature);
        assertTrue(ok, "call succeeded");
        assertEq(counter.number(), 5, "target state changed");
        assertEq(counter.lastCaller(), address(hub), "the hub is msg.sender");
        uint256 charged = 1 ether - gas.balances(user);
        assertEq(keeper.balance, 0, "nothing is paid before the verdict");
        assertTrue(hub.isFeeHeld(a.taskId), "the fee is held");
        assertEq(address(gas).balance, 1 ether, "and stays in the registry");
        settle(a, user, charged, true);
        assertEq(keeper.balance, charged, "everything charged is paid to the keeper once accepted");
        assertTrue(!hub.isFeeHeld(a.taskId), "nothing stays held");
        assertEq(gas.totalDeductedBalance(), 0, "nothing is left to the registry");
        assertTrue(charged > KEEPER_FEE, "gas is reimbursed on top of the fee");
        uint256 gasCharged = (charged - KEEPER_FEE) / 2 gwei;
        assertTrue(gasCharged > 60_000 && gasCharged < 200_000, "gas measured by the hub, not picked by the keeper");
        assertTrue(hub.isExecuted(a.taskId), "marked executed");
    }

    function test_event_names_the_task() public {
        uint256 jobId = timeJob(60);
        fund(user, 1 ether);
        bytes memory data = abi.encodeCall(Counter.increment, ());
        TaskExecutionHub.Assignment memory a = assignment(jobId, keeper, address(counter), data);
        vm.expectEmit(true, true, true, false);
        emit FunctionExecuted(a.taskId, jobId, keeper, address(counter), true, 0, 0, "");
        execute(a, data);
    }

    function test_failing_target_is_recorded_as_failed_and_charged() public {
        uint256 jobId = timeJob(60);
        fund(user, 1 ether);
        bytes memory data = abi.encodeCall(Counter.fail, ());
        TaskExecutionHub.Assignment memory a = assignment(jobId, keeper, address(counter), data);
        bool ok = execute(a, data);
        assertTrue(!ok, "reported as failed");
        assertEq(gas.balances(user), 1 ether - KEEPER_FEE, "the keeper's work is still paid (no gas price in tests)");
        assertTrue(hub.isExecuted(a.taskId), "a failed call uses the task up too");
    }

    function test_wrong_signer_is_refused() public {
        uint256 jobId = timeJob(60);
        fund(user, 1 ether);
        bytes memory data = abi.encodeCall(Counter.increment, ());
        TaskExecutionHub.Assignment memory a = assignment(jobId, keeper, address(counter), data);
        bytes memory forged = sign(a, 0xBADBAD);
        refused(a, data, forged, keeper, abi.encodeWithSelector(TaskExecutionHub.NotDispatcher.selector, vm.addr(0xBADBAD)));
        assertEq(counter.number(), 0, "nothing executed");
    }

    function test_untrusted_dispatcher_is_refused() public {
        uint256 jobId = timeJob(60);
        fund(user, 1 ether);
        vm.prank(admin);
        hub.setDispatcher(dispatcher, false);
        bytes memory data = abi.encodeCall(Counter.increment, ());
        TaskExecutionHub.Assignment memory a = assignment(jobId, keeper, address(counter), data);
        bytes memory signature = sign(a, dispatcherKey);
        refused(a, data, signature, keeper, abi.encodeWithSelector(TaskExecutionHub.NotDispatcher.selector, dispatcher));
    }

    function test_wrong_performer_is_refused() public {
        uint256 jobId = timeJob(60);
        fund(user, 1 ether);
        bytes memory data = abi.encodeCall(Counter.increment, ());
        TaskExecutionHub.Assignment memory a = assignment(jobId, keeper, address(counter), data);
        bytes memory signature = sign(a, dispatcherKey);
        refused(a, data, signature, keeper2, abi.encodeWithSelector(TaskExecutionHub.NotPerformer.selector, keeper2, keeper));
        refused(a, data, signature, stranger, abi.encodeWithSelector(TaskExecutionHub.NotPerformer.selector, stranger, keeper));
    }

    function test_other_calldata_is_refused() public {
        uint256 jobId = timeJob(60);
        fund(user, 1 ether);
        bytes memory data = abi.encodeCall(Counter.incrementBy, (1));
        TaskExecutionHub.Assignment memory a = assignment(jobId, keeper, address(counter), data);
        bytes memory signature = sign(a, dispatcherKey);
        vm.prank(keeper, keeper);
        vm.expectRevert(abi.encodeWithSelector(TaskExecutionHub.CallMismatch.selector, a.taskId));
        hub.executeFunction(a, abi.encodeCall(Counter.incrementBy, (1000)), signature);
    }

    function test_other_target_is_refused() public {
        uint256 jobId = timeJob(60);
        fund(user, 1 ether);
        Counter other = new Counter();
        bytes memory data = abi.encodeCall(Counter.increment, ());
        TaskExecutionHub.Assignment memory a = assignment(jobId, keeper, address(counter), data);
        bytes memory signature = sign(a, dispatcherKey);
        a.target = address(other);
        vm.prank(keeper, keeper);
        vm.expectRevert(); // the signature no longer recovers to a trusted dispatcher
        hub.executeFunction(a, data, signature);
        assertEq(other.number(), 0, "other target untouched");
    }

    function test_raised_fee_cap_is_refused() public {
        uint256 jobId = timeJob(60);
        fund(user, 1 ether);
        bytes memory data = abi.encodeCall(Counter.increment, ());
        TaskExecutionHub.Assignment memory a = assignment(jobId, keeper, address(counter), data);
        bytes memory signature = sign(a, dispatcherKey);
        a.maxFee = 1 ether;
        vm.prank(keeper, keeper);
        vm.expectRevert();
        hub.executeFunction(a, data, signature);
    }

    function test_expired_assignment_is_refused() public {
        uint256 jobId = timeJob(60);
        fund(user, 1 ether);
        bytes memory data = abi.encodeCall(Counter.increment, ());
        TaskExecutionHub.Assignment memory a = assignment(jobId, keeper, address(counter), data);
        bytes memory signature = sign(a, dispatcherKey);
        vm.warp(a.deadline + 1);
        refused(a, data, signature, keeper, abi.encodeWithSelector(TaskExecutionHub.AssignmentExpired.selector, a.taskId, a.deadline));
    }

    function test_replayed_task_id_is_refused_also_for_a_reassignment() public {
        uint256 jobId = timeJob(60);
        fund(user, 1 ether);
        bytes memory data = abi.encodeCall(Counter.increment, ());
        TaskExecutionHub.Assignment memory first = assignment(jobId, keeper, address(counter), data);
        bytes memory signature = sign(first, dispatcherKey);
        vm.prank(keeper, keeper);
        hub.executeFunction(first, data, signature);
        refused(first, data, signature, keeper, abi.encodeWithSelector(TaskExecutionHub.AlreadyExecuted.selector, first.taskId));
        // The dispatcher re-assigns the same task to another keeper: it loses the race.
        TaskExecutionHub.Assignment memory second = first;
        second.performer = keeper2;
        second.attempt = 2;
        bytes memory secondSignature = sign(second, dispatcherKey);
        refused(second, data, secondSignature, keeper2, abi.encodeWithSelector(TaskExecutionHub.AlreadyExecuted.selector, first.taskId));
        assertEq(counter.number(), 1, "executed once");
    }

    function test_fee_above_the_cap_is_not_charged() public {
        uint256 jobId = timeJob(60);
        fund(user, 1 ether);
        vm.txGasPrice(10_000 gwei); // a keeper bidding an absurd gas price
        bytes memory data = abi.encodeCall(Counter.increment, ());
        TaskExecutionHub.Assignment memory a = assignment(jobId, keeper, address(counter), data);
        execute(a, data);
        assertEq(gas.balances(user), 1 ether - MAX_FEE, "charged exactly the signed maximum");
        settle(a, user, MAX_FEE, true);
        assertEq(keeper.balance, MAX_FEE, "the keeper gets the maximum, not more");
    }

    function test_a_rejected_execution_earns_nothing_and_its_fee_goes_back_to_the_owner() public {
        uint256 jobId = timeJob(60);
        fund(user, 1 ether);
        bytes memory data = abi.encodeCall(Counter.increment, ());
        TaskExecutionHub.Assignment memory a = assignment(jobId, keeper, address(counter), data);
        execute(a, data);
        uint256 charged = 1 ether - gas.balances(user);
        assertTrue(charged >= KEEPER_FEE, "charged at least the fee");
        settle(a, user, charged, false);
        assertEq(keeper.balance, 0, "a rejected execution earns nothing");
        assertEq(gas.balances(user), 1 ether, "the owner has its fee back");
        assertEq(address(gas).balance, 1 ether, "the refund stays the owner's in the registry");
        assertTrue(!hub.isFeeHeld(a.taskId), "released");
    }

    function test_a_fee_is_released_once_by_the_verdict_on_its_own_attempt_with_its_own_facts() public {
        uint256 jobId = timeJob(60);
        fund(user, 1 ether);
        bytes memory data = abi.encodeCall(Counter.increment, ());
        TaskExecutionHub.Assignment memory a = assignment(jobId, keeper, address(counter), data);
        a.attempt = 2;
        execute(a, data);
        uint256 charged = 1 ether - gas.balances(user);
        bytes memory unsettled = abi.encodeWithSelector(TaskExecutionHub.NotSettled.selector, a.taskId, uint32(2));
        vm.expectRevert(unsettled);
        hub.releaseFee(a.taskId, keeper, user, 2, charged, uint64(block.timestamp));
        // A rejection of another attempt (a false claim before this execution) does not release it.
        uint256[] memory ids = new uint256[](1);
        ids[0] = (uint256(1) << 128) | a.taskId;
        bool[] memory verdicts = new bool[](1);
        vm.prank(admin);
        hub.relayVerdicts(ids, verdicts);
        vm.expectRevert(unsettled);
        hub.releaseFee(a.taskId, keeper, user, 2, charged, uint64(block.timestamp));
        bytes memory unknown = abi.encodeWithSelector(TaskExecutionHub.UnknownEscrow.selector, a.taskId);
        vm.expectRevert(unknown);
        hub.releaseFee(a.taskId, keeper, user, 1, charged, uint64(block.timestamp));
        vm.expectRevert(unknown);
        hub.releaseFee(a.taskId, stranger, user, 2, charged, uint64(block.timestamp));
        vm.expectRevert(unknown);
        hub.releaseFee(a.taskId, keeper, user, 2, charged + 1, uint64(block.timestamp));
        settle(a, user, charged, true);
        assertEq(keeper.balance, charged, "paid once");
        vm.expectRevert(unknown);
        hub.releaseFee(a.taskId, keeper, user, 2, charged, uint64(block.timestamp));
    }

    function test_a_fee_no_quorum_settles_within_the_window_goes_back_to_the_owner() public {
        uint256 jobId = timeJob(60);
        fund(user, 1 ether);
        bytes memory data = abi.encodeCall(Counter.increment, ());
        TaskExecutionHub.Assignment memory a = assignment(jobId, keeper, address(counter), data);
        execute(a, data);
        uint64 executedAt = uint64(block.timestamp);
        uint256 charged = 1 ether - gas.balances(user);
        vm.warp(block.timestamp + hub.VERDICT_WINDOW());
        vm.expectRevert(abi.encodeWithSelector(TaskExecutionHub.NotSettled.selector, a.taskId, uint32(1)));
        hub.releaseFee(a.taskId, keeper, user, 1, charged, executedAt);
        vm.warp(block.timestamp + 1);
        vm.expectRevert(abi.encodeWithSelector(TaskExecutionHub.UnknownEscrow.selector, a.taskId));
        hub.releaseFee(a.taskId, keeper, user, 1, charged, executedAt + 1);
        hub.releaseFee(a.taskId, keeper, user, 1, charged, executedAt);
        assertEq(gas.balances(user), 1 ether, "an unsettled execution's fee goes back to the owner");
        assertEq(keeper.balance, 0, "its keeper earns nothing");
    }

    function test_only_the_admin_relays_verdicts_and_never_where_a_center_decides() public {
        uint256[] memory ids = new uint256[](1);
        bool[] memory verdicts = new bool[](1);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(TaskExecutionHub.NotAdmin.selector, stranger));
        hub.relayVerdicts(ids, verdicts);
        vm.prank(admin);
        hub.setVerdictSource(address(0xCE17E5));
        vm.prank(admin);
        vm.expectRevert(TaskExecutionHub.VerdictSourceFixed.selector);
        hub.relayVerdicts(ids, verdicts);
        vm.prank(admin);
        vm.expectRevert(TaskExecutionHub.VerdictSourceFixed.selector);
        hub.setVerdictSource(address(0xBAD));
    }

    function test_a_maximum_fee_beyond_128_bits_is_refused() public {
        uint256 jobId = timeJob(60);
        fund(user, 1 ether);
        bytes memory data = abi.encodeCall(Counter.increment, ());
        TaskExecutionHub.Assignment memory a = assignment(jobId, keeper, address(counter), data);
        a.maxFee = uint256(type(uint128).max) + 1;
        refused(
            a,
            data,
            sign(a, dispatcherKey),
            keeper,
            abi.encodeWithSelector(TaskExecutionHub.FeeTooLarge.selector, a.maxFee)
        );
    }

    function test_hub_trusting_target_refuses_another_users_job() public {
        GuardedCounter guarded = new GuardedCounter(address(hub), user2);
        fund(user, 1 ether);
        fund(user2, 1 ether);
        bytes memory data = abi.encodeCall(GuardedCounter.increment, ());
        vm.prank(user);
        uint256 attackersJob = jobs.createJob("poke", 1, 3600, address(guarded), abi.encode(60));
        bool ok = execute(assignment(attackersJob, keeper, address(guarded), data), data);
        assertTrue(!ok, "the target refused a job of someone else");
        assertEq(guarded.number(), 0, "untouched");
        vm.prank(user2);
        uint256 ownersJob = jobs.createJob("poke", 1, 3600, address(guarded), abi.encode(60));
        ok = execute(assignment(ownersJob, keeper, address(guarded), data), data);
        assertTrue(ok, "its owner's job runs");
        assertEq(guarded.number(), 1, "incremented");
        assertEq(guarded.lastJobId(), ownersJob, "the target sees the job id");
        vm.expectRevert(abi.encodeWithSelector(HubAware.NotFromHub.selector, address(this)));
        guarded.increment();
    }

    function test_return_data_is_bounded_and_a_starved_target_reverts_the_execution() public {
        Hostile hostile = new Hostile();
        uint256 jobId = timeJob(60);
        fund(user, 1 ether);
        bytes memory data = abi.encodeCall(Hostile.bomb, ());
        TaskExecutionHub.Assignment memory a = assignment(jobId, keeper, address(hostile), data);
        vm.expectEmit(true, true, true, false);
        emit FunctionExecuted(a.taskId, jobId, keeper, address(hostile), false, 0, 0, new bytes(256));
        execute(a, data);
        bytes memory spin = abi.encodeCall(Hostile.spin, ());
        TaskExecutionHub.Assignment memory b = assignment(jobId, keeper, address(hostile), spin);
        bytes memory signature = sign(b, dispatcherKey);
        vm.prank(keeper, keeper);
        vm.expectRevert(abi.encodeWithSelector(TaskExecutionHub.TargetOutOfGas.selector, b.taskId));
        hub.executeFunction{gas: 500_000}(b, spin, signature);
        assertTrue(!hub.isExecuted(b.taskId), "a starved call does not use the task up");
    }

    function test_reverts() public {
        uint256 jobId = timeJob(60);
        fund(user, 0.00005 ether);
        bytes memory call = abi.encodeCall(Counter.increment, ());
        TaskExecutionHub.Assignment memory a = assignment(jobId, stranger, address(counter), call);
        bytes memory signature = sign(a, dispatcherKey);
        refused(a, call, signature, stranger, abi.encodeWithSelector(TaskExecutionHub.NotKeeper.selector, stranger));

        a = assignment(jobId, keeper, address(counter), call);
        signature = sign(a, dispatcherKey);
        vm.prank(keeper, keeper);
        vm.expectRevert(
            abi.encodeWithSelector(TriggerGasRegistry.InsufficientBalance.selector, user, 0.00005 ether, KEEPER_FEE)
        );
        hub.executeFunction(a, call, signature);

        a = assignment(999, keeper, address(counter), call);
        signature = sign(a, dispatcherKey);
        refused(a, call, signature, keeper, abi.encodeWithSelector(TaskExecutionHub.JobNotActive.selector, 999));

        bytes memory drain = abi.encodeCall(TriggerGasRegistry.deductETHBalance, (user, 1));
        a = assignment(jobId, keeper, address(gas), drain);
        signature = sign(a, dispatcherKey);
        refused(a, drain, signature, keeper, abi.encodeWithSelector(TaskExecutionHub.ForbiddenTarget.selector, address(gas)));

        vm.prank(user);
        jobs.deleteJob(jobId);
        a = assignment(jobId, keeper, address(counter), call);
        signature = sign(a, dispatcherKey);
        refused(a, call, signature, keeper, abi.encodeWithSelector(TaskExecutionHub.JobNotActive.selector, jobId));
        assertEq(counter.number(), 0, "nothing executed");
    }

    function test_keeper_and_dispatcher_sets_change_by_admin_only() public {
        address[] memory list = new address[](1);
        list[0] = keeper;
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(TaskExecutionHub.NotAdmin.selector, stranger));
        hub.updateKeepers(new address[](0), list);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(TaskExecutionHub.NotAdmin.selector, stranger));
        hub.setDispatcher(stranger, true);
        vm.prank(admin);
        hub.updateKeepers(new address[](0), list);
        assertTrue(!hub.isKeeper(keeper), "removed");
        assertEq(hub.keeperCount(), 1, "count");
        uint256 jobId = timeJob(60);
        bytes memory call = abi.encodeCall(Counter.increment, ());
        TaskExecutionHub.Assignment memory a = assignment(jobId, keeper, address(counter), call);
        bytes memory signature = sign(a, dispatcherKey);
        refused(a, call, signature, keeper, abi.encodeWithSelector(TaskExecutionHub.NotKeeper.selector, keeper));
    }

    function test_reentry_is_blocked() public {
        Reenterer attacker = new Reenterer(hub);
        address[] memory list = new address[](1);
        list[0] = address(attacker);
        vm.prank(admin);
        hub.updateKeepers(list, new address[](0));
        uint256 jobId = timeJob(60);
        fund(user, 1 ether);
        bytes memory call = abi.encodeCall(Reenterer.attack, ());
        TaskExecutionHub.Assignment memory inner = assignment(jobId, address(attacker), address(attacker), call);
        attacker.arm(inner, sign(inner, dispatcherKey));
        bool ok = execute(assignment(jobId, keeper, address(attacker), call), call);
        assertTrue(!ok, "the re-entering call failed");
        assertTrue(!hub.isExecuted(inner.taskId), "the inner task did not run");
    }
}
