import Contracts
import Foundation
import Hummingbird

/// The pages behind unsubscribe links: a confirmation with a button (a GET never unsubscribes:
/// mail scanners follow links), and the result. No redirects (RFC 8058).
enum UnsubscribePage {
    static func confirm(_ target: UnsubscribeTarget, manage: Bool) -> Response {
        let who = LiquidTemplates.escapeHTML(target.contact)
        let channel = channelName(target.channel)
        var forms = ""
        if let group = target.group {
            forms += button("Unsubscribe from \(LiquidTemplates.escapeHTML(group))", scope: "group")
            forms += button("Unsubscribe from all \(channel)", scope: "all")
        } else {
            forms += button("Unsubscribe from all \(channel)", scope: "all")
        }
        let intro =
            manage
            ? "Manage the \(channel) you receive at <b>\(who)</b>." : "Stop receiving \(channel) at <b>\(who)</b>?"
        return page(title: "Unsubscribe", body: "<p>\(intro)</p>\(forms)")
    }

    static func done(_ target: UnsubscribeTarget, group: String?) -> Response {
        let what = group.map { "the \(LiquidTemplates.escapeHTML($0)) list" } ?? "all \(channelName(target.channel))"
        return page(
            title: "Unsubscribed",
            body: "<p><b>\(LiquidTemplates.escapeHTML(target.contact))</b> is unsubscribed from \(what).</p>")
    }

    static func invalid() -> Response {
        page(
            title: "Link not valid",
            body: "<p>This unsubscribe link is not valid. Use the link in the message you received.</p>",
            status: .notFound)
    }

    private static func channelName(_ channel: SubscriptionChannel) -> String {
        switch channel {
        case .email: "emails"
        case .sms: "text messages"
        case .whatsapp: "WhatsApp messages"
        }
    }

    private static func button(_ label: String, scope: String) -> String {
        "<form method=\"post\"><input type=\"hidden\" name=\"scope\" value=\"\(scope)\"><button type=\"submit\">\(label)</button></form>"
    }

    private static func page(title: String, body: String, status: HTTPResponse.Status = .ok) -> Response {
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">\
            <meta name="robots" content="noindex"><title>\(title)</title></head>\
            <body style="font-family:sans-serif;max-width:32em;margin:3em auto"><h1>\(title)</h1>\(body)</body></html>
            """
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
