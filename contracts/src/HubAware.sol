// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title HubAware
/// @notice For job targets that trust the TaskExecutionHub: the hub appends the job id and the job
/// owner to every call's data (`data ‖ jobId (32 bytes) ‖ owner (20 bytes)`, ERC-2771 style), so a target
/// can allow only its own jobs. Without this check any TriggerX user could create a job that calls a
/// hub-trusting contract.
abstract contract HubAware {
    address public immutable taskExecutionHub;

    error NotFromHub(address caller);
    error NotOwnersJob(address jobOwner);

    constructor(address hub) {
        taskExecutionHub = hub;
    }

    /// @dev Requires the call to come from the hub for a job of `allowedOwner`.
    modifier onlyJobsOf(address allowedOwner) {
        if (msg.sender != taskExecutionHub) revert NotFromHub(msg.sender);
        (, address jobOwner) = _hubJob();
        if (jobOwner != allowedOwner) revert NotOwnersJob(jobOwner);
        _;
    }

    /// @dev The job id and owner the hub appended (meaningful only when msg.sender is the hub).
    function _hubJob() internal pure returns (uint256 jobId, address jobOwner) {
        if (msg.data.length < 52) return (0, address(0));
        jobId = uint256(bytes32(msg.data[msg.data.length - 52:msg.data.length - 20]));
        jobOwner = address(bytes20(msg.data[msg.data.length - 20:]));
    }
}
