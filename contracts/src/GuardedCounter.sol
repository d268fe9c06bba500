// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {HubAware} from "./HubAware.sol";

/// @title GuardedCounter
/// @notice Example target that trusts the hub but only for its owner's jobs.
contract GuardedCounter is HubAware {
    address public immutable owner;
    uint256 public number;
    uint256 public lastJobId;

    constructor(address hub, address owner_) HubAware(hub) {
        owner = owner_;
    }

    function increment() external onlyJobsOf(owner) {
        number += 1;
        (lastJobId,) = _hubJob();
    }
}
