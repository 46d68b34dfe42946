import Contracts

/// How definitions refer to each other in files: an audience by its key (`audienceId: "vip"`),
/// a template by its name (`template: "Welcome"`, the channel coming from the step or action).
/// A space refers by ids; these functions translate both ways.
enum PortableForm {
    /// The channel a messaging destination action sends on.
    static func channel(ofActionType type: String?) -> String? {
        switch type {
        case "send_sms": "SMS"
        case "send_whatsapp": "WHATSAPP"
        case "send_email": "EMAIL"
        default: nil
        }
    }

    /// A journey definition or destination from a space's ids to keys and names. Pinned template
    /// versions are left out (a version number means nothing in another space); each one dropped
    /// is reported in `warnings`.
    static func fromSpace(
        _ value: JSONValue, audienceKeys: [String: String], templates: [String: (name: String, channel: String)],
        place: String, warnings: inout [String]
    ) -> JSONValue {
        switch value {
        case .array(let items):
            return .array(
                items.map {
                    fromSpace($0, audienceKeys: audienceKeys, templates: templates, place: place, warnings: &warnings)
                })
        case .object(var members):
            if case .string(let id)? = members["audienceId"], let key = audienceKeys[id] {
                members["audienceId"] = .string(key)
            }
            if case .string(let id)? = members["templateId"], let template = templates[id] {
                members["templateId"] = nil
                members["template"] = .string(template.name)
                if members["templateVersion"] != nil {
                    members["templateVersion"] = nil
                    warnings.append(
                        "\(place): a pinned version of template \(template.name) is left out (the current version is sent)"
                    )
                }
            }
            for (key, child) in members where key != "audienceId" {
                switch child {
                case .object, .array:
                    members[key] = fromSpace(
                        child, audienceKeys: audienceKeys, templates: templates, place: place, warnings: &warnings)
                default: break
                }
            }
            return .object(members)
        default:
            return value
        }
    }

    /// The references a portable value makes: audience keys, and templates as (name, channel).
    /// `channel` is what a `template` reference sends on: the object's own `channel`, or the
    /// channel of a messaging destination action's `type`.
    static func references(in value: JSONValue) -> (audiences: [String], templates: [(name: String, channel: String?)])
    {
        var audiences: [String] = []
        var templates: [(String, String?)] = []
        func walk(_ value: JSONValue) {
            switch value {
            case .array(let items): items.forEach(walk)
            case .object(let members):
                if case .string(let key)? = members["audienceId"] { audiences.append(key) }
                if case .string(let name)? = members["template"] {
                    let channel =
                        members["channel"]?.stringValue?.uppercased()
                        ?? self.channel(ofActionType: members["type"]?.stringValue)
                    templates.append((name, channel))
                }
                members.values.forEach(walk)
            default: break
            }
        }
        walk(value)
        return (audiences, templates)
    }

    /// A portable value in a space's terms: audience keys to ids (`audienceIds`; a key left as is
    /// when the API takes keys), template names to ids.
    static func toSpace(
        _ value: JSONValue, audienceIds: [String: String]?, templateIds: [String: String]
    ) -> JSONValue {
        switch value {
        case .array(let items):
            return .array(items.map { toSpace($0, audienceIds: audienceIds, templateIds: templateIds) })
        case .object(var members):
            if let audienceIds, case .string(let key)? = members["audienceId"], let id = audienceIds[key] {
                members["audienceId"] = .string(id)
            }
            if case .string(let name)? = members["template"] {
                let channel =
                    members["channel"]?.stringValue?.uppercased() ?? channel(ofActionType: members["type"]?.stringValue)
                if let channel, let id = templateIds[channel + "/" + name.lowercased()] {
                    members["template"] = nil
                    members["templateId"] = .string(id)
                }
            }
            for (key, child) in members where key != "audienceId" {
                switch child {
                case .object, .array: members[key] = toSpace(child, audienceIds: audienceIds, templateIds: templateIds)
                default: break
                }
            }
            return .object(members)
        default:
            return value
        }
    }
}
