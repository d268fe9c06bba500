// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "./Owned.sol";
import {TaskIdMarks} from "./TaskIdMarks.sol";

interface IJobRegistry {
    function isJobActive(uint256 jobId) external view returns (bool);
    function getJobOwner(uint256 jobId) external view returns (address);
}

interface IGasRegistry {
    function holdFee(address user, uint256 amount) external;
    function releaseFee(address user, address keeper, uint256 amount, bool accepted) external;
}

interface IVerdicts {
    function verdictOf(uint256 settlementId) external view returns (bool settled, bool accepted);
}

/// @title TaskExecutionHub
/// @notice The forwarder keepers call: the stable `msg.sender` job targets whitelist once. A keeper
/// executes only what a trusted dispatcher assigned to it (an EIP-712 signed assignment naming the
/// task, the job, the performer, the target, the calldata's hash, the most the owner pays and a
/// deadline), each task at most once. The hub measures the gas the execution used, charges the job
/// owner that gas times the transaction's gas price plus the signed keeper fee (never more than the
/// signed maximum) and holds it until a quorum of attesters has settled the execution: `releaseFee` then
/// pays it to the keeper (accepted) or gives it back to the owner (rejected). The target receives the job id and its owner after the
/// calldata (ERC-2771 style: `data ‖ jobId (32 bytes) ‖ owner (20 bytes)`), so a contract that trusts the
/// hub can tell whose job is calling (see `HubAware`).
contract TaskExecutionHub is ReentrancyGuard {
    /// @notice What a dispatcher assigns to one performer.
    struct Assignment {
        uint256 taskId; // unique per task across the dispatchers' store: at most one execution each
        uint256 jobId;
        bytes32 occurrence; // keccak256 of the occurrence key (which trigger occurrence this is)
        address performer; // the only keeper that may execute it
        address target;
        bytes32 callHash; // keccak256 of the calldata
        uint256 maxFee; // the most the job owner pays for this execution, wei
        uint256 keeperFee; // paid to the keeper on top of the gas, wei
        uint64 deadline; // Unix seconds; not executable after
        uint32 attempt; // 1 for the first assignment of the task, 2 for its re-assignment...
    }

    bytes32 public constant ASSIGNMENT_TYPEHASH = keccak256(
        "Assignment(uint256 taskId,uint256 jobId,bytes32 occurrence,address performer,address target,bytes32 callHash,uint256 maxFee,uint256 keeperFee,uint64 deadline,uint32 attempt)"
    );
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    /// @notice Most bytes of a failing target's return data kept in the event (no return-data bombs).
    uint256 public constant MAX_RETURN_DATA = 256;
    /// @notice Gas kept back from the target call so the hub can always finish (charge, pay, emit).
    uint256 public constant FINISH_RESERVE = 50_000;
    /// @notice Gas of the transaction outside the measured part: the intrinsic 21,000, the call's
    /// dispatch and decoding before the measurement starts, and holding the fee, its escrow slot and the
    /// event after it ends (17,000 more than paying the keeper at once did). `triggerx bench hub-gas`
    /// prints the receipt's gas next to the gas charged for; calldata is added at 4 per byte.
    uint256 public constant UNMEASURED_GAS = 21_000 + 1_000 + 26_000 + 17_000;

    IJobRegistry public immutable jobRegistry;
    IGasRegistry public immutable gasRegistry;
    bytes32 private immutable _domainSeparator;
    uint256 private immutable _chainId;
    address public admin;
    mapping(address => bool) public isKeeper;
    uint256 public keeperCount;
    mapping(address => bool) public isDispatcher;
    /// @dev Executed task ids, 256 to a word (ids of one store are dense, so most marks are cheap).
    mapping(uint256 => uint256) private _executedWords;
    /// @notice The AttestationCenter on this chain whose verdicts release fees (zero on chains without
    /// one: there the admin relays the center's verdicts).
    address public verdictSource;
    /// @dev Verdicts relayed by the admin (chains without a center), two bits per settlement id.
    mapping(uint256 => uint256) private _relayedVerdicts;
    /// @dev Per executed task: keccak256(keeper, owner, attempt, amount, executedAt) of its held fee.
    mapping(uint256 => bytes32) private _escrow;
    /// @notice How long a held fee waits for its verdict; an execution no quorum settled by then (its
    /// performer never reported it, say) gives the fee back to the owner.
    uint256 public constant VERDICT_WINDOW = 1 days;

    event FunctionExecuted(
        uint256 indexed taskId,
        uint256 indexed jobId,
        address indexed keeper,
        address target,
        bool success,
        uint256 amount,
        uint256 gasUsed,
        bytes returnData
    );
    event KeeperAdded(address indexed keeper);
    event KeeperRemoved(address indexed keeper);
    event DispatcherSet(address indexed dispatcher, bool trusted);
    event AdminChanged(address indexed previousAdmin, address indexed newAdmin);
    event VerdictSourceSet(address indexed center);
    event FeeReleased(uint256 indexed taskId, address indexed to, uint256 amount, bool accepted);

    error NotAdmin(address caller);
    error NotKeeper(address caller);
    error NotPerformer(address caller, address performer);
    error NotDispatcher(address signer);
    error AssignmentExpired(uint256 taskId, uint64 deadline);
    error CallMismatch(uint256 taskId);
    error AlreadyExecuted(uint256 taskId);
    error JobNotActive(uint256 jobId);
    error ForbiddenTarget(address target);
    error BadSignature();
    error InsufficientGas(uint256 available, uint256 needed);
    error TargetOutOfGas(uint256 taskId);
    error ZeroAddress();
    error FeeTooLarge(uint256 maxFee);
    error UnknownEscrow(uint256 taskId);
    error NotSettled(uint256 taskId, uint32 attempt);
    error VerdictSourceFixed();
    error LengthMismatch();

    constructor(address initialAdmin, address jobRegistry_, address gasRegistry_) {
        if (initialAdmin == address(0) || jobRegistry_ == address(0) || gasRegistry_ == address(0)) revert ZeroAddress();
        admin = initialAdmin;
        jobRegistry = IJobRegistry(jobRegistry_);
        gasRegistry = IGasRegistry(gasRegistry_);
        _chainId = block.chainid;
        _domainSeparator = _buildDomainSeparator();
        emit AdminChanged(address(0), initialAdmin);
    }

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        _;
    }

    /// @notice Executes one assigned task: checks the assignment, marks the task executed, calls the
    /// target with `data` (plus job id and owner), charges the owner and holds the fee for its verdict.
    /// @return success whether the target call succeeded (the charge stands either way: the keeper paid gas).
    function executeFunction(Assignment calldata assignment, bytes calldata data, bytes calldata signature)
        external
        nonReentrant
        returns (bool success)
    {
        uint256 startGas = gasleft();
        if (msg.sender != assignment.performer) revert NotPerformer(msg.sender, assignment.performer);
        if (!isKeeper[msg.sender]) revert NotKeeper(msg.sender);
        if (block.timestamp > assignment.deadline) revert AssignmentExpired(assignment.taskId, assignment.deadline);
        if (keccak256(data) != assignment.callHash) revert CallMismatch(assignment.taskId);
        address target = assignment.target;
        // The hub is the gas registry's operator: calling the registries through it would let a keeper move funds.
        if (target == address(gasRegistry) || target == address(jobRegistry) || target == address(this)) {
            revert ForbiddenTarget(target);
        }
        address signer = _recover(_digest(assignment), signature);
        if (!isDispatcher[signer]) revert NotDispatcher(signer);
        if (assignment.maxFee > type(uint128).max) revert FeeTooLarge(assignment.maxFee);
        if (!TaskIdMarks.mark(_executedWords, assignment.taskId)) revert AlreadyExecuted(assignment.taskId);
        uint256 jobId = assignment.jobId;
        if (!jobRegistry.isJobActive(jobId)) revert JobNotActive(jobId);
        address owner = jobRegistry.getJobOwner(jobId);

        bytes memory returnData;
        (success, returnData) = _callTarget(assignment.taskId, target, abi.encodePacked(data, jobId, owner));

        uint256 gasUsed = startGas - gasleft() + UNMEASURED_GAS + 4 * msg.data.length;
        uint256 amount = gasUsed * tx.gasprice + assignment.keeperFee;
        if (amount > assignment.maxFee) amount = assignment.maxFee;
        gasRegistry.holdFee(owner, amount);
        _escrow[assignment.taskId] =
            keccak256(abi.encode(msg.sender, owner, assignment.attempt, amount, uint64(block.timestamp)));
        emit FunctionExecuted(assignment.taskId, jobId, msg.sender, target, success, amount, gasUsed, returnData);
    }

    /// @notice Releases the fee held for `taskId`'s execution by the verdict on that attempt: to the
    /// keeper when a quorum accepted it, back to the owner when a quorum rejected it. Anyone may call it
    /// with the execution's facts (the keeper and amount of its `FunctionExecuted`, the job's owner, the
    /// assignment's attempt and the execution block's timestamp); the hub checks them against what it
    /// held. Past `VERDICT_WINDOW` without a verdict the fee goes back to the owner.
    function releaseFee(uint256 taskId, address keeper, address owner, uint32 attempt, uint256 amount, uint64 executedAt)
        external
    {
        if (_escrow[taskId] != keccak256(abi.encode(keeper, owner, attempt, amount, executedAt))) {
            revert UnknownEscrow(taskId);
        }
        uint256 id = (uint256(attempt) << 128) | uint128(taskId);
        (bool settled, bool accepted) = verdictSource == address(0)
            ? TaskIdMarks.verdictOf(_relayedVerdicts, id)
            : IVerdicts(verdictSource).verdictOf(id);
        if (!settled && block.timestamp <= uint256(executedAt) + VERDICT_WINDOW) revert NotSettled(taskId, attempt);
        delete _escrow[taskId];
        gasRegistry.releaseFee(owner, keeper, amount, accepted);
        emit FeeReleased(taskId, accepted ? keeper : owner, amount, accepted);
    }

    /// @notice Whether a fee is held for `taskId`.
    function isFeeHeld(uint256 taskId) external view returns (bool) {
        return _escrow[taskId] != bytes32(0);
    }

    /// @notice Sets the AttestationCenter on this chain, once: from then on only its verdicts release
    /// fees here, and nobody can relay any.
    function setVerdictSource(address center) external onlyAdmin {
        if (center == address(0)) revert ZeroAddress();
        if (verdictSource != address(0)) revert VerdictSourceFixed();
        verdictSource = center;
        emit VerdictSourceSet(center);
    }

    /// @notice Records the center's verdicts on a chain without a center (the registrar relays them
    /// from the center's events, as it relays the keeper set).
    function relayVerdicts(uint256[] calldata settlementIds, bool[] calldata accepted) external onlyAdmin {
        if (verdictSource != address(0)) revert VerdictSourceFixed();
        if (settlementIds.length != accepted.length) revert LengthMismatch();
        for (uint256 i = 0; i < settlementIds.length; i++) {
            TaskIdMarks.markVerdict(_relayedVerdicts, settlementIds[i], accepted[i]);
        }
    }

    /// @notice The verdict this hub sees on `settlementId` (`attempt << 128 | taskId`).
    function verdictOf(uint256 settlementId) external view returns (bool settled, bool accepted) {
        return verdictSource == address(0)
            ? TaskIdMarks.verdictOf(_relayedVerdicts, settlementId)
            : IVerdicts(verdictSource).verdictOf(settlementId);
    }

    /// @notice Whether `taskId` was executed on this hub.
    function isExecuted(uint256 taskId) external view returns (bool) {
        return TaskIdMarks.isMarked(_executedWords, taskId);
    }

    /// @notice The EIP-712 hash a dispatcher signs for `assignment`.
    function assignmentDigest(Assignment calldata assignment) external view returns (bytes32) {
        return _digest(assignment);
    }

    /// @notice The EIP-712 domain separator (name "TriggerX", version "2", this chain, this hub).
    function domainSeparator() public view returns (bytes32) {
        return block.chainid == _chainId ? _domainSeparator : _buildDomainSeparator();
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

    /// @notice Trusts or stops trusting a dispatcher's signature on assignments.
    function setDispatcher(address dispatcher, bool trusted) external onlyAdmin {
        if (dispatcher == address(0)) revert ZeroAddress();
        isDispatcher[dispatcher] = trusted;
        emit DispatcherSet(dispatcher, trusted);
    }

    function setAdmin(address newAdmin) external onlyAdmin {
        if (newAdmin == address(0)) revert ZeroAddress();
        emit AdminChanged(admin, newAdmin);
        admin = newAdmin;
    }

    /// @dev Calls the target with all gas but the finishing reserve and keeps at most MAX_RETURN_DATA
    /// bytes of what it returns. A call that used up its gas reverts the whole execution: a keeper
    /// cannot starve a target and still charge for the failure.
    function _callTarget(uint256 taskId, address target, bytes memory payload)
        private
        returns (bool success, bytes memory returnData)
    {
        uint256 available = gasleft();
        if (available <= FINISH_RESERVE) revert InsufficientGas(available, FINISH_RESERVE);
        uint256 forwarded = available - FINISH_RESERVE;
        uint256 maxReturn = MAX_RETURN_DATA;
        assembly ("memory-safe") {
            success := call(forwarded, target, 0, add(payload, 32), mload(payload), 0, 0)
            let size := returndatasize()
            if gt(size, maxReturn) { size := maxReturn }
            returnData := mload(0x40)
            mstore(returnData, size)
            returndatacopy(add(returnData, 32), 0, size)
            mstore(0x40, add(add(returnData, 32), and(add(size, 31), not(31))))
        }
        if (!success && gasleft() <= FINISH_RESERVE + forwarded / 63) revert TargetOutOfGas(taskId);
    }

    function _digest(Assignment calldata a) private view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                ASSIGNMENT_TYPEHASH,
                a.taskId,
                a.jobId,
                a.occurrence,
                a.performer,
                a.target,
                a.callHash,
                a.maxFee,
                a.keeperFee,
                a.deadline,
                a.attempt
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("TriggerX"), keccak256("2"), block.chainid, address(this))
        );
    }

    /// @dev ecrecover of a 65-byte (r, s, v) signature, refusing malleable (high-s) and invalid ones.
    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        if (signature.length != 65) revert BadSignature();
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 27) v += 27;
        if (uint256(s) > 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0) revert BadSignature();
        signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert BadSignature();
    }
}
