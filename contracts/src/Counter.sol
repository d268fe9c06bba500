// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Counter
/// @notice Test and example target: a number that jobs increment, plus a call that always fails.
contract Counter {
    uint256 public number;
    address public lastCaller;

    event Incremented(address indexed caller, uint256 by, uint256 newNumber);

    error AlwaysFails(uint256 code);

    function increment() external {
        _add(1);
    }

    function incrementBy(uint256 by) external {
        _add(by);
    }

    function setNumber(uint256 newNumber) external {
        number = newNumber;
        lastCaller = msg.sender;
    }

    function fail() external pure {
        revert AlwaysFails(42);
    }

    function _add(uint256 by) private {
        number += by;
        lastCaller = msg.sender;
        emit Incremented(msg.sender, by, number);
    }
}
