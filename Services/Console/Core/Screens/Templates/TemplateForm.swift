import Foundation

/// A template as its form holds it: name, purpose, and the content fields of its channel as typed
/// (media URLs one a line, content variables `key=value` lines). The page, the save and the live
/// preview all build the API's `content` from it, so they agree on what a draft means.
struct TemplateForm {
    var channel: TemplateChannel
    var name: String
    var purpose: String
    /// Typed values by content field name.
    var fields: [String: String]

    init(channel: TemplateChannel, name: String = "", purpose: String = "marketing", fields: [String: String] = [:]) {
        self.channel = channel
        self.name = name
        self.purpose = purpose
        self.fields = fields
    }

    /// From a posted form (or a script's `fields` object): only the channel's own fields.
    init(channel: TemplateChannel, form: FormFields) {
        self.init(
            channel: channel, name: form["name"] ?? "", purpose: form["purpose"] ?? "marketing",
            fields: Dictionary(uniqueKeysWithValues: channel.fields.map { ($0.name, form.raw($0.name)) }))
    }

    /// From a template record of the messaging API.
    init(channel: TemplateChannel, record: [String: Any]) {
        let content = record["content"] as? [String: Any] ?? [:]
        var fields: [String: String] = [:]
        for field in channel.fields {
            switch content[field.name] {
            case let text as String: fields[field.name] = text
            case let list as [Any]: fields[field.name] = list.map { "\($0)" }.joined(separator: "\n")
            case let object as [String: Any]:
                fields[field.name] = object.keys.sorted().map { "\($0)=\(object[$0] ?? "")" }.joined(separator: "\n")
            default: break
            }
        }
        self.init(
            channel: channel, name: record["name"] as? String ?? "",
            purpose: record["purpose"] as? String ?? "marketing", fields: fields)
    }

    /// The API's `content`, or the fields whose typing cannot be read (field name → what is wrong).
    func content() -> (content: [String: Any], problems: [String: [String]]) {
        var content: [String: Any] = [:]
        var problems: [String: [String]] = [:]
        for field in channel.fields {
            let typed = fields[field.name] ?? ""
            switch field.kind {
            case .lines:
                let lines = typed.split(whereSeparator: \.isNewline).map {
                    $0.trimmingCharacters(in: .whitespaces)
                }
                .filter { !$0.isEmpty }
                if !lines.isEmpty { content[field.name] = lines }
            case .pairs:
                switch Self.pairs(typed) {
                case .success(let pairs): if !pairs.isEmpty { content[field.name] = pairs }
                case .failure(let problem): problems[field.name, default: []].append(problem.text)
                }
            case .line, .text, .html:
                // Bodies are kept exactly as typed (spacing is content); one-line fields are trimmed.
                let value = field.kind == .line ? typed.trimmingCharacters(in: .whitespaces) : typed
                if !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { content[field.name] = value }
            }
        }
        return (content, problems)
    }

    struct PairsProblem: Error { var text: String }

    /// `{"1": "..."}` as JSON, or `key=value` lines.
    static func pairs(_ typed: String) -> Result<[String: String], PairsProblem> {
        let trimmed = typed.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { return .success([:]) }
        if trimmed.hasPrefix("{") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any] else {
                return .failure(PairsProblem(text: "this is not a JSON object"))
            }
            return .success(object.mapValues { $0 as? String ?? "\($0)" })
        }
        var pairs: [String: String] = [:]
        for (index, line) in trimmed.split(whereSeparator: \.isNewline).enumerated() {
            let text = line.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { continue }
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
                return .failure(PairsProblem(text: "line \(index + 1): write key=value"))
            }
            pairs[text[..<equals].trimmingCharacters(in: .whitespaces)] = String(text[text.index(after: equals)...])
        }
        return .success(pairs)
    }

    /// The page's values for the fields: each with its label, hint, typed value and errors.
    func fieldValues(errors: [String: [String]]) -> [[String: Any]] {
        channel.fields.map { field in
            var value: [String: Any] = [
                "name": field.name, "label": field.label, "value": fields[field.name] ?? "",
                "multiline": field.kind != .line, "isHTML": field.kind == .html,
                "rows": field.kind == .html ? 16 : (field.kind == .line ? 1 : 4),
            ]
            if let hint = field.hint(channel) { value["hint"] = hint }
            if let list = errors[field.name], !list.isEmpty { value["errors"] = list }
            return value
        }
    }
}

/// The three channels, as the messaging API spells them, with their content fields.
enum TemplateChannel: String, CaseIterable {
    case email = "EMAIL"
    case sms = "SMS"
    case whatsapp = "WHATSAPP"

    init?(loose text: String?) {
        guard let text, let channel = TemplateChannel(rawValue: text.uppercased()) else { return nil }
        self = channel
    }

    var label: String {
        switch self {
        case .email: "Email"
        case .sms: "SMS"
        case .whatsapp: "WhatsApp"
        }
    }

    var fields: [ContentField] {
        switch self {
        case .email:
            [
                ContentField("subject", "Subject", .line), ContentField("preheader", "Preheader (optional)", .line),
                ContentField("html", "HTML body", .html), ContentField("text", "Plain-text body (optional)", .text),
                ContentField("fromName", "From name (optional)", .line),
                ContentField("fromAddress", "From address (optional)", .line),
                ContentField("replyTo", "Reply-to address (optional)", .line),
            ]
        case .sms:
            [
                ContentField("body", "Message body", .text), ContentField("mediaUrls", "Media URLs (optional)", .lines),
                ContentField("from", "Sender (optional)", .line),
            ]
        case .whatsapp:
            [
                ContentField("body", "Message body", .text), ContentField("mediaUrls", "Media URLs (optional)", .lines),
                ContentField("contentSid", "Content SID (optional)", .line),
                ContentField("contentVariables", "Content variables (optional)", .pairs),
                ContentField("from", "Sender (optional)", .line),
            ]
        }
    }
}

/// One content field of a channel and how it is typed.
struct ContentField {
    enum Kind { case line, text, html, lines, pairs }

    var name: String
    var label: String
    var kind: Kind

    init(_ name: String, _ label: String, _ kind: Kind) {
        self.name = name
        self.label = label
        self.kind = kind
    }

    func hint(_ channel: TemplateChannel) -> String? {
        switch name {
        case "subject": "Merge tags work in every field, e.g. {{profile.traits.first_name | default: \"there\"}}."
        case "preheader": "The line inboxes show after the subject."
        case "html": "A marketing email must contain {{unsubscribe_link}} or {{manage_preferences_link}}."
        case "fromAddress": "Else the space's SendGrid sender."
        case "body" where channel == .sms:
            "At most 1,600 characters. A marketing SMS without STOP gets “Reply STOP to unsubscribe.” added on save."
        case "body": "Or use a Content SID below instead of a body."
        case "mediaUrls": "One http(s) URL a line, at most 10."
        case "from" where channel == .sms:
            "A number, short code or Messaging Service SID (MG…); else the space's sender."
        case "from": "whatsapp:+E.164 or a Messaging Service SID; else the space's WhatsApp sender."
        case "contentSid": "A Twilio Content template (HX followed by 32 hex digits) instead of a body."
        case "contentVariables": "One a line, e.g. 1={{profile.traits.first_name}}, or a JSON object."
        default: nil
        }
    }
}
