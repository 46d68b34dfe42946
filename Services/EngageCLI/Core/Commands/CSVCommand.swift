import ArgumentParser
import Contracts
import EngageClient
import Foundation
import NIOCore

/// `engage csv upload people.csv --wait`: the CSV uploader, with progress and the error report.
struct CSVCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "csv", abstract: "Upload CSV files of profiles.", subcommands: [Upload.self, Status.self])

    struct Upload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload a CSV file; with --wait, follow it to the end and print its error report.",
            discussion: "Exit status with --wait: 0 every row accepted, 65 some rows rejected or the upload failed.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The CSV file.") var file: String
        @Flag(help: "Wait until the upload is processed.") var wait = false
        @Option(help: "With --wait: also write the error report to this file.") var errors: String?
        @Option(help: "With --wait: give up after this many seconds.") var timeout = 3600

        func validate() throws {
            if errors != nil, !wait {
                throw ValidationError("--errors needs --wait (the report exists once the upload is processed)")
            }
        }

        func run() async throws {
            try await global.run { session throws(CLIError) in
                guard let data = FileManager.default.contents(atPath: file) else {
                    throw CLIError(ExitStatus.noInput, "cannot read \(file)")
                }
                // The report file is written (header only, for now) before anything is uploaded, so a
                // path that cannot be written stops here and an old report never outlives its run.
                if let errors {
                    guard FileManager.default.createFile(atPath: errors, contents: Data(Self.reportHeader.utf8)) else {
                        throw CLIError(ExitStatus.cannotCreate, "cannot write \(errors)")
                    }
                }
                let space = try await session.space()
                let filename = (file as NSString).lastPathComponent
                let response = try await space.attempt(
                    .POST, .profiles, "/csv-uploads", body: .csv(ByteBuffer(bytes: data)),
                    query: [("filename", filename)])
                guard response.ok, let upload = (try? JSONValue.parse(response.body))?["data"],
                    let id = upload["id"]?.stringValue
                else { throw CLIError.refused(response, doing: "uploading \(filename)") }
                guard wait else {
                    report(upload)
                    return 0
                }
                Terminal.err("uploaded \(filename) as \(id)")
                let current = try await follow(space, id: id, upload: upload)
                let rejected = Int(current["rowsRejected"]?.numberValue ?? 0)
                var reportText: String?
                if rejected > 0 {
                    let reportResponse = try await space.attempt(.GET, .profiles, "/csv-uploads/\(id)/errors")
                    guard reportResponse.ok else {
                        throw CLIError.refused(reportResponse, doing: "reading the error report")
                    }
                    reportText = String(decoding: reportResponse.body, as: UTF8.self)
                    if let errors {
                        do {
                            try reportResponse.body.write(to: URL(fileURLWithPath: errors))
                        } catch {
                            throw CLIError(
                                ExitStatus.cannotCreate, "cannot write \(errors): \(error.localizedDescription)")
                        }
                    }
                }
                if global.json {
                    Terminal.out(
                        JSONValue.object(["upload": current, "errorReport": reportText.map(JSONValue.string) ?? .null])
                            .prettyText)
                } else {
                    report(current)
                    if let reportText {
                        Terminal.err("\nerror report (\(counted(rejected, "row"))):")
                        Terminal.err(reportText.trimmingCharacters(in: .newlines))
                    }
                }
                return rejected > 0 ? ExitStatus.refusedInput : 0
            }
        }

        static let reportHeader = "row_number,error_message,error_code\r\n"

        /// Polls the upload until it is completed, with a progress bar on a terminal.
        func follow(_ space: SpaceClient, id: String, upload: JSONValue) async throws(CLIError) -> JSONValue {
            let deadline = ContinuousClock.now + .seconds(timeout)
            var current = upload
            while current["status"]?.stringValue != "completed" {
                let read = Int(current["rowsRead"]?.numberValue ?? 0)
                let total = Int(current["rowsTotal"]?.numberValue ?? 0)
                Terminal.progress(
                    "\(Terminal.bar(done: read, total: total))  \(read)/\(total) rows  \(current["status"].cell)")
                guard ContinuousClock.now < deadline else {
                    Terminal.endProgress()
                    throw CLIError(
                        ExitStatus.temporaryFailure,
                        "upload \(id) is not finished after \(timeout) s (it goes on: engage csv status \(id))")
                }
                try? await Task.sleep(for: .milliseconds(500))
                let answer = try await space.expect(.GET, .profiles, "/csv-uploads/\(id)", doing: "reading the upload")
                current = answer["data"] ?? current
            }
            Terminal.endProgress()
            return current
        }

        func report(_ upload: JSONValue) {
            printObject(
                upload, json: global.json,
                fields: [
                    ("id", "id"), ("status", "status"), ("rows", "rowsTotal"), ("accepted", "rowsAccepted"),
                    ("rejected", "rowsRejected"),
                ])
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An upload's status, or the recent uploads.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "An upload id; leave out to list uploads.") var uploadId: String?

        func run() async throws {
            try await global.run { session throws(CLIError) in
                let space = try await session.space()
                if let uploadId {
                    let upload = try await space.expect(
                        .GET, .profiles, "/csv-uploads/\(EngageAPI.segment(uploadId))", doing: "reading the upload")
                    printObject(
                        upload["data"] ?? .null, json: global.json,
                        fields: [
                            ("id", "id"), ("file", "filename"), ("status", "status"), ("rows", "rowsTotal"),
                            ("accepted", "rowsAccepted"), ("rejected", "rowsRejected"), ("finished", "finishedAt"),
                        ])
                } else {
                    let uploads = try await space.list(.profiles, "/csv-uploads", doing: "listing uploads")
                    printList(
                        uploads, json: global.json,
                        columns: [
                            ("ID", "id"), ("FILE", "filename"), ("STATUS", "status"), ("ROWS", "rowsTotal"),
                            ("REJECTED", "rowsRejected"), ("CREATED", "createdAt"),
                        ])
                }
                return 0
            }
        }
    }
}

