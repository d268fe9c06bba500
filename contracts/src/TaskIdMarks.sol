// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title TaskIdMarks
/// @notice One mark per task id, 256 to a storage word (the ids of one store are dense, so most marks
/// land in a word already written): the hub's "executed"; and verdict marks, two bits per id (settled,
/// accepted), 128 to a word: the attestation center's verdicts and the verdicts relayed to a hub.
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

    /// @notice Records the verdict on `id`; false when it has one already (nothing is written then).
    function markVerdict(mapping(uint256 => uint256) storage words, uint256 id, bool accepted)
        internal
        returns (bool)
    {
        uint256 word = id >> 7;
        uint256 shift = (id & 0x7f) << 1;
        uint256 marks = words[word];
        if ((marks >> shift) & 1 != 0) return false;
        words[word] = marks | ((accepted ? uint256(3) : uint256(1)) << shift);
        return true;
    }

    /// @notice The verdict on `id`: whether there is one, and whether it accepts.
    function verdictOf(mapping(uint256 => uint256) storage words, uint256 id)
        internal
        view
        returns (bool settled, bool accepted)
    {
        uint256 marks = words[id >> 7] >> ((id & 0x7f) << 1);
        return (marks & 1 != 0, marks & 2 != 0);
    }
}
