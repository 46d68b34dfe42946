import Testing

@testable import ServiceKit

@Suite(.timeLimit(.minutes(1)))
struct ErrorTextBoundsTests {
    /// The HTTP decoder refuses a request line over 80 KB, so this is about the largest query there is.
    @Test func anErrorForAHugeQueryParameterStaysSmall() async throws {
        let value = String(repeating: "x", count: 70_000)
        let response = try await errorResponse(
            to: "GET /echo?value=\(value) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        #expect(response.hasPrefix("HTTP/1.1 400"))
        #expect(response.contains("unknown value \\\"xxxx"))
        #expect(response.contains("…"))
        #expect(response.utf8.count < 2_000, "error response is \(response.utf8.count) bytes")
    }

    @Test func anErrorQuotingAHugeBodyStaysSmall() async throws {
        let value = String(repeating: "x", count: 200_000)
        let response = try await errorResponse(
            to:
                "POST /echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: \(value.utf8.count)\r\n\r\n\(value)"
        )
        #expect(response.hasPrefix("HTTP/1.1 400"))
        #expect(response.contains("…"))
        #expect(response.utf8.count < 2_000, "error response is \(response.utf8.count) bytes")
    }

    /// Everything the server sends back for `request` on a connection it closes after answering.
    private func errorResponse(to request: String) async throws -> String {
        try await withTestServer(HTTPServerLimits()) { port in
            let connection = try await RawConnection.open(port: port)
            defer { Task { await connection.close() } }
            try await connection.send(request)
            #expect(try await connection.closed(within: .seconds(10)))
            return connection.receivedText
        }
    }

    @Test func aQuotedInputIsCutButTheWordsAroundItStay() {
        let message = ErrorTextBounds.message(
            "a template named \"\(String(repeating: "n", count: 5_000))\" already exists")
        #expect(message.hasSuffix("…\" already exists"))
        #expect(message.count < 150)
    }

    @Test func aLongMessageIsCutWithAnEllipsis() {
        let message = ErrorTextBounds.message("no journey " + String(repeating: "j", count: 5_000) + " in this space")
        #expect(message.count == ErrorTextBounds.maxMessageCharacters)
        #expect(message.hasSuffix("…"))
    }

    @Test func shortMessagesAreUnchanged() {
        let text = "definition refers back to itself: pro_users → pro_reachable → pro_users"
        #expect(ErrorTextBounds.message(text) == text)
    }

    @Test func manyProblemsAreCountedNotListed() {
        let problems = ErrorTextBounds.problems(Array(repeating: String(repeating: "p", count: 1_000), count: 100))
        #expect(problems.count == ErrorTextBounds.maxProblems + 1)
        #expect(problems.last == "... and 80 more")
        #expect(problems.allSatisfy { $0.count <= ErrorTextBounds.maxMessageCharacters })
    }
}
