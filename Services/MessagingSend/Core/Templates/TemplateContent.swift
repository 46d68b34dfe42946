import Contracts
import Foundation

/// One version of a template's content. Email uses the email fields, SMS `body`/`mediaUrls`,
/// WhatsApp `body` or a Twilio Content template (`contentSid` + `contentVariables`); SMS and
/// WhatsApp may name their own sender (`from`). Every text field may hold merge tags.
public struct TemplateContent: Codable, Sendable, Hashable {
    /// SMS: a number, short code or Messaging Service SID; WhatsApp: `whatsapp:+E164` or a
    /// Messaging Service SID. nil: the space's Twilio sender.
    public var from: String?
    public var fromName: String?
    public var fromAddress: String?
    public var replyTo: String?
    public var subject: String?
    public var preheader: String?
    public var html: String?
    public var text: String?
    public var body: String?
    public var mediaUrls: [String]?
    public var contentSid: String?
    public var contentVariables: [String: String]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case from, fromName, fromAddress, replyTo, subject, preheader, html, text, body, mediaUrls, contentSid,
            contentVariables
    }

    public init(
        from: String? = nil, fromName: String? = nil, fromAddress: String? = nil, replyTo: String? = nil,
        subject: String? = nil,
        preheader: String? = nil, html: String? = nil, text: String? = nil, body: String? = nil,
        mediaUrls: [String]? = nil, contentSid: String? = nil, contentVariables: [String: String]? = nil
    ) {
        self.from = from
        self.fromName = fromName
        self.fromAddress = fromAddress
        self.replyTo = replyTo
        self.subject = subject
        self.preheader = preheader
        self.html = html
        self.text = text
        self.body = body
        self.mediaUrls = mediaUrls
        self.contentSid = contentSid
        self.contentVariables = contentVariables
    }

    public static let stopNotice = "Reply STOP to unsubscribe."
    public static let maxBodyCharacters = 1_600
    public static let maxMedia = 10

    /// The content to store for `channel` and `purpose`: checked field by field (every problem at
    /// once), with the SMS opt-out notice appended to marketing bodies that lack one.
    /// `cached: false` checks a draft without keeping its parsed texts.
    public func validated(channel: SubscriptionChannel, purpose: MessagePurpose, cached: Bool = true)
        throws(TemplateProblems) -> TemplateContent
    {
        var problems: [TemplateProblem] = []
        var content = self
        func require(_ value: String?, _ field: String) {
            if value?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ?? true {
                problems.append(TemplateProblem(field: field, reason: "\(field) is required"))
            }
        }
        func forbid(_ present: Bool, _ field: String) {
            if present {
                problems.append(
                    TemplateProblem(field: field, reason: "\(field) is not used by \(channel.rawValue) templates"))
            }
        }
        switch channel {
        case .email:
            require(subject, "subject")
            if (html ?? "").isEmpty && (text ?? "").isEmpty {
                problems.append(TemplateProblem(field: "html", reason: "an email needs an html or a text body"))
            }
            for (value, field) in [(fromAddress, "fromAddress"), (replyTo, "replyTo")] {
                if let value, !value.contains("{{"), (try? ContactNormalizer.email(value)) == nil {
                    problems.append(TemplateProblem(field: field, reason: "\(value) is not an email address"))
                }
            }
            forbid(from != nil, "from (an email's sender is fromAddress)")
            forbid(body != nil, "body")
            forbid(mediaUrls != nil, "mediaUrls")
            forbid(contentSid != nil, "contentSid")
            if purpose == .marketing {
                let bodies = [("html", html), ("text", text)].compactMap { field, value in
                    value.flatMap { $0.isEmpty ? nil : (field, $0) }
                }
                for (field, value) in bodies
                where !LiquidTemplates.references(value, anyOf: LiquidTemplates.linkVariables) {
                    problems.append(
                        TemplateProblem(
                            field: field,
                            reason:
                                "a marketing email must let people unsubscribe: add {{unsubscribe_link}} or {{manage_preferences_link}} to the \(field) body"
                        ))
                }
            }
        case .sms, .whatsapp:
            forbid(subject != nil, "subject")
            forbid(html != nil, "html")
            forbid(text != nil, "text")
            forbid(fromAddress != nil, "fromAddress")
            if channel == .sms { forbid(contentSid != nil, "contentSid") }
            if let from, !from.contains("{{") {
                do { try ProviderRules.checkSender(from, channel: channel) } catch {
                    problems.append(TemplateProblem(field: "from", reason: error.reason))
                }
            }
            if let contentSid {
                if contentSid.range(of: "^HX[0-9a-fA-F]{32}$", options: .regularExpression) == nil {
                    problems.append(
                        TemplateProblem(field: "contentSid", reason: "a Content SID is HX followed by 32 hex digits"))
                }
                forbid(body != nil, "body (with contentSid the approved template is the body)")
                forbid(mediaUrls != nil, "mediaUrls (with contentSid)")
            } else {
                if (body ?? "").isEmpty && (mediaUrls ?? []).isEmpty {
                    problems.append(TemplateProblem(field: "body", reason: "a message needs a body or media URLs"))
                }
                if contentVariables != nil { forbid(true, "contentVariables (only with contentSid)") }
            }
            if (body ?? "").count > Self.maxBodyCharacters {
                problems.append(TemplateProblem(field: "body", reason: "at most \(Self.maxBodyCharacters) characters"))
            }
            if let mediaUrls {
                if mediaUrls.count > Self.maxMedia {
                    problems.append(TemplateProblem(field: "mediaUrls", reason: "at most \(Self.maxMedia) media URLs"))
                }
                for (index, url) in mediaUrls.enumerated()
                where !url.contains("{{") && !(url.hasPrefix("https://") || url.hasPrefix("http://")) {
                    problems.append(TemplateProblem(field: "mediaUrls[\(index)]", reason: "must be an http(s) URL"))
                }
            }
            if channel == .sms, purpose == .marketing, let body, !body.isEmpty,
                body.range(of: "STOP", options: .caseInsensitive) == nil
            {
                content.body = body.hasSuffix("\n") ? body + Self.stopNotice : body + "\n" + Self.stopNotice
            }
        }
        for (field, value) in content.textFields {
            do { try LiquidTemplates.check(value, field: field, cached: cached) } catch { problems.append(error) }
        }
        guard problems.isEmpty else { throw TemplateProblems(problems: problems) }
        return content
    }

    /// Every text field with its name, in a stable order.
    var textFields: [(String, String)] {
        var fields: [(String, String?)] = [
            ("from", from), ("fromName", fromName), ("fromAddress", fromAddress), ("replyTo", replyTo),
            ("subject", subject), ("preheader", preheader), ("html", html), ("text", text),
            ("body", body),
        ]
        for (index, url) in (mediaUrls ?? []).enumerated() { fields.append(("mediaUrls[\(index)]", url)) }
        for key in (contentVariables ?? [:]).keys.sorted() {
            fields.append(("contentVariables.\(key)", contentVariables?[key]))
        }
        return fields.compactMap { name, value in value.map { (name, $0) } }
    }
}

