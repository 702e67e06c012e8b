/// Architectural exception vectors (Intel SDM vol. 3, table 6-1).
public enum ExceptionVector: UInt8, Sendable, CaseIterable {
    case divideError = 0
    case debug = 1
    case nmi = 2
    case breakpoint = 3
    case overflow = 4
    case boundRange = 5
    case invalidOpcode = 6
    case deviceNotAvailable = 7
    case doubleFault = 8
    case invalidTSS = 10
    case segmentNotPresent = 11
    case stackFault = 12
    case generalProtection = 13
    case pageFault = 14
    case x87FloatingPoint = 16
    case alignmentCheck = 17
    case machineCheck = 18
    case simdFloatingPoint = 19

    /// Whether the CPU pushes an error code for this vector.
    public var hasErrorCode: Bool {
        switch self {
        case .doubleFault, .invalidTSS, .segmentNotPresent, .stackFault, .generalProtection,
            .pageFault, .alignmentCheck:
            true
        default: false
        }
    }
}

/// Page-fault error code bits (Intel SDM vol. 3, 4.7).
public struct PageFaultErrorCode: OptionSet, Sendable, Hashable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The fault was a protection violation (the page was present).
    public static let present = PageFaultErrorCode(rawValue: 1 << 0)
    public static let write = PageFaultErrorCode(rawValue: 1 << 1)
    public static let user = PageFaultErrorCode(rawValue: 1 << 2)
    public static let reservedBit = PageFaultErrorCode(rawValue: 1 << 3)
    public static let instructionFetch = PageFaultErrorCode(rawValue: 1 << 4)
}

/// An exception raised by guest execution: vector, error code if the vector has one, and
/// for #PF the faulting linear address (what the CPU would load into CR2).
public struct X86Exception: Error, Equatable, Sendable, CustomStringConvertible {
    public var vector: UInt8
    public var errorCode: UInt32?
    public var faultAddress: UInt64?

    @inlinable public init(vector: UInt8, errorCode: UInt32? = nil, faultAddress: UInt64? = nil) {
        self.vector = vector
        self.errorCode = errorCode
        self.faultAddress = faultAddress
    }

    public static let undefinedOpcode = X86Exception(vector: ExceptionVector.invalidOpcode.rawValue)
    public static let divideError = X86Exception(vector: ExceptionVector.divideError.rawValue)
    public static let deviceNotAvailable = X86Exception(vector: ExceptionVector.deviceNotAvailable.rawValue)
    @inlinable public static func generalProtection(_ code: UInt32 = 0) -> X86Exception {
        X86Exception(vector: ExceptionVector.generalProtection.rawValue, errorCode: code)
    }
    @inlinable public static func stackFault(_ code: UInt32 = 0) -> X86Exception {
        X86Exception(vector: ExceptionVector.stackFault.rawValue, errorCode: code)
    }
    @inlinable public static func pageFault(address: UInt64, code: PageFaultErrorCode) -> X86Exception {
        X86Exception(vector: ExceptionVector.pageFault.rawValue, errorCode: code.rawValue, faultAddress: address)
    }

    public var description: String {
        var s = "#\(ExceptionVector(rawValue: vector).map { "\($0)" } ?? "vector\(vector)")"
        if let e = errorCode { s += "(0x" + String(e, radix: 16) + ")" }
        if let a = faultAddress { s += " at 0x" + String(a, radix: 16) }
        return s
    }
}
