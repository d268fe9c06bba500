// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title TaskIdMarks
/// @notice One mark per task id, 256 to a storage word (the ids of one store are dense, so most marks
/// land in a word already written): the hub's "executed" and the attestation center's "settled".
library TaskIdMarks {
    /// @notice Marks `taskId`; false when it was marked already (nothing is written then).
    function mark(mapping(uint256 => uint256) storage words, uint256 taskId) internal returns (bool) {
        uint256 word = taskId >> 8;
        uint256 bit = 1 << (taskId & 0xff);
        uint256 marks = words[word];
        if (marks & bit != 0) return false;
        words[word] = marks | bit;
        return true;
    }

    /// @notice Whether `taskId` is marked.
    function isMarked(mapping(uint256 => uint256) storage words, uint256 taskId) internal view returns (bool) {
        return words[taskId >> 8] & (1 << (taskId & 0xff)) != 0;
    }
}
