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
    let auth: SpaceTokenAuth

    public init(directory: SpaceDirectory, store: CSVUploadStore, maxBytes: Int64) {
        self.directory = directory
        self.store = store
        self.maxBytes = maxBytes
        auth = SpaceTokenAuth(spaceForTokenHash: { try await directory.spaceId(forAccessTokenHash: $0) })
    }

    static let acceptedTypes = [
        "text/csv", "application/csv", "text/plain", "application/octet-stream", "application/vnd.ms-excel",
    ]

    public func register<Context: RequestContext>(on router: Router<Context>) {
        let space = router.group("/v1/spaces/:space_id")
        space.post("/csv-uploads") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            if let type = request.headers[.contentType] {
                let mediaType = type.split(separator: ";")[0].trimmingCharacters(in: .whitespaces).lowercased()
                guard Self.acceptedTypes.contains(mediaType) else {
                    throw APIError(
                        .unsupportedMediaType, code: "unsupported_media_type",
                        message: "send the CSV file itself as the body with Content-Type: text/csv (got \(mediaType))")
                }
            }
            let filename = request.uri.queryParameters["filename"].map(String.init) ?? "upload.csv"
            let rules = try await directory.identifierRules(spaceId: spaceId)
            do {
                let upload = try await store.receive(
                    spaceId: spaceId, filename: String(filename.prefix(255)), body: request.body, maxBytes: maxBytes,
                    rules: rules, groups: try await store.groupNames(spaceId: spaceId))
                return try JSONBody.response(DataEnvelope(data: upload), status: .accepted)
            } catch let error as CSVFileError {
                throw APIError(.unprocessableContent, code: "invalid_csv", message: error.message)
            }
        }
        space.get("/csv-uploads") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            return try JSONBody.response(DataEnvelope(data: try await store.list(spaceId: spaceId, limit: 100)))
        }
        space.get("/csv-uploads/:upload_id") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            return try JSONBody.response(DataEnvelope(data: try await upload(spaceId, context)))
        }
        space.get("/csv-uploads/:upload_id/errors") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let upload = try await upload(spaceId, context)
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/csv; charset=utf-8",
                    .contentDisposition: "attachment; filename=\"\(upload.id)-errors.csv\"",
                ],
                body: ResponseBody { [store] writer in
                    try await store.writeErrorReport(uploadId: upload.id, to: &writer)
                    try await writer.finish(nil)
                })
        }
        space.get("/csv-template") { request, context in
            let spaceId = try await auth.authorizedSpace(request, context)
            let header = CSVLayout.template(
                rules: try await directory.identifierRules(spaceId: spaceId),
                groups: try await store.groupNames(spaceId: spaceId))
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/csv; charset=utf-8",
                    .contentDisposition: "attachment; filename=\"profiles-template.csv\"",
                ],
                body: ResponseBody(
                    byteBuffer: ByteBuffer(string: header.map(CSVUploadStore.csvField).joined(separator: ",") + "\r\n"))
            )
        }
    }

    private func upload(_ spaceId: String, _ context: some RequestContext) async throws -> CSVUpload {
        let id = try context.parameters.require("upload_id")
        guard let upload = try await store.upload(spaceId: spaceId, id: id) else {
            throw APIError.notFound("no upload \(id) in space \(spaceId)")
        }
        return upload
    }

}
