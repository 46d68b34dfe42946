import Contracts
import Foundation
import Hummingbird
import HummingbirdTesting
import Persistence
import PostgresNIO
import RouteTestSupport
import ServiceKit
import Testing

@testable import ProfilesCore

/// The space-settings routes of profiles (`SpaceSettingsAPI`, next to `AdminAPI` as
/// `ProfilesService.run` wires them on `ServiceHost.apiRouter()`), over a fresh schema with the
/// profiles migrations: a space and its token created through `SpaceDirectory`, as the admin API does.
struct SpaceSettingsRouteTest: Sendable {
    var db: PostgresClient
    var directory: SpaceDirectory
    var space: SpaceRecord
    var token: AccessTokenRecord
    /// Calls with `token`.
    var api: APIClient

    static let adminToken = "route-test-admin-token"

    static func run(_ body: @escaping @Sendable (SpaceSettingsRouteTest) async throws -> Void) async throws {
        try await TestPostgres.withMigratedSchema(ProfilesMigrations.all) { db in
            let directory = SpaceDirectory(db: db, logger: TestPostgres.logger)
            let space = try await directory.createSpace(name: "Settings tests")
            let token = try await directory.createAccessToken(spaceId: space.id, name: "Console")
            let router = ServiceHost.apiRouter()
            AdminAPI(directory: directory, adminToken: adminToken).register(on: router)
            SpaceSettingsAPI(directory: directory).register(on: router)
            let app = Application(router: router, logger: TestPostgres.logger)
            try await app.test(.router) { client in
                try await body(
                    SpaceSettingsRouteTest(
                        db: db, directory: directory, space: space, token: token,
                        api: APIClient(client, authorization: "Bearer \(token.token!)")))
            }
        }
    }

    var base: String { "/v1/spaces/\(space.id)" }

    /// The newest `engage.spaces` record the outbox holds for the space.
    func lastPublishedAccess() async throws -> SpaceAccess? {
        var last: SpaceAccess?
        for try await payload in try await db.query(
            "SELECT payload FROM outbox WHERE topic = \(Topic.spaces) AND key = \(space.id) ORDER BY id DESC LIMIT 1",
            logger: TestPostgres.logger
        ).decode(String.self) {
            last = try WireDecoder.decode(SpaceAccess.self, from: payload.utf8)
        }
        return last
    }
}

@Suite(.enabled(if: TestPostgres.available), .timeLimit(.minutes(1)))
struct SpaceSettingsRoutesTests {
    // MARK: who the token is

