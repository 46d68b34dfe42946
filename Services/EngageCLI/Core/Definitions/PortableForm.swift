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

    /// A journey definition or destination from a space's ids to keys and names. A pinned
    /// `templateVersion` stays: it names that version of the template in whichever space the
    /// directory is applied to (a template created by apply has version 1 only).
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
            if case .string(let id)? = members["audienceId"] {
                if let key = audienceKeys[id] {
                    members["audienceId"] = .string(key)
                } else {
                    warnings.append("\(place): names audience \(id), which the space does not have")
                }
            }
            if case .string(let id)? = members["templateId"] {
                if let template = templates[id] {
                    members["templateId"] = nil
                    members["template"] = .string(template.name)
                } else {
                    warnings.append("\(place): names template \(id), which the space does not have")
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

    /// The references a portable value makes: audience keys, templates as (name, channel), and
    /// the subscription groups its sends name. `channel` is what a `template` reference sends on:
    /// the object's own `channel`, or the channel of a messaging destination action's `type`.
    static func references(in value: JSONValue) -> (
        audiences: [String], templates: [(name: String, channel: String?)], groups: [String]
    ) {
        var audiences: [String] = []
        var templates: [(String, String?)] = []
        var groups: [String] = []
        func walk(_ value: JSONValue) {
            switch value {
            case .array(let items): items.forEach(walk)
            case .object(let members):
                if case .string(let key)? = members["audienceId"] { audiences.append(key) }
                let type = members["type"]?.stringValue ?? ""
                if case .string(let name)? = members["template"] {
                    let channel = members["channel"]?.stringValue?.uppercased() ?? self.channel(ofActionType: type)
                    templates.append((name, channel))
                }
                if type == "send" || type.hasPrefix("send_"), case .string(let group)? = members["group"] {
                    groups.append(group)
                }
                members.values.forEach(walk)
            default: break
            }
        }
        walk(value)
        return (audiences, templates, groups)
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
