import Testing

@testable import XenCore

/// The store forms Xen's writable-page-table emulation accepts, decoded from bytes.
@Suite struct PageTableWriteDecodeTests {
    @Test func movesAndExchanges() {
        // mov [rdi], rax
        #expect(PageTableWrite.decode([0x48, 0x89, 0x07]) == PageTableWrite(operation: .store, size: 8, source: .register(0), length: 3))
        // mov [rdi+8], r9
        #expect(PageTableWrite.decode([0x4C, 0x89, 0x4F, 0x08]) == PageTableWrite(operation: .store, size: 8, source: .register(9), length: 4))
        // mov qword [rip+0x100], 0 (imm32 sign-extended)
        #expect(PageTableWrite.decode([0x48, 0xC7, 0x05, 0, 1, 0, 0, 0, 0, 0, 0]) == PageTableWrite(operation: .store, size: 8, source: .immediate(0), length: 11))
        // xchg [rsi], rcx
        #expect(PageTableWrite.decode([0x48, 0x87, 0x0E]) == PageTableWrite(operation: .exchange, size: 8, source: .register(1), length: 3))
        // lock cmpxchg [rdi], rdx
        #expect(PageTableWrite.decode([0xF0, 0x48, 0x0F, 0xB1, 0x17]) == PageTableWrite(operation: .compareExchange, size: 8, source: .register(2), length: 5))
    }

    @Test func lockedLogicAndBitOperations() {
        // lock andb [rdi], 0xfd (clear_bit(_PAGE_BIT_RW))
        #expect(PageTableWrite.decode([0xF0, 0x80, 0x27, 0xFD]) == PageTableWrite(operation: .and, size: 1, source: .immediate(0xFD), length: 4))
        // lock btr qword [rdi], 5 (test_and_clear_bit(_PAGE_BIT_ACCESSED))
        #expect(PageTableWrite.decode([0xF0, 0x48, 0x0F, 0xBA, 0x37, 0x05]) == PageTableWrite(operation: .bitReset, size: 8, source: .immediate(5), length: 6))
        // lock or qword [rdi+rax*8], -2 (imm8 sign-extended)
        #expect(PageTableWrite.decode([0xF0, 0x48, 0x83, 0x0C, 0xC7, 0xFE]) == PageTableWrite(operation: .or, size: 8, source: .immediate(~1), length: 6))
        // mov [rdi], ah
        #expect(PageTableWrite.decode([0x88, 0x27]) == PageTableWrite(operation: .store, size: 1, source: .register(20), length: 2))
    }

    @Test func everythingElseIsRefused() {
        #expect(PageTableWrite.decode([0x48, 0x89, 0xC7]) == nil)  // mov rdi, rax: no memory operand
        #expect(PageTableWrite.decode([0x48, 0x01, 0x07]) == nil)  // add [rdi], rax
        #expect(PageTableWrite.decode([0x0F, 0x11, 0x07]) == nil)  // movups
        #expect(PageTableWrite.decode([0x48, 0x89]) == nil)  // truncated
        #expect(PageTableWrite.decode([0x48, 0xC7, 0x07, 0x01]) == nil)  // truncated immediate
        #expect(PageTableWrite.decode(Array(repeating: 0x66, count: 15)) == nil)
        #expect(PageTableWrite.decode([]) == nil)
    }
}
