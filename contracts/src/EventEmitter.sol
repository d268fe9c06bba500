// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title EventEmitter
/// @notice Test and example trigger source: emits logs that event jobs watch.
contract EventEmitter {
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Ping(uint256 indexed id, string note);

    function emitTransfer(address from, address to, uint256 value) external {
        emit Transfer(from, to, value);
    }

    /// @notice Emits `count` Transfer logs in one transaction (load tests).
    function emitMany(address to, uint256 count, uint256 value) external {
        for (uint256 i = 0; i < count; i++) {
            emit Transfer(msg.sender, to, value + i);
        }
    }

    function ping(uint256 id, string calldata note) external {
        emit Ping(id, note);
    }
}
