import Contracts
import Foundation
import RouteTestSupport
import Testing

/// Every space route answers 401 without a token or with an unknown one, and 403 for a token of
/// another space, in the platform's error shape.
@Suite(.enabled(if: TestPostgres.available), .timeLimit(.minutes(1)))
struct AuthenticationRouteTests {
    static let paths = [
        "/templates", "/messages", "/messaging-destinations", "/messaging/send-policy",
        "/messaging/providers/sendgrid",
    ]

    @Test func noTokenIsA401WithAChallenge() async throws {
        try await MessagingRouteTest.run { test in
            for path in Self.paths {
                let response = try await test.api(.get, "/spaces/\(test.space.id)\(path)", authorization: .some(nil))
                #expect(response.status == .unauthorized, "\(path)")
                #expect(response.errorCode == "authentication_error", "\(path)")
                #expect(response.message.contains("a space access token is required"))
                #expect(response.headers[.wwwAuthenticate] == "Basic realm=\"swift-engage\"")
            }
        }
    }

    @Test func anUnknownTokenIsA401() async throws {
        try await MessagingRouteTest.run { test in
            for authorization in ["Bearer not-a-token", "Basic bm90LWEtdG9rZW46"] {
                let response = try await test.api(
                    .get, "/spaces/\(test.space.id)/templates", authorization: .some(authorization))
                #expect(response.status == .unauthorized)
                #expect(response.errorCode == "authentication_error")
                #expect(response.message.hasPrefix("invalid access token"))
            }
        }
    }

    @Test func aTokenOfAnotherSpaceIsA403() async throws {
        try await MessagingRouteTest.run { test in
            let other = try await TestSpace.seed(in: test.db)
            for path in Self.paths {
                let response = try await test.api(
                    .get, "/spaces/\(test.space.id)\(path)", authorization: .some(other.authorization))
                #expect(response.status == .forbidden, "\(path)")
                #expect(response.errorCode == "forbidden")
                #expect(response.message == "this access token does not belong to space \(test.space.id)")
            }
        }
    }

    @Test func theTokenAsTheBasicAuthUsernameOpensTheSpace() async throws {
        try await MessagingRouteTest.run { test in
            let basic = "Basic " + Array("\(test.space.token):".utf8).base64()
            let response = try await test.api(.get, "/spaces/\(test.space.id)/templates", authorization: .some(basic))
            #expect(response.status == .ok)
            #expect(response.data == [])
        }
    }
}

extension Array where Element == UInt8 {
    func base64() -> String { Data(self).base64EncodedString() }
}
