import KiteHost
import Testing

struct ConsoleHistoryTests {
    @Test func keepsTheLastBytesOnly() {
        let history = ConsoleHistory(capacity: 8)
        history.append(Array("abcdef".utf8)[...])
        #expect(history.contents == Array("abcdef".utf8))
        history.append(Array("ghij".utf8)[...])
        #expect(history.contents == Array("cdefghij".utf8))
        history.append(Array("0123456789xyz".utf8)[...])
        #expect(history.contents == Array("56789xyz".utf8))
        #expect(history.totalBytes == 23)
    }

    @Test func subscribersSeeEveryByteOnceInOrder() {
        let history = ConsoleHistory(capacity: 4)
        history.append(Array("early".utf8)[...])
        let seen = LockedBox([UInt8]())
        let token = history.subscribe(replay: true) { seen.append($0) }
        history.append(Array("late".utf8)[...])
        history.unsubscribe(token)
        history.append(Array("gone".utf8)[...])
        #expect(String(decoding: seen.value, as: UTF8.self) == "arlylate")
    }
}
