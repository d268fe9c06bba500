// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Owned, ReentrancyGuard} from "./Owned.sol";

/// @title TriggerGasRegistry
/// @notice Job owners' prepaid ETH for executions, with the original TriggerX interface. The operator
/// (the chain's TaskExecutionHub) holds each execution's fee out of the owner's balance and, once a
/// quorum of attesters has settled the execution, pays it to the keeper (accepted) or gives it back to
/// the owner (rejected). `deductETHBalance` (the original's) still accrues to the protocol.
contract TriggerGasRegistry is Owned, ReentrancyGuard {
    mapping(address => uint256) public balances;
    address public operatorRole;
    uint256 public totalDeductedBalance;

    event ETHDeposited(address indexed user, uint256 ethAmount);
    event ETHWithdrawn(address indexed owner, uint256 amount, string reason);
    event ETHBalanceDeducted(address indexed user, uint256 amount);
    event OperatorChanged(address indexed previousOperator, address indexed newOperator);
    event KeeperPaid(address indexed keeper, address indexed user, uint256 amount);
    event FeeHeld(address indexed user, uint256 amount);
    event FeeRefunded(address indexed user, uint256 amount);

    error NotOperator(address caller);
    error AmountMismatch(uint256 declared, uint256 sent);
    error ZeroAmount();
    error InsufficientBalance(address user, uint256 balance, uint256 required);
    error LengthMismatch();
    error TransferFailed();

    constructor(address initialOwner, address operator) Owned(initialOwner) {
        operatorRole = operator;
        emit OperatorChanged(address(0), operator);
    }

    modifier onlyOperator() {
        if (msg.sender != operatorRole) revert NotOperator(msg.sender);
        _;
    }

    /// @notice Adds `ethAmount` (sent as value) to the caller's balance.
    function depositETH(uint256 ethAmount) external payable {
        if (ethAmount == 0) revert ZeroAmount();
        if (msg.value != ethAmount) revert AmountMismatch(ethAmount, msg.value);
        balances[msg.sender] += ethAmount;
        emit ETHDeposited(msg.sender, ethAmount);
    }

    function getBalance(address user) external view returns (uint256 ethAmount) {
        return balances[user];
    }

    /// @notice Returns part of the caller's unused balance.
    function withdrawETHBalance(uint256 ethAmount) external nonReentrant {
        if (ethAmount == 0) revert ZeroAmount();
        uint256 balance = balances[msg.sender];
        if (balance < ethAmount) revert InsufficientBalance(msg.sender, balance, ethAmount);
        balances[msg.sender] = balance - ethAmount;
        (bool sent,) = payable(msg.sender).call{value: ethAmount}("");
        if (!sent) revert TransferFailed();
        emit ETHWithdrawn(msg.sender, ethAmount, "user withdrawal");
    }

    /// @notice Charges `user` for one execution (operator only). Reverts when the balance is short.
    function deductETHBalance(address user, uint256 ethAmount) external onlyOperator {
        uint256 balance = balances[user];
        if (balance < ethAmount) revert InsufficientBalance(user, balance, ethAmount);
        balances[user] = balance - ethAmount;
        totalDeductedBalance += ethAmount;
        emit ETHBalanceDeducted(user, ethAmount);
    }

    /// @notice Charges `user` for one execution and pays `keeper` (operator only). Reverts when the
    /// balance is short or the keeper cannot receive ETH. The keeper gets the 2,300 gas stipend only.
    /// @notice Holds `amount` of `user`'s balance for an execution until its verdict.
    function holdFee(address user, uint256 amount) external onlyOperator {
        uint256 balance = balances[user];
        if (balance < amount) revert InsufficientBalance(user, balance, amount);
        // No running total of held fees: a counter going back to zero between executions would make the
        // next one pay a fresh storage slot (the hub's `isFeeHeld` tells what is held).
        balances[user] = balance - amount;
        emit FeeHeld(user, amount);
    }

    /// @notice Releases a held fee: to `keeper` when its execution was accepted, back to `user` when not.
    function releaseFee(address user, address keeper, uint256 amount, bool accepted) external onlyOperator {
        if (!accepted) {
            balances[user] += amount;
            emit FeeRefunded(user, amount);
            return;
        }
        emit ETHBalanceDeducted(user, amount);
        emit KeeperPaid(keeper, user, amount);
        if (amount > 0) {
            (bool sent,) = payable(keeper).call{value: amount, gas: 0}("");
            if (!sent) revert TransferFailed();
        }
    }

    function settleExecution(address user, uint256 amount, address keeper) external onlyOperator {
        uint256 balance = balances[user];
        if (balance < amount) revert InsufficientBalance(user, balance, amount);
        balances[user] = balance - amount;
        emit ETHBalanceDeducted(user, amount);
        emit KeeperPaid(keeper, user, amount);
        if (amount > 0) {
            (bool sent,) = payable(keeper).call{value: amount, gas: 0}("");
            if (!sent) revert TransferFailed();
        }
    }

    function setOperator(address _operatorRole) external onlyOwner {
        emit OperatorChanged(operatorRole, _operatorRole);
        operatorRole = _operatorRole;
    }

    /// @notice Withdraws deducted funds (owner only), e.g. to pay keepers.
    function withdrawETH(uint256 amount, string calldata reason) external onlyOwner nonReentrant {
        if (amount == 0) revert ZeroAmount();
        if (totalDeductedBalance < amount) revert InsufficientBalance(address(this), totalDeductedBalance, amount);
        totalDeductedBalance -= amount;
        (bool sent,) = payable(msg.sender).call{value: amount}("");
        if (!sent) revert TransferFailed();
        emit ETHWithdrawn(msg.sender, amount, reason);
    }

    /// @notice Credits balances migrated from another registry; the value sent must cover them exactly.
    function batchMigrateUsers(address[] calldata users, uint256[] calldata ethAmounts) external payable onlyOwner {
        if (users.length != ethAmounts.length) revert LengthMismatch();
        uint256 total;
        for (uint256 i = 0; i < users.length; i++) {
            balances[users[i]] += ethAmounts[i];
            total += ethAmounts[i];
            emit ETHDeposited(users[i], ethAmounts[i]);
        }
        if (total != msg.value) revert AmountMismatch(total, msg.value);
    }
}