    @Test func whoAmIAnswersTheTokenAndItsSpace() async throws {
        try await SpaceSettingsRouteTest.run { test in
            let response = try await test.api(.get, "/v1/access-token")
            #expect(response.status == .ok)
            #expect(
                response.data == [
                    "spaceId": .string(test.space.id), "spaceName": "Settings tests", "tokenId": .string(test.token.id),
                    "tokenName": "Console", "createdAt": .string(Timestamp.format(test.token.createdAt)),
                ])
            // Segment's style too: the token as the Basic-auth username.
            let basic = "Basic " + Data("\(test.token.token!):".utf8).base64EncodedString()
            let viaBasic = try await test.api(.get, "/v1/access-token", authorization: .some(basic))
            #expect(viaBasic.status == .ok)
            #expect(viaBasic.data["tokenId"]?.stringValue == test.token.id)
        }
    }

    @Test func whoAmIWithoutAValidTokenIsA401() async throws {
        try await SpaceSettingsRouteTest.run { test in
            let missing = try await test.api(.get, "/v1/access-token", authorization: .some(nil))
            #expect(missing.status == .unauthorized)
            #expect(missing.errorCode == "authentication_error")
            #expect(missing.message.contains("a space access token is required"))
            #expect(missing.headers[.wwwAuthenticate] == "Basic realm=\"swift-engage\"")
            let unknown = try await test.api(.get, "/v1/access-token", authorization: .some("Bearer not-a-token"))
            #expect(unknown.status == .unauthorized)
            #expect(unknown.errorCode == "authentication_error")
            #expect(unknown.message == "invalid access token")
        }
    }

    // MARK: identity rules

    @Test func identityRulesArePutAndReadLikeTheAdminOnes() async throws {
        try await SpaceSettingsRouteTest.run { test in
            let put = try await test.api(
                .put, "\(test.base)/identity-rules/crm_id",
                ["priority": 3, "limit": 1, "windowSeconds": 3600, "traitKey": "crmId"])
            #expect(put.status == .ok)
            let rule: JSONValue = [
                "type": "crm_id", "priority": 3, "limit": 1, "windowSeconds": 3600, "traitKey": "crmId",
            ]
            #expect(put.data == rule)
            let rules = try await test.api(.get, "\(test.base)/identity-rules")
            #expect(rules.status == .ok)
            #expect(rules.data.arrayValue?.contains(rule) == true)
            #expect(rules.data.arrayValue?.contains { $0["type"] == "user_id" } == true)
            // The same list as the admin API's.
            let admin = try await test.api(
                .get, "/admin/spaces/\(test.space.id)/identity-rules",
                authorization: .some("Bearer \(SpaceSettingsRouteTest.adminToken)"))
            #expect(admin.data == rules.data)
        }
    }

    @Test func anInvalidRuleIsA400WithTheErrorBody() async throws {
        try await SpaceSettingsRouteTest.run { test in
            let priority = try await test.api(
                .put, "\(test.base)/identity-rules/crm_id", ["priority": 0, "limit": 1, "traitKey": "crmId"])
            #expect(priority.status == .badRequest)
            #expect(priority.errorCode == "invalid_request_error")
            #expect(priority.message == "priority must be from 1 to 1000")
            let userId = try await test.api(
                .put, "\(test.base)/identity-rules/user_id", ["priority": 1, "limit": 1, "traitKey": "uid"])
            #expect(userId.status == .badRequest)
            #expect(userId.message.contains("user_id is read from the message's userId"))
            let type = try await test.api(.put, "\(test.base)/identity-rules/Bad%20Type", ["priority": 1, "limit": 1])
            #expect(type.status == .badRequest)
            #expect(type.errorCode == "invalid_request_error")
            let missing = try await test.api(.put, "\(test.base)/identity-rules/crm_id", ["priority": 1])
            #expect(missing.status == .badRequest)
            #expect(missing.message.hasPrefix("invalid JSON body"))
            let rules = try await test.api(.get, "\(test.base)/identity-rules")
            #expect(rules.data.arrayValue?.contains { $0["type"] == "crm_id" } == false)
        }
    }

    // MARK: sources

    @Test func sourcesAreCreatedListedAndTheirWriteKeyRotated() async throws {
        try await SpaceSettingsRouteTest.run { test in
            let created = try await test.api(.post, "\(test.base)/sources", ["name": " Website "])
            #expect(created.status == .created)
            let sourceId = try #require(created.data["id"]?.stringValue)
            let oldKey = try #require(created.data["writeKey"]?.stringValue)
            #expect(sourceId.hasPrefix("src_"))
            #expect(created.data["name"] == "Website")
            #expect(created.data["spaceId"]?.stringValue == test.space.id)

            let list = try await test.api(.get, "\(test.base)/sources")
            #expect(list.status == .ok)
            #expect(list.data.arrayValue?.count == 1)
            #expect(list.data.arrayValue?.first?["id"]?.stringValue == sourceId)
            #expect(list.data.arrayValue?.first?["writeKey"] == nil)

            // Looked up (and cached) before the rotation, as the tracking API would.
            #expect(try await test.directory.source(writeKey: oldKey)?.sourceId == sourceId)
            let rotated = try await test.api(.post, "\(test.base)/sources/\(sourceId)/rotate-write-key")
            #expect(rotated.status == .ok)
            let newKey = try #require(rotated.data["writeKey"]?.stringValue)
            #expect(newKey != oldKey)
            #expect(rotated.data["id"]?.stringValue == sourceId)
            #expect(rotated.data["name"] == "Website")
            #expect(try await test.directory.source(writeKey: oldKey) == nil)
            #expect(
                try await test.directory.source(writeKey: newKey)
                    == SourceRef(sourceId: sourceId, spaceId: test.space.id))
        }
    }

    @Test func aBadSourceNameIsA400() async throws {
        try await SpaceSettingsRouteTest.run { test in
            let blank = try await test.api(.post, "\(test.base)/sources", ["name": "  "])
            #expect(blank.status == .badRequest)
            #expect(blank.errorCode == "invalid_request_error")
            #expect(blank.message == "name must be 1 to 200 characters")
            let missing = try await test.api(.post, "\(test.base)/sources", [:])
            #expect(missing.status == .badRequest)
            #expect(missing.errorCode == "invalid_request_error")
        }
    }

    @Test func rotatingAnUnknownSourceIsA404() async throws {
        try await SpaceSettingsRouteTest.run { test in
            let unknown = try await test.api(.post, "\(test.base)/sources/src_nope/rotate-write-key")
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "not_found")
            // A source of another space is unknown in this one, and keeps its key.
            let other = try await test.directory.createSpace(name: "Other")
            let source = try await test.directory.createSource(spaceId: other.id, name: "Theirs")
            let foreign = try await test.api(.post, "\(test.base)/sources/\(source.id)/rotate-write-key")
            #expect(foreign.status == .notFound)
            #expect(try await test.directory.source(writeKey: source.writeKey!)?.sourceId == source.id)
        }
    }

    // MARK: access tokens

    @Test func tokensAreCreatedListedAndRevoked() async throws {
        try await SpaceSettingsRouteTest.run { test in
            let created = try await test.api(.post, "\(test.base)/access-tokens", ["name": "CI"])
            #expect(created.status == .created)
            let tokenId = try #require(created.data["id"]?.stringValue)
            let token = try #require(created.data["token"]?.stringValue)
            #expect(tokenId.hasPrefix("tok_"))
            #expect(created.data["name"] == "CI")
            #expect(try await test.lastPublishedAccess()?.accessTokenHashes.contains(Secrets.hash(token)) == true)

            let list = try await test.api(.get, "\(test.base)/access-tokens")
            #expect(list.status == .ok)
            #expect(
                list.data.arrayValue?.compactMap { $0["id"]?.stringValue }.sorted()
                    == [test.token.id, tokenId].sorted())
            #expect(list.data.arrayValue?.allSatisfy { $0["token"] == nil } == true)

            let whoIs = try await test.api(.get, "/v1/access-token", authorization: .some("Bearer \(token)"))
            #expect(whoIs.data["tokenId"]?.stringValue == tokenId)

            let revoked = try await test.api(.delete, "\(test.base)/access-tokens/\(tokenId)")
            #expect(revoked.status == .noContent)
            #expect(revoked.json == .null)
            let after = try await test.api(.get, "/v1/access-token", authorization: .some("Bearer \(token)"))
            #expect(after.status == .unauthorized)
            #expect(after.errorCode == "authentication_error")
            let space = try await test.api(.get, "\(test.base)/sources", authorization: .some("Bearer \(token)"))
            #expect(space.status == .unauthorized)
            // Republished without it, so the other services' replicas drop it.
            let published = try #require(try await test.lastPublishedAccess())
            #expect(published.accessTokenHashes == [Secrets.hash(test.token.token!)])
            #expect(published.name == "Settings tests")

            let listed = try await test.api(.get, "\(test.base)/access-tokens")
            #expect(listed.data.arrayValue?.compactMap { $0["id"]?.stringValue } == [test.token.id])
            let again = try await test.api(.delete, "\(test.base)/access-tokens/\(tokenId)")
            #expect(again.status == .notFound)
            #expect(again.errorCode == "not_found")
        }
    }

    @Test func revokingTheTokenInUseIsA409() async throws {
        try await SpaceSettingsRouteTest.run { test in
            let published = try await test.lastPublishedAccess()
            let response = try await test.api(.delete, "\(test.base)/access-tokens/\(test.token.id)")
            #expect(response.status == .conflict)
            #expect(response.errorCode == "conflict")
            #expect(try await test.api(.get, "/v1/access-token").status == .ok)
            #expect(try await test.lastPublishedAccess() == published)
            // Another token of the space may revoke it.
            let other = try await test.api(.post, "\(test.base)/access-tokens", ["name": "Second"])
            let second = try #require(other.data["token"]?.stringValue)
            let revoked = try await test.api(
                .delete, "\(test.base)/access-tokens/\(test.token.id)", authorization: .some("Bearer \(second)"))
            #expect(revoked.status == .noContent)
            #expect(try await test.api(.get, "/v1/access-token").status == .unauthorized)
        }
    }

    @Test func unknownTokensAreA404() async throws {
        try await SpaceSettingsRouteTest.run { test in
            let unknown = try await test.api(.delete, "\(test.base)/access-tokens/tok_nope")
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "not_found")
            let other = try await test.directory.createSpace(name: "Other")
            let foreign = try await test.directory.createAccessToken(spaceId: other.id, name: "Theirs")
            let response = try await test.api(.delete, "\(test.base)/access-tokens/\(foreign.id)")
            #expect(response.status == .notFound)
            let stillThere = try await test.api(
                .get, "/v1/access-token", authorization: .some("Bearer \(foreign.token!)"))
            #expect(stillThere.status == .ok)
        }
    }

    // MARK: authentication of the space routes

    static let spaceRoutes: [(HTTPRequest.Method, String, JSONValue?)] = [
        (.get, "/identity-rules", nil),
        (.put, "/identity-rules/crm_id", ["priority": 3, "limit": 1]),
        (.get, "/sources", nil),
        (.post, "/sources", ["name": "Web"]),
        (.post, "/sources/src_x/rotate-write-key", nil),
        (.get, "/access-tokens", nil),
        (.post, "/access-tokens", ["name": "CI"]),
        (.delete, "/access-tokens/tok_x", nil),
    ]

    @Test func aTokenOfAnotherSpaceIsA403() async throws {
        try await SpaceSettingsRouteTest.run { test in
            let other = try await test.directory.createSpace(name: "Other")
            let token = try await test.directory.createAccessToken(spaceId: other.id, name: "Theirs")
            for (method, path, body) in Self.spaceRoutes {
                let response = try await test.api(
                    method, test.base + path, body, authorization: .some("Bearer \(token.token!)"))
                #expect(response.status == .forbidden, "\(method) \(path)")
                #expect(response.errorCode == "forbidden")
                #expect(response.message == "this access token does not belong to space \(test.space.id)")
            }
            #expect(try await test.directory.listSources(spaceId: test.space.id).isEmpty)
            #expect(try await test.directory.listAccessTokens(spaceId: test.space.id).count == 1)
        }
    }

    @Test func theSpaceRoutesWithoutATokenAreA401() async throws {
        try await SpaceSettingsRouteTest.run { test in
            for (method, path, body) in Self.spaceRoutes {
                for authorization in [nil, "Bearer not-a-token"] {
                    let response = try await test.api(
                        method, test.base + path, body, authorization: .some(authorization))
                    #expect(response.status == .unauthorized, "\(method) \(path)")
                    #expect(response.errorCode == "authentication_error")
                }
            }
        }
    }
}
