// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice Single-owner access control with the OpenZeppelin Ownable interface users' tools expect.
abstract contract Owned {
    address private _owner;

    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    error OwnableUnauthorizedAccount(address account);
    error OwnableInvalidOwner(address owner);

    constructor(address initialOwner) {
        if (initialOwner == address(0)) revert OwnableInvalidOwner(address(0));
        _transferOwnership(initialOwner);
    }

    modifier onlyOwner() {
        if (msg.sender != _owner) revert OwnableUnauthorizedAccount(msg.sender);
        _;
    }

    function owner() public view returns (address) {
        return _owner;
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert OwnableInvalidOwner(address(0));
        _transferOwnership(newOwner);
    }

    function renounceOwnership() external onlyOwner {
        _transferOwnership(address(0));
    }

    function _transferOwnership(address newOwner) private {
        emit OwnershipTransferred(_owner, newOwner);
        _owner = newOwner;
    }
}

/// @notice Blocks re-entry into functions marked `nonReentrant`.
abstract contract ReentrancyGuard {
    uint256 private _entered = 1;

    error ReentrancyGuardReentrantCall();

    modifier nonReentrant() {
        if (_entered == 2) revert ReentrancyGuardReentrantCall();
        _entered = 2;
        _;
        _entered = 1;
    }
}
