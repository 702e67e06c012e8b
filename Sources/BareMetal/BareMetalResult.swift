/// How a bare-metal run ended.
public enum BareMetalOutcome: Equatable, Sendable {
    /// The guest wrote `code` to the debug-exit port.
    case exited(code: UInt32)
    /// The guest executed HLT (with interrupts off there is nothing to wake it).
    case halted
    case failed(BareMetalFailure)
}

/// What a run produced.
public struct BareMetalResult: Equatable, Sendable {
    public var outcome: BareMetalOutcome
    /// Bytes written to the debug console, up to `BareMetalConfiguration.consoleCapacity`.
    public var console: [UInt8]
    /// True when the guest wrote more than `console` holds.
    public var consoleTruncated: Bool
    public var instructions: UInt64
    public var elapsed: Duration

    public init(outcome: BareMetalOutcome, console: [UInt8], consoleTruncated: Bool, instructions: UInt64, elapsed: Duration) {
        self.outcome = outcome
        self.console = console
        self.consoleTruncated = consoleTruncated
        self.instructions = instructions
        self.elapsed = elapsed
    }

    /// The console as text (invalid UTF-8 repaired).
    public var consoleText: String { String(decoding: console, as: UTF8.self) }

    public var seconds: Double {
        let c = elapsed.components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }

    /// Millions of guest instructions per second of wall-clock time.
    public var mips: Double {
        let s = seconds
        return s > 0 ? Double(instructions) / s / 1e6 : 0
    }

    /// True for an exit with code 0 or a halt.
    public var succeeded: Bool {
        switch outcome {
        case .exited(let code): code == 0
        case .halted: true
        case .failed: false
        }
    }

    /// A short human description: "exit 0", "halted", or the failure.
    public var outcomeDescription: String {
        switch outcome {
        case .exited(let code): "exit \(code)"
        case .halted: "halted"
        case .failed(let f): "error: \(f)"
        }
    }
}