/// `engage send-test TEMPLATE --to ID`: a test send of a stored template version.
struct SendTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send-test", abstract: "Send a test of a stored template version to one profile.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The template's id or name.") var template: String
    @Option(name: .customLong("to"), help: "The profile to send to (its id, or type:value).") var recipient: String
    @Option(help: "A version (default: the current one).") var version: Int?

    func run() async throws {
        try await global.run { session throws(CLIError) in
            let space = try await session.space()
            let templateId = try await resolveTemplate(space)
            var profileId = recipient
            if recipient.contains(":") {
                let metadata = try await space.expect(
                    .GET, .profiles, "/collections/users/profiles/\(EngageAPI.segment(recipient))/metadata",
                    doing: "finding profile \(recipient)")
                profileId = metadata["metadata"]?["profile_id"]?.stringValue ?? recipient
            }
            var body: [String: JSONValue] = ["profileId": .string(profileId)]
            if let version { body["version"] = .number(Double(version)) }
            let answer = try await space.expect(
                .POST, .messaging, "/templates/\(EngageAPI.segment(templateId))/test-sends", json: .object(body),
                doing: "sending the test")
            let data = answer["data"] ?? .null
            if global.json { Terminal.out(data.prettyText) } else { Terminal.out("queued \(data["messageId"].cell)") }
            return 0
        }
    }

    func resolveTemplate(_ space: SpaceClient) async throws(CLIError) -> String {
        let direct = try await space.attempt(.GET, .messaging, "/templates/\(EngageAPI.segment(template))")
        if direct.ok { return template }
        let templates = try await space.list(.messaging, "/templates", doing: "listing templates")
        let matches = templates.filter { $0["name"]?.stringValue?.lowercased() == template.lowercased() }
        switch matches.count {
        case 1: return matches[0]["id"]?.stringValue ?? template
        case 0: throw CLIError(ExitStatus.notFound, "no template \(template) (by id or name)")
        default:
            throw CLIError(
                ExitStatus.usage,
                "\(matches.count) templates are named \(template) (one per channel): give the id ("
                    + matches.map { "\($0["id"].cell) \($0["channel"].cell)" }.joined(separator: ", ") + ")")
        }
    }
}
