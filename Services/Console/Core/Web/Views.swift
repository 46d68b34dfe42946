import Foundation
import Mustache

/// The console's Mustache templates (Templates/*.mustache in the resource bundle), loaded once.
/// Pages extend `layout` (`{{<layout}}{{$main}}...{{/main}}{{/layout}}`); Mustache escapes every
/// `{{value}}`, so what the APIs return is shown as text, never as markup.
public struct Views: Sendable {
    let library: MustacheLibrary

    public init(directory: String) async throws {
        library = try await MustacheLibrary(directory: directory)
    }

    public func render(_ name: String, _ context: [String: Any]) -> String {
        guard let html = library.render(context, withTemplate: name) else {
            return "<!doctype html><p>The console has no template named \(name).</p>"
        }
        return html
    }
}
