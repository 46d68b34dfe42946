import ServiceKit
import Testing

/// A real server with short deadlines, driven by raw TCP clients that misbehave.
@Suite(.serialized, .timeLimit(.minutes(1)))
struct HTTPServerLimitsTests {
    /// Seconds instead of the production tens of seconds. The keep-alive idle timeout is long, so
    /// it never decides a test: what closes a connection here is the limit under test.
    let limits = HTTPServerLimits(
        headerTimeout: .seconds(1), bodyIdleTimeout: .seconds(1), bodyTimeout: .seconds(2),
        idleTimeout: .seconds(60), maxConnections: 2)

    static let uploadHead = "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n"

    @Test func aStalledRequestHeadIsClosedAtTheHeaderDeadline() async throws {
        try await withTestServer(limits) { port in
            let connection = try await RawConnection.open(port: port)
            defer { Task { await connection.close() } }
            try await connection.send("GET /hello HTTP/1.1\r\nHost: loc")
            let start = ContinuousClock.now
            #expect(try await connection.closed(within: .seconds(4)))
            #expect(ContinuousClock.now - start >= .milliseconds(800))
            #expect(connection.receivedText.isEmpty)
        }
    }

    @Test func aHeadSentAByteAtATimeIsClosedAtTheHeaderDeadline() async throws {
        try await withTestServer(limits) { port in
            let connection = try await RawConnection.open(port: port)
            defer { Task { await connection.close() } }
            try await connection.send("GET /hello HTTP/1.1\r\nHost: localhost\r\n")
            let header = "X-Slow: " + String(repeating: "a", count: 100)
            let elapsed = try await connection.trickle(header, every: .milliseconds(200), closedWithin: .seconds(4))
            #expect(elapsed != nil, "a head trickled every 200 ms stayed open")
            #expect(elapsed ?? .zero >= .milliseconds(800))
        }
    }

    @Test func aStalledBodyIsClosedAtTheBodyIdleDeadline() async throws {
        try await withTestServer(limits) { port in
            let connection = try await RawConnection.open(port: port)
            defer { Task { await connection.close() } }
            try await connection.send(Self.uploadHead + "0123456789")
            let start = ContinuousClock.now
            #expect(try await connection.closed(within: .seconds(4)))
            #expect(ContinuousClock.now - start >= .milliseconds(800))
        }
    }

    @Test func aBodySentAByteAtATimeIsClosedAtTheBodyDeadline() async throws {
        try await withTestServer(limits) { port in
            let connection = try await RawConnection.open(port: port)
            defer { Task { await connection.close() } }
            try await connection.send(Self.uploadHead)
            // Every 200 ms is well within the 1 s idle deadline; the 2 s whole-body deadline ends it.
            let body = String(repeating: "b", count: 100)
            let elapsed = try await connection.trickle(body, every: .milliseconds(200), closedWithin: .seconds(5))
            #expect(elapsed != nil, "a body trickled every 200 ms stayed open")
            #expect(elapsed ?? .zero >= .milliseconds(1_500))
        }
    }

    @Test func anIdleKeptAliveConnectionOutlivesTheRequestDeadlines() async throws {
        try await withTestServer(limits) { port in
            let connection = try await RawConnection.open(port: port)
            defer { Task { await connection.close() } }
            try await connection.send(Self.uploadHead + String(repeating: "b", count: 100))
            #expect(try await connection.received("\r\n\r\n100", within: .seconds(2)))
            try await Task.sleep(for: .milliseconds(2_500))  // longer than every request deadline
            #expect(connection.isOpen)
            try await connection.send("GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(try await connection.received("HTTP/1.1 200", count: 2, within: .seconds(2)))
        }
    }

    @Test func aConnectionBeyondTheCapIsClosedAndItsSlotComesBack() async throws {
        try await withTestServer(limits) { port in
            let first = try await RawConnection.open(port: port)
            let second = try await RawConnection.open(port: port)
            defer {
                Task {
                    await first.close()
                    await second.close()
                }
            }
            for connection in [first, second] {
                try await connection.send("GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
                #expect(try await connection.received("HTTP/1.1 200", within: .seconds(2)))
            }

            let third = try await RawConnection.open(port: port)
            // May fail: it may be closed already.
            try? await third.send("GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
            #expect(try await third.closed(within: .seconds(2)))
            #expect(third.receivedText.isEmpty)
            #expect(second.isOpen)

            await first.close()
            #expect(try await anotherConnectionIsAnswered(port: port, within: .seconds(4)))
        }
    }

    /// The server counts a slot free once it has seen the close, a moment after the client's.
    private func anotherConnectionIsAnswered(port: Int, within limit: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            let connection = try await RawConnection.open(port: port)
            try? await connection.send("GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let answered = try await connection.received("HTTP/1.1 200", within: .milliseconds(300))
            await connection.close()
            if answered { return true }
        }
        return false
    }
}