public struct TemplateProblems: Error, Sendable {
    public var problems: [TemplateProblem]
    public var summary: String { problems.map(\.description).joined(separator: "; ") }
}

extension TemplateProblem {
    init(field: String, reason: String) {
        self.init(field: field, line: nil, column: nil, reason: reason)
    }
}

/// A template rendered for one recipient: what goes to the provider.
public struct RenderedContent: Sendable, Hashable, Encodable {
    public var from: String?
    public var fromName: String?
    public var fromAddress: String?
    public var replyTo: String?
    public var subject: String?
    public var preheader: String?
    public var html: String?
    public var text: String?
    public var body: String?
    public var mediaUrls: [String]?
    public var contentSid: String?
    public var contentVariables: [String: String]?
}

extension TemplateContent {
    public func render(_ context: MergeContext, cached: Bool = true) throws(TemplateProblem) -> RenderedContent {
        let values = context.values
        func field(_ value: String?, _ name: String) throws(TemplateProblem) -> String? {
            guard let value else { return nil }
            return try LiquidTemplates.render(value, field: name, context: values, cached: cached)
        }
        var html = try field(self.html, "html")
        let preheader = try field(self.preheader, "preheader")
        if let preheader, !preheader.isEmpty, let body = html {
            // The inbox preview text: first in the body, hidden when the mail is opened.
            html =
                "<div style=\"display:none;max-height:0;overflow:hidden\">\(LiquidTemplates.escapeHTML(preheader))</div>"
                + body
        }
        var variables: [String: String]?
        if let contentVariables {
            variables = [:]
            for (key, value) in contentVariables { variables?[key] = try field(value, "contentVariables.\(key)") }
        }
        var media: [String]?
        if let mediaUrls {
            media = []
            for (index, url) in mediaUrls.enumerated() { media?.append(try field(url, "mediaUrls[\(index)]") ?? url) }
        }
        return RenderedContent(
            from: try field(from, "from"), fromName: try field(fromName, "fromName"),
            fromAddress: try field(fromAddress, "fromAddress"),
            replyTo: try field(replyTo, "replyTo"), subject: try field(subject, "subject"), preheader: preheader,
            html: html, text: try field(text, "text"), body: try field(body, "body"), mediaUrls: media,
            contentSid: contentSid, contentVariables: variables)
    }
}

extension TemplateContent {
    /// Content as an API caller wrote it: a field this type does not know is refused by name rather
    /// than dropped (a `mediaUrl` typo would silently lose the MMS).
    static func strict(_ json: JSONValue, field prefix: String = "content") throws(TemplateProblems) -> TemplateContent
    {
        guard case .object(let members) = json else {
            throw TemplateProblems(problems: [TemplateProblem(field: prefix, reason: "\(prefix) must be an object")])
        }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        let unknown = members.keys.filter { !known.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw TemplateProblems(
                problems: unknown.map { name in
                    let hint = known.first {
                        $0.lowercased().hasPrefix(name.lowercased()) || name.lowercased().hasPrefix($0.lowercased())
                    }
                    return TemplateProblem(
                        field: "\(prefix).\(name)",
                        reason: "unknown field \(name)\(hint.map { " (did you mean \($0)?)" } ?? "")")
                })
        }
        do {
            return try WireDecoder.decode(TemplateContent.self, from: json.json.utf8)
        } catch let error as DecodingError {
            throw TemplateProblems(problems: [
                TemplateProblem(field: prefix, reason: DecodingErrorDescription.describe(error))
            ])
        } catch {
            throw TemplateProblems(problems: [TemplateProblem(field: prefix, reason: "\(error)")])
        }
    }
}
