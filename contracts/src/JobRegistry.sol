// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Owned} from "./Owned.sol";

/// @title JobRegistry
/// @notice Registers TriggerX jobs on-chain with the original interface: packed job ids
/// (chainId 32 bits | timestamp 64 bits | counter 160 bits), job data validated by job type,
/// owner-only update and delete.
contract JobRegistry is Owned {
    struct Job {
        uint256 jobId;
        address jobOwner;
        bytes32 jobHash;
        uint256 lastUpdatedAt;
        bool isActive;
    }

    uint256 private constant MAX_CHAIN_ID = type(uint32).max;
    uint256 private constant MAX_TIMESTAMP = type(uint64).max;
    uint256 private constant MAX_COUNTER = type(uint160).max;
    uint8 private constant MAX_JOB_TYPE = 7;

    uint256 private _jobCounter;
    mapping(uint256 => Job) private _jobs;
    mapping(uint256 => uint256) private _jobIdByCounter;
    mapping(address => uint256[]) private _userJobIds;

    event JobCreated(uint256 indexed jobId, address indexed jobOwner, bytes32 jobHash, uint256 timestamp);
    event JobUpdated(uint256 indexed jobId, address indexed jobOwner, bytes32 newJobHash, uint256 timestamp);
    event JobDeleted(uint256 indexed jobId, address indexed jobOwner, uint256 timestamp);

    error EmptyJobName();
    error InvalidTargetContract();
    error InvalidJobParameters();
    error InvalidJobData();
    error MissingTimeInterval();
    error MissingIpfsHash();
    error JobNotFound(uint256 jobId);
    error JobAlreadyInactive(uint256 jobId);
    error UnauthorizedJobAccess(uint256 jobId, address caller);
    error ChainIdOverflow(uint256 chainId, uint256 maxChainId);
    error TimestampOverflow(uint256 timestamp, uint256 maxTimestamp);
    error JobCounterOverflow(uint256 jobCounter, uint256 maxJobCounter);

    constructor(address initialOwner) Owned(initialOwner) {}

    /// @notice Creates a job owned by the caller and returns its packed id.
    /// @param jobType 1..7: time (1 static, 2 dynamic), event (3, 4), condition (5, 6), custom script (7).
    /// @param data types 1, 2, 7: abi.encode(uint256 interval > 0 [, bytes32 ipfsHash]);
    /// other types: abi.encode(bool recurring [, bytes32 ipfsHash]); ipfsHash non-zero for dynamic types.
    function createJob(string calldata jobName, uint8 jobType, uint256 timeFrame, address targetContract, bytes calldata data)
        external
        returns (uint256 jobId)
    {
        _validate(jobName, jobType, timeFrame, targetContract, data);
        uint256 counter = ++_jobCounter;
        if (counter > MAX_COUNTER) revert JobCounterOverflow(counter, MAX_COUNTER);
        if (block.chainid > MAX_CHAIN_ID) revert ChainIdOverflow(block.chainid, MAX_CHAIN_ID);
        if (block.timestamp > MAX_TIMESTAMP) revert TimestampOverflow(block.timestamp, MAX_TIMESTAMP);
        jobId = (block.chainid << 224) | (block.timestamp << 160) | counter;
        bytes32 jobHash = _hash(jobName, jobType, timeFrame, targetContract, data);
        _jobs[jobId] = Job(jobId, msg.sender, jobHash, block.timestamp, true);
        _jobIdByCounter[counter] = jobId;
        _userJobIds[msg.sender].push(jobId);
        emit JobCreated(jobId, msg.sender, jobHash, block.timestamp);
    }

    /// @notice Replaces name, time frame and data of an active job; the old values must match the stored hash.
    function updateJob(
        uint256 jobId,
        string calldata oldJobName,
        uint8 jobType,
        uint256 oldTimeFrame,
        address targetContract,
        bytes calldata oldData,
        string calldata newJobName,
        uint256 newTimeFrame,
        bytes calldata newData
    ) external {
        Job storage job = _ownedActiveJob(jobId);
        if (job.jobHash != _hash(oldJobName, jobType, oldTimeFrame, targetContract, oldData)) revert InvalidJobParameters();
        _validate(newJobName, jobType, newTimeFrame, targetContract, newData);
        job.jobHash = _hash(newJobName, jobType, newTimeFrame, targetContract, newData);
        job.lastUpdatedAt = block.timestamp;
        emit JobUpdated(jobId, msg.sender, job.jobHash, block.timestamp);
    }

    /// @notice Deactivates a job for good.
    function deleteJob(uint256 jobId) external {
        Job storage job = _ownedActiveJob(jobId);
        job.isActive = false;
        job.lastUpdatedAt = block.timestamp;
        emit JobDeleted(jobId, msg.sender, block.timestamp);
    }

    function getJob(uint256 jobId) external view returns (Job memory job) {
        job = _jobs[jobId];
        if (job.jobOwner == address(0)) revert JobNotFound(jobId);
    }

    function getJobByCounter(uint256 jobCounter) external view returns (Job memory job) {
        uint256 jobId = _jobIdByCounter[jobCounter];
        job = _jobs[jobId];
        if (job.jobOwner == address(0)) revert JobNotFound(jobId);
    }

    function getJobCounter() external view returns (uint256 count) {
        return _jobCounter;
    }

    function getJobOwner(uint256 jobId) external view returns (address) {
        address jobOwner = _jobs[jobId].jobOwner;
        if (jobOwner == address(0)) revert JobNotFound(jobId);
        return jobOwner;
    }

    function isJobActive(uint256 jobId) external view returns (bool isActive) {
        return _jobs[jobId].isActive;
    }

    function getUserJobIds(address user) external view returns (uint256[] memory jobIds) {
        return _userJobIds[user];
    }

    function getUserActiveJobIds(address user) external view returns (uint256[] memory activeJobIds) {
        uint256[] storage all = _userJobIds[user];
        uint256 active;
        for (uint256 i = 0; i < all.length; i++) {
            if (_jobs[all[i]].isActive) active++;
        }
        activeJobIds = new uint256[](active);
        uint256 next;
        for (uint256 i = 0; i < all.length; i++) {
            if (_jobs[all[i]].isActive) activeJobIds[next++] = all[i];
        }
    }

    function unpackJobId(uint256 jobId) external pure returns (uint256 chainId, uint256 timestamp, uint256 jobCounter) {
        chainId = jobId >> 224;
        timestamp = (jobId >> 160) & MAX_TIMESTAMP;
        jobCounter = jobId & MAX_COUNTER;
    }

    function _ownedActiveJob(uint256 jobId) private view returns (Job storage job) {
        job = _jobs[jobId];
        if (job.jobOwner == address(0)) revert JobNotFound(jobId);
        if (job.jobOwner != msg.sender) revert UnauthorizedJobAccess(jobId, msg.sender);
        if (!job.isActive) revert JobAlreadyInactive(jobId);
    }

    function _hash(string calldata jobName, uint8 jobType, uint256 timeFrame, address targetContract, bytes calldata data)
        private
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(jobName, jobType, timeFrame, targetContract, data));
    }

    function _validate(string calldata jobName, uint8 jobType, uint256 timeFrame, address targetContract, bytes calldata data)
        private
        pure
    {
        if (bytes(jobName).length == 0) revert EmptyJobName();
        if (targetContract == address(0)) revert InvalidTargetContract();
        if (jobType == 0 || jobType > MAX_JOB_TYPE || timeFrame == 0) revert InvalidJobParameters();
        if (data.length != 32 && data.length != 64) revert InvalidJobData();
        bool timeBased = jobType == 1 || jobType == 2 || jobType == 7;
        bool dynamic = jobType == 2 || jobType == 4 || jobType == 6 || jobType == 7;
        uint256 first = uint256(bytes32(data[0:32]));
        if (timeBased) {
            if (first == 0) revert MissingTimeInterval();
        } else if (first > 1) {
            revert InvalidJobData(); // not an ABI-encoded bool
        }
        if (dynamic && (data.length != 64 || bytes32(data[32:64]) == bytes32(0))) revert MissingIpfsHash();
    }
}
