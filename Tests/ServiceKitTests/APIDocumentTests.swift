import Foundation
import Hummingbird
import Logging
import Testing

@testable import ServiceKit

struct APIDocumentTests {
    static let document = """
        {"openapi": "3.1.0", "paths": {
          "/spaces/{space_id}/sources": {"parameters": [], "get": {}, "post": {}},
          "/health": {"get": {}, "summary": "not a method"}
        }}
        """

    @Test
    func readsEveryDocumentedOperationAndNothingElse() throws {
        let document = try APIDocument(data: Data(Self.document.utf8))
        #expect(
            document.operations == ["GET /spaces/{space_id}/sources", "POST /spaces/{space_id}/sources", "GET /health"])
    }

    @Test
    func routerParametersAreOpenAPITemplates() {
        #expect(
            APIDocument.openAPIPath("/spaces/:space_id/sources/:source_id") == "/spaces/{space_id}/sources/{source_id}")
        #expect(APIDocument.openAPIPath("/v1/batch") == "/v1/batch")
    }

    @Test
    func agreesWithARouterThatRoutesExactlyItsOperations() throws {
        let document = try APIDocument(data: Data(Self.document.utf8))
        let router = Router()
        router.get("/spaces/:space_id/sources") { _, _ in "" }
        router.post("/spaces/:space_id/sources") { _, _ in "" }
        router.get("/health") { _, _ in "" }
        #expect(document.differences(from: router).isEmpty)
        try document.verify(against: router, logger: Logger(label: "test"))
    }

    @Test
    func namesEveryUndocumentedRouteAndEveryUnroutedOperation() throws {
        let document = try APIDocument(data: Data(Self.document.utf8))
        let router = Router()
        router.get("/spaces/:space_id/sources") { _, _ in "" }
        router.delete("/spaces/:space_id/sources/:source_id") { _, _ in "" }
        router.get("/health") { _, _ in "" }
        #expect(
            document.differences(from: router) == [
                "DELETE /spaces/{space_id}/sources/{source_id} is routed but not documented",
                "POST /spaces/{space_id}/sources is documented but not routed",
            ])
        // Tests are debug builds: a difference stops the service from starting.
        #expect(throws: APIDocument.Invalid.self) {
            try document.verify(against: router, logger: Logger(label: "test"))
        }
    }

    @Test
    func refusesADocumentWithoutPaths() {
        #expect(throws: APIDocument.Invalid.self) { try APIDocument(data: Data(#"{"openapi": "3.1.0"}"#.utf8)) }
        #expect(throws: APIDocument.Invalid.self) { try APIDocument(data: Data("not json".utf8)) }
    }
}
