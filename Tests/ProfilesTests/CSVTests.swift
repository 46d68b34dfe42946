import Contracts
import Foundation
import Testing

@testable import ProfilesCore

@Suite struct CSVParserTests {
    func parse(_ text: String, chunk: Int = 3) throws -> [CSVRecord] {
        var parser = CSVParser()
        var records: [CSVRecord] = []
        let bytes = Array(text.utf8)
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            try parser.feed(bytes[start..<min(start + chunk, bytes.count)]) { records.append($0) }
        }
        try parser.finish { records.append($0) }
        return records
    }

    @Test func quotedFieldsSpanChunksAndLines() throws {
        let records = try parse("\u{FEFF}email,note\r\na@b.co,\"x, \"\"y\"\"\nz\"\n\nc@d.co,\n")
        #expect(records.map(\.fields) == [["email", "note"], ["a@b.co", "x, \"y\"\nz"], ["c@d.co", ""]])
        #expect(records.map(\.number) == [1, 2, 4])
    }

    @Test func endOffsetsResumeAtARecordBoundary() throws {
        let text = "a,b\n1,2\n3,4"
        let records = try parse(text)
        var resumed = CSVParser(startOffset: records[1].endOffset, nextRecordNumber: 3)
        var rest: [CSVRecord] = []
        try resumed.feed(Array(text.utf8)[Int(records[1].endOffset)...]) { rest.append($0) }
        try resumed.finish { rest.append($0) }
        #expect(rest.map(\.fields) == [["3", "4"]])
        #expect(rest.map(\.number) == [3])
    }

    @Test func brokenFilesAreRefusedWithTheRow() {
        #expect(throws: CSVFileError.self) { try parse("a,b\n\"open,2\n") }
        #expect(throws: CSVFileError.self) { try parse("a,b\n1,x\"y\n") }
        #expect(throws: CSVFileError.self) { try parse("a,b\n\u{0}\n") }
        do {
            var parser = CSVParser()
            try parser.feed([0x61, 0x0A, 0xC3, 0x28, 0x0A]) { _ in }
            Issue.record("accepted invalid UTF-8")
        } catch {
            #expect((error as? CSVFileError)?.message.contains("row 2") == true)
        }
    }
}

@Suite struct CSVLayoutTests {
    let rules = IdentifierRule.defaults

    @Test func rolesComeFromTheHeader() throws {
        let layout = try CSVLayout.make(
            header: ["Email", "user_id", "sms_subscription_status", "Weekly News_subscription_status", "plan"],
            rules: rules, groups: ["Weekly News"])
        #expect(
            layout.roles == [
                .identifier(type: "email", traitKey: "email"), .identifier(type: "user_id", traitKey: nil),
                .channelStatus(.sms), .groupStatus(group: "Weekly News"), .trait("plan"),
            ])
    }

    @Test func phoneReadFromAConfiguredKeyHasThatColumnAndTrait() throws {
        let rules =
            IdentifierRule.defaults.filter { $0.type != "phone" }
            + [IdentifierRule(type: "phone", priority: 4, limit: 5, source: .trait("phone_number"))]
        let template = CSVLayout.template(rules: rules, groups: [])
        #expect(template.prefix(4) == ["user_id", "email", "anonymous_id", "phone_number"])
        let layout = try CSVLayout.make(header: ["phone_number", "sms_subscription_status"], rules: rules, groups: [])
        #expect(layout.roles.first == .identifier(type: "phone", traitKey: "phone_number"))
        let mapper = CSVRowMapper(
            layout: layout, uploadId: "upl_1", spaceId: "spa_1",
            uploadedAt: Date(timeIntervalSince1970: 1_000))
        let mapped = try mapper.map(CSVRecord(number: 2, fields: ["+1 415 555 0100", "subscribed"], endOffset: 0)).get()
        #expect(mapped.message.message.traits == ["phone_number": "+14155550100"])
        #expect(mapped.commands.map(\.contact) == ["+14155550100"])
    }

    @Test func headerProblemsAreListedTogether() {
        do {
            _ = try CSVLayout.make(
                header: ["emial", "plan", "plan", "emal_subscription_status", ""], rules: rules, groups: [])
            Issue.record("accepted a bad header")
        } catch {
            #expect(error.message.contains("misspelling of \"email\""))
            #expect(error.message.contains("repeats column 2"))
            #expect(error.message.contains("did you mean \"email_subscription_status\""))
            #expect(error.message.contains("column 5 has no name"))
            #expect(error.message.contains("no identifier column"))
        }
    }

    @Test func rowsMapToAnIdentifyAndCommands() throws {
        let layout = try CSVLayout.make(
            header: [
                "email", "phone", "email_subscription_status", "news_subscription_status", "sms_subscription_status",
                "plan",
            ],
            rules: rules, groups: ["news"])
        let mapper = CSVRowMapper(
            layout: layout, uploadId: "upl_1", spaceId: "spa_1", uploadedAt: Date(timeIntervalSince1970: 1_000))
        let mapped = try mapper.map(
            CSVRecord(
                number: 7, fields: [" Ada@X.io ", "+1 415 555 0100", "Subscribed", "subscribed", "", "pro"],
                endOffset: 0)
        ).get()
        #expect(mapped.message.message.traits == ["email": "ada@x.io", "phone": "+14155550100", "plan": "pro"])
        #expect(mapped.message.recordsEvent == false)
        #expect(mapped.commands.map(\.group) == [nil, "news"])  // global first; the blank SMS status is no command
        #expect(mapped.commands.allSatisfy { $0.sequence == 7 && $0.contact == "ada@x.io" && $0.reference == "7" })

        func code(_ fields: [String]) -> String? {
            if case .failure(let error) = mapper.map(CSVRecord(number: 3, fields: fields, endOffset: 0)) {
                return error.code
            }
            return nil
        }
        #expect(code(["nope", "", "", "", "", ""]) == "INVALID_EMAIL")
        #expect(code(["", "12", "", "", "", ""]) == "INVALID_PHONE")
        #expect(code(["a@b.co", "", "maybe", "", "", ""]) == "INVALID_SUBSCRIPTION_STATUS")
        #expect(code(["", "", "", "", "", "pro"]) == "MISSING_IDENTIFIER")
        #expect(code(["a@b.co", "", "", "", "subscribed", ""]) == "MISSING_IDENTIFIER")  // SMS status without a phone
        #expect(code(["a@b.co"]) == "WRONG_COLUMN_COUNT")
    }
}
