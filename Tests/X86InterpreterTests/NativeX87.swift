#if arch(x86_64) && canImport(Glibc)
    import Glibc
    import X86

    /// Runs one x87 instruction on the host CPU between an FXRSTOR of a chosen state and an
    /// FXSAVE of the result, to cross-check the engine's x87 bit for bit.
    ///
    /// The stub saves the host's own FPU state first and restores it last (FXSAVE/FXRSTOR
    /// neither wait nor raise #MF, so unmasked exceptions stay pending in the saved image
    /// only). RSI points at a 1024-byte operand buffer, so a memory operand is encoded as [rsi];
    /// RAX and RFLAGS are loaded before and captured after the instruction.
    final class NativeX87 {
        struct Result: Equatable {
            var image: [UInt8]
            var memory: [UInt8]
            var rax: UInt64
            var rflags: UInt64
        }

        private let code: UnsafeMutableRawPointer
        private let data: UnsafeMutableRawPointer
        static let bufferSize = 1024

        init?() {
            guard let c = mmap(nil, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), c != MAP_FAILED,
                let d = mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), d != MAP_FAILED
            else { return nil }
            code = c
            data = d
        }

        deinit {
            munmap(code, 4096)
            munmap(data, 4096)
        }

        /// Layout of `data`: guest image at 0, host save area at 512, operand buffer at 1024
        /// (1024 bytes), registers (RFLAGS in, RAX in, RFLAGS out, RAX out) at 3072.
        func run(_ instruction: [UInt8], state: FPUState, memory: [UInt8] = [], rax: UInt64 = 0, rflags: UInt64 = 0x202) -> Result {
            let prologue: [UInt8] = [
                0x0F, 0xAE, 0x02,  // fxsave [rdx]
                0x48, 0x0F, 0xAE, 0x0F,  // fxrstor64 [rdi]
                0x48, 0x8B, 0x41, 0x08,  // mov rax, [rcx+8]
                0xFF, 0x31,  // push qword [rcx]
                0x9D,  // popfq
            ]
            let epilogue: [UInt8] = [
                0x9C,  // pushfq
                0x8F, 0x41, 0x10,  // pop qword [rcx+16]
                0x48, 0x89, 0x41, 0x18,  // mov [rcx+24], rax
                0x48, 0x0F, 0xAE, 0x07,  // fxsave64 [rdi]
                0x0F, 0xAE, 0x0A,  // fxrstor [rdx]
                0xFC,  // cld
                0xC3,  // ret
            ]
            let bytes = prologue + instruction + epilogue
            bytes.withUnsafeBytes { code.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            let image = state.fxsaveImage(format64: true)
            image.withUnsafeBytes { data.copyMemory(from: $0.baseAddress!, byteCount: 512) }
            var buffer = memory + [UInt8](repeating: 0, count: max(0, Self.bufferSize - memory.count))
            buffer.withUnsafeBytes { (data + 1024).copyMemory(from: $0.baseAddress!, byteCount: Self.bufferSize) }
            let regs = (data + 3072).assumingMemoryBound(to: UInt64.self)
            regs[0] = rflags
            regs[1] = rax
            typealias Stub = @convention(c) (UnsafeMutableRawPointer, UnsafeMutableRawPointer, UnsafeMutableRawPointer, UnsafeMutablePointer<UInt64>) -> Void
            let stub = unsafeBitCast(code, to: Stub.self)
            stub(data, data + 1024, data + 512, regs)
            buffer = Array(UnsafeRawBufferPointer(start: data + 1024, count: Self.bufferSize))
            return Result(image: Array(UnsafeRawBufferPointer(start: data, count: 512)), memory: buffer, rax: regs[3], rflags: regs[2])
        }
    }
#endif
