// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {BN254} from "./BN254.sol";
import {Owned} from "./Owned.sol";

/// @title KeeperRegistry
/// @notice L1 registration of keepers (the original's AVS governance): whitelisted operators register
/// their consensus address, BN254 BLS public key (G1 and G2) and voting power; the registrar follows
/// the events and mirrors the set into the L2 `AttestationCenter`. A key is admitted only with a proof
/// of possession: a BLS signature, by that key, over `keccak256(abi.encode(keccak256("TriggerX keeper
/// registration"), chainid, this registry, operator))`, which rules out rogue keys (a key made from
/// others' keys to forge their share of an aggregate has no secret to sign with).
contract KeeperRegistry is Owned {
    struct Operator {
        uint256 operatorId;
        address consensusAddress;
        uint256[4] blsPublicKey; // G2, EIP-197 word order
        uint256[2] blsKeyG1;
        uint256[2] proofOfPossession;
        uint256 votingPower;
        uint256 registeredAt;
        bool registered;
    }

    mapping(address => bool) public isWhitelisted;
    mapping(address => Operator) private _operators;
    uint256 public operatorCount;
    uint256 public totalVotingPower;
    uint256 private _nextOperatorId = 1;

    event WhitelistUpdated(address indexed operator, bool allowed);
    event OperatorRegistered(
        address indexed operator,
        uint256 indexed operatorId,
        address consensusAddress,
        uint256[4] blsPublicKey,
        uint256 votingPower,
        uint256[2] blsKeyG1,
        uint256[2] proofOfPossession
    );
    event OperatorUnregistered(address indexed operator, uint256 indexed operatorId);

    error NotWhitelisted(address operator);
    error AlreadyRegistered(address operator);
    error NotRegistered(address operator);
    error InvalidRegistration();
    error BadProofOfPossession(address operator);

    bytes32 private constant REGISTRATION_TAG = keccak256("TriggerX keeper registration");

    constructor(address initialOwner) Owned(initialOwner) {}

    function setWhitelist(address[] calldata operators, bool allowed) external onlyOwner {
        for (uint256 i = 0; i < operators.length; i++) {
            isWhitelisted[operators[i]] = allowed;
            emit WhitelistUpdated(operators[i], allowed);
        }
    }

    /// @notice Registers the caller (its controller address) as a keeper.
    function register(
        address consensusAddress,
        uint256[4] calldata blsPublicKey,
        uint256[2] calldata blsKeyG1,
        uint256[2] calldata proofOfPossession,
        uint256 votingPower
    ) external {
        if (!isWhitelisted[msg.sender]) revert NotWhitelisted(msg.sender);
        Operator storage op = _operators[msg.sender];
        if (op.registered) revert AlreadyRegistered(msg.sender);
        bool emptyKey = blsPublicKey[0] == 0 && blsPublicKey[1] == 0 && blsPublicKey[2] == 0 && blsPublicKey[3] == 0;
        if (consensusAddress == address(0) || emptyKey || votingPower == 0 || votingPower > type(uint96).max) {
            revert InvalidRegistration();
        }
        if (!BN254.verify(registrationMessage(msg.sender), blsKeyG1, blsPublicKey, proofOfPossession)) {
            revert BadProofOfPossession(msg.sender);
        }
        uint256 operatorId = op.operatorId == 0 ? _nextOperatorId++ : op.operatorId;
        _operators[msg.sender] = Operator(
            operatorId, consensusAddress, blsPublicKey, blsKeyG1, proofOfPossession, votingPower, block.timestamp, true
        );
        operatorCount++;
        totalVotingPower += votingPower;
        emit OperatorRegistered(
            msg.sender, operatorId, consensusAddress, blsPublicKey, votingPower, blsKeyG1, proofOfPossession
        );
    }

    /// @notice What `operator`'s BLS key signs as its proof of possession.
    function registrationMessage(address operator) public view returns (bytes32) {
        return keccak256(abi.encode(REGISTRATION_TAG, block.chainid, address(this), operator));
    }

    /// @notice Leaves the keeper set.
    function unregister() external {
        Operator storage op = _operators[msg.sender];
        if (!op.registered) revert NotRegistered(msg.sender);
        op.registered = false;
        operatorCount--;
        totalVotingPower -= op.votingPower;
        emit OperatorUnregistered(msg.sender, op.operatorId);
    }

    function getOperator(address operator) external view returns (Operator memory) {
        return _operators[operator];
    }

    function isRegistered(address operator) external view returns (bool) {
        return _operators[operator].registered;
    }
}
