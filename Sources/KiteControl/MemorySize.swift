/// xl's memory sizes on the command line (`mem-set web 512m`): a whole number with an
/// optional unit b, k, m, g or t (case-insensitive); no unit means MiB.
public enum MemorySize {
    /// The size in MiB, or nil if `text` is not a size or not a whole number of MiB.
    public static func mebibytes(_ text: String) -> UInt64? {
        var digits = Substring(text)
        var shift = 20
        if let last = digits.last, last.isLetter {
            switch last.lowercased() {
            case "b": shift = 0
            case "k": shift = 10
            case "m": shift = 20
            case "g": shift = 30
            case "t": shift = 40
            default: return nil
            }
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt64(digits) else { return nil }
        let (bytes, overflow) = n.multipliedReportingOverflow(by: UInt64(1) << shift)
        guard !overflow, bytes % (1 << 20) == 0 else { return nil }
        return bytes >> 20
    }
}
