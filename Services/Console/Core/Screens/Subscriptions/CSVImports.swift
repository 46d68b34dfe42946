import EngageClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Contacts from a CSV file, through the profiles service's uploader: the page's script sends the
/// file's bytes here (so it can show upload progress), this forwards them to profiles, and the
/// import's page follows its status to the result and the error report.
struct CSVImports: Sendable {
    let console: Console

    /// Profiles' `ENGAGE_CSV_MAX_BYTES` default (docs/configuration.md): a larger file would be
    /// refused there anyway, so it is refused here before being held in memory.
    static let maxUploadBytes = 1 << 30

    func register(on router: Router<some RequestContext>) {
        router.get("/subscriptions/imports") { request, _ in
            let session = try console.session(request)
            return try await listPage(request, session)
        }
        router.post("/subscriptions/imports") { request, _ in
            let session = try console.session(request)
            try console.scriptCall(request, session)
            return try await upload(request, session)
        }
        router.get("/subscriptions/imports/:upload_id") { request, context in
            let session = try console.session(request)
            let upload = try await find(try context.parameters.require("upload_id"), session)
            return console.page(
                "subscriptions-import", title: "Import of \(upload["filename"] as? String ?? "a CSV file")",
                section: .subscriptions, session: session, request: request,
                values: ["tabImports": true, "upload": Self.view(upload)])
        }
        router.get("/subscriptions/imports/:upload_id/status") { request, context in
            let session = try console.session(request)
            let upload = try await find(try context.parameters.require("upload_id"), session)
            return console.json(Self.view(upload).filter { $0.value is String || $0.value is Int || $0.value is Bool })
        }
        router.get("/subscriptions/imports/:upload_id/errors.csv") { request, context in
            let session = try console.session(request)
            let id = try context.parameters.require("upload_id")
            let answer = try await console.client(session).get(
                .profiles, "/csv-uploads/\(EngageAPI.segment(id))/errors")
            guard answer.ok else { throw HTTPError(.notFound) }
            return Self.download(answer.body, filename: "\(Self.safeFilename(id))-errors.csv")
        }
        router.get("/subscriptions/template.csv") { request, _ in
            let session = try console.session(request)
            let answer = try await console.client(session).get(.profiles, "/csv-template")
            guard answer.ok else {
                return try await listPage(request, session, problems: answer.problems, status: .badGateway)
            }
            return Self.download(answer.body, filename: "contacts-template.csv")
        }
    }

    private func upload(_ request: Request, _ session: ConsoleSession) async throws -> Response {
        let filename = request.uri.queryParameters.get("filename").map { String($0.prefix(255)) } ?? "upload.csv"
        let tooLarge = "The file is larger than 1 GiB, the most an import takes. Split it into smaller files."
        if let length = request.headers[.contentLength].flatMap(Int.init), length > Self.maxUploadBytes {
            return console.json(["message": tooLarge, "problems": [tooLarge]], status: .contentTooLarge)
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxUploadBytes)
        } catch is NIOTooManyBytesError {
            return console.json(["message": tooLarge, "problems": [tooLarge]], status: .contentTooLarge)
        }
        guard body.readableBytes > 0 else {
            let empty = "The file is empty. Choose a CSV file with a header row and at least one contact."
            return console.json(["message": empty, "problems": [empty]], status: .unprocessableContent)
        }
        // Profiles checks the whole file as it streams in; a large one takes longer than a usual call.
        let client = console.client(session)
        let answer = try await console.upstream.call(
            .profiles, .POST, client.base(.profiles) + "/csv-uploads", query: [("filename", filename)],
            token: session.token, body: .csv(body), timeout: .minutes(10))
        guard answer.ok, let id = answer.dataObject["id"] as? String else {
            let problems = answer.problems
            return console.json(
                ["message": problems.first ?? "The file was refused.", "problems": problems],
                status: .unprocessableContent)
        }
        return console.json(["id": id, "href": "/subscriptions/imports/\(EngageAPI.segment(id))"], status: .accepted)
    }

    /// One upload, or the console's 404 page.
    private func find(_ id: String, _ session: ConsoleSession) async throws -> [String: Any] {
        let answer = try await console.client(session).get(.profiles, "/csv-uploads/\(EngageAPI.segment(id))")
        guard answer.ok else { throw HTTPError(.notFound) }
        return answer.dataObject
    }

    private func listPage(
        _ request: Request, _ session: ConsoleSession, problems: [String] = [], status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let client = console.client(session)
        async let uploadsCall = client.get(.profiles, "/csv-uploads")
        async let templateCall = client.get(.profiles, "/csv-template")
        let (uploads, template) = try await (uploadsCall, templateCall)
        let rows = uploads.dataList.prefix(50).map(Self.view)
        let columns = String(decoding: template.body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return console.page(
            "subscriptions-imports", title: "CSV import", section: .subscriptions, session: session, request: request,
            values: [
                "tabImports": true, "uploads": Array(rows), "hasUploads": !rows.isEmpty,
                "templateColumns": template.ok ? columns : "",
                "maxSize": "1 GiB",
            ], status: status, problems: problems)
    }

    /// An upload for a template and for the page's script.
    static func view(_ upload: [String: Any]) -> [String: Any] {
        let status = upload["status"] as? String ?? ""
        let total = DisplayText.int(upload["rowsTotal"]) ?? 0
        let read = DisplayText.int(upload["rowsRead"]) ?? 0
        let rejected = DisplayText.int(upload["rowsRejected"]) ?? 0
        let id = upload["id"] as? String ?? ""
        var view: [String: Any] = [
            "id": id, "href": "/subscriptions/imports/\(EngageAPI.segment(id))",
            "filename": upload["filename"] as? String ?? "", "status": status, "statusLabel": statusLabel(status),
            "badge": status == "completed" ? (rejected > 0 ? "warn" : "good") : "",
            "rowsTotal": total, "rowsRead": read, "rowsAccepted": DisplayText.int(upload["rowsAccepted"]) ?? 0,
            "rowsRejected": rejected, "completed": status == "completed", "hasRejected": rejected > 0,
            "createdAt": DisplayText.time(upload["createdAt"]), "finishedAt": DisplayText.time(upload["finishedAt"]),
            "progressMax": max(total, 1), "progressValue": status == "completed" ? max(total, 1) : read,
        ]
        view["errorsHref"] = "/subscriptions/imports/\(EngageAPI.segment(id))/errors.csv"
        return view
    }

    static func statusLabel(_ status: String) -> String {
        switch status {
        case "queued": "Waiting to start"
        case "processing": "Importing rows"
        case "applying": "Applying subscription changes"
        case "completed": "Completed"
        default: status
        }
    }

    static func safeFilename(_ text: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        let kept = String(text.filter { allowed.contains($0) })
        return kept.isEmpty ? "upload" : kept
    }

    /// A CSV the browser saves as a file rather than shows.
    static func download(_ body: Data, filename: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/csv; charset=utf-8",
                .contentDisposition: "attachment; filename=\"\(filename)\"",
            ],
            body: .init(byteBuffer: ByteBuffer(data: body)))
    }
}
