import Contracts
import Foundation
import Hummingbird
import PostgresNIO
import ServiceKit

/// The CSV uploader under `/v1/spaces/{space_id}`: upload (`POST csv-uploads`, the raw file as the
/// body), history, status, the error report and the template, with a space access token.
public struct CSVUploadAPI: Sendable {
    let directory: SpaceDirectory
    let store: CSVUploadStore
    let maxBytes: Int64

    public init(directory: SpaceDirectory, store: CSVUploadStore, maxBytes: Int64) {
        self.directory = directory
        self.store = store
        self.maxBytes = maxBytes
    }

    struct DataBody<T: Encodable>: Encodable { var data: T }

    static let acceptedTypes = ["text/csv", "application/csv", "text/plain", "application/octet-stream", "application/vnd.ms-excel"]

    public func register<Context: RequestContext>(on router: Router<Context>) {
        let space = router.group("/v1/spaces/:space_id")
        space.post("/csv-uploads") { request, context in
            let spaceId = try await authorized(request, context)
            if let type = request.headers[.contentType] {
                let mediaType = type.split(separator: ";")[0].trimmingCharacters(in: .whitespaces).lowercased()
                guard Self.acceptedTypes.contains(mediaType) else {
                    throw APIError(.unsupportedMediaType, code: "unsupported_media_type",
                                   message: "send the CSV file itself as the body with Content-Type: text/csv (got \(mediaType))")
                }
            }
            let filename = request.uri.queryParameters["filename"].map(String.init) ?? "upload.csv"
            let rules = try await directory.identifierRules(spaceId: spaceId)
            do {
                let upload = try await store.receive(spaceId: spaceId, filename: String(filename.prefix(255)), body: request.body, maxBytes: maxBytes,
                                                     rules: rules, groups: try await groups(spaceId))
                return try JSONBody.response(DataBody(data: upload), status: .accepted)
            } catch let error as CSVFileError {
                throw APIError(.unprocessableContent, code: "invalid_csv", message: error.message)
            }
        }
        space.get("/csv-uploads") { request, context in
            let spaceId = try await authorized(request, context)
            return try JSONBody.response(DataBody(data: try await store.list(spaceId: spaceId, limit: 100)))
        }
        space.get("/csv-uploads/:upload_id") { request, context in
            let spaceId = try await authorized(request, context)
            return try JSONBody.response(DataBody(data: try await upload(spaceId, context)))
        }
        space.get("/csv-uploads/:upload_id/errors") { request, context in
            let spaceId = try await authorized(request, context)
            let upload = try await upload(spaceId, context)
            return Response(status: .ok, headers: [
                .contentType: "text/csv; charset=utf-8",
                .contentDisposition: "attachment; filename=\"\(upload.id)-errors.csv\"",
            ], body: ResponseBody { [store] writer in
                try await store.writeErrorReport(uploadId: upload.id, to: &writer)
                try await writer.finish(nil)
            })
        }
        space.get("/csv-template") { request, context in
            let spaceId = try await authorized(request, context)
            let header = CSVLayout.template(rules: try await directory.identifierRules(spaceId: spaceId), groups: try await groups(spaceId))
            return Response(status: .ok, headers: [
                .contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"profiles-template.csv\"",
            ], body: ResponseBody(byteBuffer: ByteBuffer(string: header.map(CSVUploadStore.csvField).joined(separator: ",") + "\r\n")))
        }
    }

    private func upload(_ spaceId: String, _ context: some RequestContext) async throws -> CSVUpload {
        let id = try context.parameters.require("upload_id")
        guard let upload = try await store.upload(spaceId: spaceId, id: id) else { throw APIError.notFound("no upload \(id) in space \(spaceId)") }
        return upload
    }

    /// The live subscription groups of the space, from the replica, oldest first.
    private func groups(_ spaceId: String) async throws -> [String] {
        var names: [String] = []
        for try await name in try await store.db.query(
            "SELECT name FROM subscription_groups WHERE space_id = \(spaceId) AND NOT deleted ORDER BY revision, id", logger: store.logger
        ).decode(String.self) { names.append(name) }
        return names
    }

    private func authorized(_ request: Request, _ context: some RequestContext) async throws -> String {
        let spaceId = try context.parameters.require("space_id")
        guard let token = SpaceTokenAuth.token(request) else {
            throw APIError.unauthorized("a space access token is required: Authorization: Bearer <token>, or as the Basic auth username")
        }
        guard let tokenSpace = try await directory.spaceId(forAccessToken: token) else { throw APIError.unauthorized("invalid access token") }
        guard tokenSpace == spaceId else {
            throw APIError(.forbidden, code: "forbidden", message: "this access token does not belong to space \(spaceId)")
        }
        return spaceId
    }
}
