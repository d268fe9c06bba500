// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "../../src/Owned.sol";

interface ILegacyJobRegistry {
    function isJobActive(uint256 jobId) external view returns (bool);
    function getJobOwner(uint256 jobId) external view returns (address);
}

interface ILegacyGasRegistry {
    function deductETHBalance(address user, uint256 ethAmount) external;
}

/// @title LegacyTaskExecutionHub (the hub before signed assignments, kept only to measure the gas the checks add: `triggerx bench hub-gas`)
/// @notice The forwarder keepers call: the stable `msg.sender` job targets whitelist once. Only keepers
/// of the current set may execute; each execution charges the job owner's gas balance, calls the
/// target, and records the outcome (a failing call is recorded as failed, never as success).
contract LegacyTaskExecutionHub is ReentrancyGuard {
    ILegacyJobRegistry public immutable jobRegistry;
    ILegacyGasRegistry public immutable gasRegistry;
    address public admin;
    mapping(address => bool) public isKeeper;
    uint256 public keeperCount;

    event FunctionExecuted(
        uint256 indexed jobId, address indexed keeper, address indexed target, bool success, uint256 amount, bytes returnData
    );
    event KeeperAdded(address indexed keeper);
    event KeeperRemoved(address indexed keeper);
    event AdminChanged(address indexed previousAdmin, address indexed newAdmin);

    error NotAdmin(address caller);
    error NotKeeper(address caller);
    error JobNotActive(uint256 jobId);
    error ForbiddenTarget(address target);
    error ZeroAddress();

    constructor(address initialAdmin, address jobRegistry_, address gasRegistry_) {
        if (initialAdmin == address(0) || jobRegistry_ == address(0) || gasRegistry_ == address(0)) revert ZeroAddress();
        admin = initialAdmin;
        jobRegistry = ILegacyJobRegistry(jobRegistry_);
        gasRegistry = ILegacyGasRegistry(gasRegistry_);
        emit AdminChanged(address(0), initialAdmin);
    }

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        _;
    }

    /// @notice Executes one task: charges `amount` to the job owner and calls `target` with `data`.
    /// @return success whether the target call succeeded (the charge stands either way: the keeper paid gas).
    function executeFunction(uint256 jobId, uint256 amount, address target, bytes calldata data)
        external
        nonReentrant
        returns (bool success)
    {
        if (!isKeeper[msg.sender]) revert NotKeeper(msg.sender);
        // The hub is the gas registry's operator: calling the registries through it would let a keeper move funds.
        if (target == address(gasRegistry) || target == address(jobRegistry) || target == address(this)) {
            revert ForbiddenTarget(target);
        }
        if (!jobRegistry.isJobActive(jobId)) revert JobNotActive(jobId);
        gasRegistry.deductETHBalance(jobRegistry.getJobOwner(jobId), amount);
        bytes memory returnData;
        (success, returnData) = target.call(data);
        emit FunctionExecuted(jobId, msg.sender, target, success, amount, success ? bytes("") : returnData);
    }

    /// @notice Adds and removes keepers (the registrar mirrors the L1 keeper set here).
    function updateKeepers(address[] calldata added, address[] calldata removed) external onlyAdmin {
        for (uint256 i = 0; i < added.length; i++) {
            address keeper = added[i];
            if (keeper == address(0)) revert ZeroAddress();
            if (!isKeeper[keeper]) {
                isKeeper[keeper] = true;
                keeperCount++;
                emit KeeperAdded(keeper);
            }
        }
        for (uint256 i = 0; i < removed.length; i++) {
            address keeper = removed[i];
            if (isKeeper[keeper]) {
                isKeeper[keeper] = false;
                keeperCount--;
                emit KeeperRemoved(keeper);
            }
        }
    }

    function setAdmin(address newAdmin) external onlyAdmin {
        if (newAdmin == address(0)) revert ZeroAddress();
        emit AdminChanged(admin, newAdmin);
        admin = newAdmin;
    }
}
