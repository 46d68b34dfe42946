import Contracts
import Foundation

/// A definition as indented JSON for the editor, with its keys in reading order (entry before
/// steps, a step's id and type first) rather than alphabetical.
enum JourneyJSON {
    static let keyOrder = [
        "entry", "reentry", "exitRules", "start", "steps", "id", "name", "type", "event", "audienceId", "where",
        "seconds", "time", "trait", "channel", "templateId", "condition", "mode", "branches", "percent", "holdout",
        "timeoutSeconds", "goal", "next", "trueNext", "falseNext", "timeoutNext", "otherwiseNext",
    ]

    static func pretty(_ value: JSONValue) -> String {
        PrettyJSON(keyOrder: keyOrder, inlineScalarLists: true).text(value)
    }
}
