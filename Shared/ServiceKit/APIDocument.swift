import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// A service's OpenAPI document (`Services/<Name>/Core/OpenAPI/openapi.json`), served as it is at
/// `/openapi.json`. It is written by hand, so the service checks it against its router at startup:
/// every route documented, every documented operation routed (see docs/api/README.md).
public struct APIDocument: Sendable {
    /// The document's bytes, served unchanged.
    public let data: Data
    /// "METHOD /path/{param}" for every documented operation.
    public let operations: Set<String>

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    static let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    public init(data: Data) throws {
        let document: JSONValue
        do {
            document = try JSONParser.parse(data)
        } catch {
            throw Invalid(description: "the OpenAPI document is not JSON: \(error)")
        }
        guard let paths = document["paths"]?.objectValue else {
            throw Invalid(description: "the OpenAPI document has no paths")
        }
        var operations = Set<String>()
        for (path, item) in paths {
            for method in (item.objectValue ?? [:]).keys where Self.methods.contains(method) {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        self.data = data
        self.operations = operations
    }

    /// The document a service ships in its resource bundle (`OpenAPI/openapi.json` of its library).
    public init(bundle: Bundle) throws {
        guard let url = bundle.url(forResource: "openapi", withExtension: "json") else {
            throw Invalid(description: "the OpenAPI document is missing from the resource bundle")
        }
        try self.init(data: try Data(contentsOf: url))
    }

    /// The router's path in OpenAPI's form: `/spaces/:space_id` is `/spaces/{space_id}`.
    static func openAPIPath(_ routerPath: String) -> String {
        routerPath.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
        }.joined(separator: "/")
    }

    /// What differs between the routes and the document, one line each (empty when they agree).
    public func differences<Context>(from router: Router<Context>) -> [String] {
        let routed = Set(router.routes.map { "\($0.method.rawValue) \(Self.openAPIPath($0.path.description))" })
        let undocumented = routed.subtracting(operations).sorted().map { "\($0) is routed but not documented" }
        let unrouted = operations.subtracting(routed).sorted().map { "\($0) is documented but not routed" }
        return undocumented + unrouted
    }

    /// Startup's check. A debug build (every test run) refuses to start on a difference, so a route
    /// cannot land without its documentation; a release build logs each difference and serves on.
    public func verify<Context>(against router: Router<Context>, logger: Logger) throws {
        let differences = differences(from: router)
        guard !differences.isEmpty else { return }
        for difference in differences {
            logger.error("the OpenAPI document differs from the routes", metadata: ["difference": "\(difference)"])
        }
        #if DEBUG
            throw Invalid(
                description: "the OpenAPI document differs from the routes:\n" + differences.joined(separator: "\n"))
        #endif
    }

    /// `GET /openapi.json`.
    public func addRoute<Context: RequestContext>(to router: Router<Context>) {
        let data = data
        router.get("/openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        }
    }
}
