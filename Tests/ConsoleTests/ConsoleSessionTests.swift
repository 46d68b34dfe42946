import Foundation
import Testing

@testable import ConsoleCore

@Suite struct ConsoleSessionTests {
    let codec = SessionCodec(key: .random())
    let session = ConsoleSession(
        spaceId: "spa_1", spaceName: "Shop", tokenName: "console", token: "secret-token", issuedAt: Date())

    @Test func sealedSessionOpensWithItsKeyOnly() throws {
        let cookie = try codec.seal(session)
        #expect(codec.open(cookie) == session)
        #expect(!cookie.contains("secret-token"))
        #expect(SessionCodec(key: .random()).open(cookie) == nil)
    }

    @Test func alteredCookieDoesNotOpen() throws {
        var cookie = Array(try codec.seal(session))
        let index = cookie.count / 2
        cookie[index] = cookie[index] == "A" ? "B" : "A"
        #expect(codec.open(String(cookie)) == nil)
        #expect(codec.open("") == nil)
        #expect(codec.open("not base64 at all!") == nil)
    }

    @Test func sessionExpiresAfterItsLifetime() {
        let issued = Date(timeIntervalSince1970: TimeInterval(session.issuedAt))
        #expect(!session.expired(lifetime: .seconds(60), now: issued.addingTimeInterval(59)))
        #expect(session.expired(lifetime: .seconds(60), now: issued.addingTimeInterval(60)))
    }

    @Test func eachSessionHasItsOwnCSRFToken() {
        let other = ConsoleSession(spaceId: "spa_1", spaceName: "Shop", tokenName: "", token: "t", issuedAt: Date())
        #expect(session.csrf != other.csrf)
        #expect(session.csrf.count >= 40)
    }

    @Test func redirectsStayInTheConsole() {
        #expect(Console.localPath("/templates/1") == "/templates/1")
        #expect(Console.localPath("//evil.example/x") == "/")
        #expect(Console.localPath("https://evil.example") == "/")
        #expect(Console.localPath("/\\evil.example") == "/")
    }

    @Test func formFieldsDecodeURLEncodedBodies() {
        let fields = FormFields(urlEncoded: "name=Spring+sale&tag=a&tag=b%26c&empty=&html=%3Cp%3Ehi%3C%2Fp%3E")
        #expect(fields["name"] == "Spring sale")
        #expect(fields.all("tag") == ["a", "b&c"])
        #expect(fields["empty"] == nil)
        #expect(fields.raw("html") == "<p>hi</p>")
    }
}
